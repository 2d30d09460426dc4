/**
 * Config templates beyond `.Envs`: frp's `range` over `parseNumberRange` /
 * `parseNumberRangePair`, nesting, variables, trimming, and errors that name
 * the file and line.
 *
 * @module
 */

import { assertEquals, assertMatch } from "./_assert.ts";
import { tempFile } from "./_harness.ts";
import { errorsOf } from "./_config_errors.ts";
import { loadClientConfig, parseClientConfig, parseServerConfig } from "../lib/config/load.ts";
import { parseNumberRange, parseNumberRangePair } from "../lib/config/number_range.ts";
import { renderTemplate } from "../lib/config/template.ts";

const CTX = { envs: { PORTS: "6000-6002", NAME: "web" } };

Deno.test("README's port range example makes one proxy per pair", () => {
  const text = `serverAddr = "x.x.x.x"
{{- range $_, $v := parseNumberRangePair "6000-6006,6007" "6000-6006,6007" }}
[[proxies]]
name = "tcp-{{ $v.First }}"
type = "tcp"
localPort = {{ $v.First }}
remotePort = {{ $v.Second }}
{{- end }}
`;
  const { config } = parseClientConfig(text, "frpc.toml");
  assertEquals(config.proxies.map((p) => p.name), [
    "tcp-6000",
    "tcp-6001",
    "tcp-6002",
    "tcp-6003",
    "tcp-6004",
    "tcp-6005",
    "tcp-6006",
    "tcp-6007",
  ]);
  assertEquals(config.proxies[7].localPort, 6007);
  assertEquals(config.proxies[7].remotePort, 6007);
});

Deno.test("pairs map different ranges; parseNumberRange with $v and with dot", () => {
  const pair = renderTemplate(
    '{{ range $i, $v := parseNumberRangePair "6000-6001,6007" "7000,7005-7006" }}' +
      "{{ $i }}:{{ $v.First }}>{{ $v.Second }} {{ end }}",
    CTX,
  );
  assertEquals(pair, "0:6000>7000 1:6001>7005 2:6007>7006 ");
  assertEquals(
    renderTemplate(
      '{{ range $_, $v := parseNumberRange "6000-6002, 6010" }}{{ $v }},{{ end }}',
      CTX,
    ),
    "6000,6001,6002,6010,",
  );
  assertEquals(
    renderTemplate('{{ range parseNumberRange "1-3" }}[{{ . }}]{{ end }}', CTX),
    "[1][2][3]",
  );
  assertEquals(
    renderTemplate(
      '{{ range $v := parseNumberRangePair "1" "2" }}{{ .First }}{{ $v.Second }}{{ end }}',
      CTX,
    ),
    "12",
  );
});

Deno.test("nested ranges see outer variables; $.Envs inside, env as the range", () => {
  const out = renderTemplate(
    "{{ range $_, $a := parseNumberRange $.Envs.PORTS }}" +
      '{{ range $_, $b := parseNumberRange "1-2" }}{{ $.Envs.NAME }}-{{ $a }}-{{ $b }} {{ end }}' +
      "{{ end }}",
    CTX,
  );
  assertEquals(out, "web-6000-1 web-6000-2 web-6001-1 web-6001-2 web-6002-1 web-6002-2 ");
  assertEquals(
    renderTemplate("{{ range parseNumberRange .Envs.PORTS }}{{ . }} {{ end }}", CTX),
    "6000 6001 6002 ",
  );
  assertEquals(renderTemplate('{{ "5-6" | parseNumberRange }}', CTX), "[5 6]");
  assertEquals(
    renderTemplate('{{ $p := "7-8" }}{{ range parseNumberRange $p }}{{ . }}{{ end }}', CTX),
    "78",
  );
  // An inner variable of the same name shadows the outer one, only inside.
  assertEquals(
    renderTemplate(
      '{{ range $v := parseNumberRange "1-2" }}{{ range $v := parseNumberRange "8" }}{{ $v }}{{ end }}{{ $v }}{{ end }}',
      CTX,
    ),
    "8182",
  );
});

Deno.test("trimming keeps TOML, YAML and JSON valid", () => {
  const yaml = `serverPort: 7000
proxies:
{{- range $_, $v := parseNumberRangePair "6000-6001" "7000-7001" }}
  - name: "y-{{ $v.First }}"
    type: tcp
    localPort: {{ $v.First }}
    remotePort: {{ $v.Second }}
{{- end }}
`;
  const y = parseClientConfig(yaml, "frpc.yaml").config;
  assertEquals(y.proxies.map((p) => [p.name, p.localPort, p.remotePort]), [
    ["y-6000", 6000, 7000],
    ["y-6001", 6001, 7001],
  ]);
  // JSON has no trailing commas and dfrp has no `if`: a fixed last element closes the list.
  const json = `{"serverPort": 7000, "proxies": [
  {{- range $_, $v := parseNumberRange "6000-6001" }}
    {"name": "j-{{ $v }}", "type": "tcp", "localPort": {{ $v }}},
  {{- end }}
    {"name": "last", "type": "tcp"}
]}`;
  const j = parseClientConfig(json, "frpc.json").config;
  assertEquals(j.proxies.map((p) => p.name), ["j-6000", "j-6001", "last"]);
});

Deno.test("frps config is templated too: allowPorts from a range", () => {
  const text = `bindPort = 7000
{{- range $_, $p := parseNumberRange "6000,6002,6004" }}
[[allowPorts]]
single = {{ $p }}
{{- end }}
`;
  const { config } = parseServerConfig(text, "frps.toml");
  assertEquals(config.allowPorts.map((r) => r.single), [6000, 6002, 6004]);
});

Deno.test("range functions: frp's syntax rules", () => {
  assertEquals(parseNumberRange(" 1-3,7 , 9-9 "), [1, 2, 3, 7, 9]);
  assertEquals(parseNumberRange("007"), [7]);
  assertEquals(parseNumberRangePair("1-2", "5,9").map((p) => [p.First, p.Second]), [[1, 5], [
    2,
    9,
  ]]);
  for (const bad of ["", "a", "1-", "-1", "1-2-3", "5-1", "1,,2", "1.5", "99999999999999999999"]) {
    let threw = false;
    try {
      parseNumberRange(bad);
    } catch (e) {
      threw = true;
      assertMatch((e as Error).message, /^range number is invalid/);
    }
    assertEquals(threw, true, `"${bad}" should be rejected`);
  }
});

Deno.test("errors name the file and the line of the action", () => {
  const bad = (text: string) => errorsOf(() => parseClientConfig(text, "frpc.toml"));
  // Mismatched lengths: frp's error, with both counts.
  assertMatch(
    bad(
      'serverPort = 7000\n\n{{ range $_, $v := parseNumberRangePair "1-3" "1-2" }}\n{{ end }}',
    )[0],
    /^frpc\.toml:3: template: .*error calling parseNumberRangePair: first and second range numbers are not in pairs \(3 and 2 numbers\)$/,
  );
  assertMatch(
    bad('\n{{ range parseNumberRange "6000-abc" }}{{ end }}')[0],
    /^frpc\.toml:2: template: .*range number is invalid, parsing "abc": invalid syntax$/,
  );
  assertMatch(
    bad('\n\n{{- range parseNumberRange "5-1" }}{{ end }}')[0],
    /^frpc\.toml:3: .*5-1 ends below its start$/,
  );
  // A failure inside the body names the body's line, not the range's.
  assertMatch(
    bad('{{ range $_, $v := parseNumberRange "1-2" }}\nname = "{{ $v.First }}"\n{{ end }}')[0],
    /^frpc\.toml:2: template: "\{\{ \$v\.First \}\}": can't evaluate field First in type int64$/,
  );
  assertMatch(
    bad('{{ range $v := parseNumberRange "1" }}\n\n{{ .Envs.HOME }}{{ end }}')[0],
    /^frpc\.toml:3: .*can't evaluate field Envs in type int64 \(inside range use \$\.Envs\)$/,
  );
  assertMatch(
    bad('a = 1\n{{ range parseNumberRange "1" }}\n[[proxies]]\n')[0],
    /^frpc\.toml:2: template: .* has no matching \{\{ end \}\}$/,
  );
  assertMatch(
    bad("a = 1\n{{ end }}")[0],
    /^frpc\.toml:2: template: unsupported action "\{\{ end \}\}": \{\{ end \}\} outside range$/,
  );
  assertMatch(
    bad('{{ range parseNumberRange "1" }}{{ end }}\n{{ $v }}')[0],
    /^frpc\.toml:2: .*undefined variable "\$v"$/,
  );
  assertMatch(bad("{{ if 1 }}x{{ end }}")[0], /^frpc\.toml:1: .*\{\{ if \}\} is not supported/);
  assertMatch(
    bad('{{ parseNumberRange "1" "2" }}')[0],
    /wrong number of args for parseNumberRange: want 1 got 2$/,
  );
  assertMatch(bad('{{ range "1-2" }}{{ end }}')[0], /range can't iterate over 1-2 \(string\)$/);
  assertMatch(
    bad('{{ parseNumberRange "1-9999999" }}')[0],
    /too large: more than 1000000 numbers$/,
  );
});

Deno.test("a 1,000-port range loads (time printed)", async () => {
  const path = await tempFile(
    `serverAddr = "127.0.0.1"
serverPort = 7000
{{- range $_, $v := parseNumberRangePair "30000-30999" "40000-40999" }}
[[proxies]]
name = "tcp-{{ $v.First }}"
type = "tcp"
localPort = {{ $v.First }}
remotePort = {{ $v.Second }}
{{- end }}
`,
    "frpc.toml",
  );
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const { config } = await loadClientConfig(path);
    times.push(performance.now() - t0);
    assertEquals(config.proxies.length, 1000);
    assertEquals(config.proxies[999].name, "tcp-30999");
    assertEquals(config.proxies[999].remotePort, 40999);
  }
  console.log(
    `1,000-proxy template: load ${times.map((t) => t.toFixed(0)).join(" / ")} ms (3 runs)`,
  );
});
