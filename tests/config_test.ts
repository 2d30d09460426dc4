/**
 * Config loader tests: formats, templates, includes, defaults, error messages.
 *
 * @example
 * ```ts
 * // deno test -A tests/config_test.ts
 * ```
 *
 * @module
 */

// JSR is unreachable here; node:assert gives exact deep equality offline.
import nodeAssert from "node:assert/strict";
import {
  defaultClientConfig,
  defaultServerConfig,
  loadClientConfig,
  loadServerConfig,
  parseClientConfig,
  parseServerConfig,
  portAllowed,
} from "../lib/config/mod.ts";
import { errorsOf, errorsOfAsync } from "./_config_errors.ts";

const REF = "/work/shared/frp-conf";

const assert = (cond: unknown, msg?: string) => nodeAssert.ok(cond, msg);
const assertEquals = (a: unknown, b: unknown) => nodeAssert.deepStrictEqual(a, b);
const assertMatch = (s: string, re: RegExp) => nodeAssert.match(s, re);

async function tempFiles(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dfrp_config_" });
  for (const [name, text] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text);
  }
  return dir;
}

Deno.test("full frps example loads, unsupported keys are warnings", async () => {
  const { config, warnings } = await loadServerConfig(`${REF}/frps_full_example.toml`);
  assertEquals(config.bindPort, 7000);
  assertEquals(config.vhostHTTPPort, 80);
  assertEquals(config.auth.token, "12345678");
  assertEquals(config.allowPorts.length, 4);
  assertEquals(config.allowPorts[1].single, 3001);
  assertEquals(config.subDomainHost, "frps.com");
  // Supported now: no warning, frp's values.
  assert(!warnings.some((w) => /detailedErrorsToClient|auth\.oidc|additionalScopes/.test(w)));
  assertEquals(config.detailedErrorsToClient, true);
  assertEquals(config.auth.oidc.skipExpiryCheck, false);
  assertEquals(config.httpPlugins[0].ops, ["Login"]);
  assert(!warnings.some((w) => /httpPlugins/.test(w)));
  assert(!warnings.some((w) => /bindPort:|allowPorts|subDomainHost|vhostHTTPPort/.test(w)));
});

Deno.test("full frpc example loads, unsupported keys are warnings", async () => {
  const { config, warnings } = await loadClientConfig(`${REF}/frpc_full_example.toml`);
  assertEquals(config.user, "your_name");
  assertEquals(config.transport.poolCount, 5);
  assertEquals(config.proxies.length, 18);
  assertEquals(config.visitors.length, 3);
  const ssh = config.proxies[0];
  assertEquals(ssh.transport.bandwidthLimit, "1MB");
  assertEquals(ssh.loadBalancer.group, "test_group");
  assertEquals(ssh.healthCheck.type, "tcp");
  assertEquals(ssh.annotations["prefix/key2"], "value2");
  const web = config.proxies[3];
  assertEquals(web.requestHeaders?.set["x-from-where"], "frp");
  assertEquals(web.healthCheck.httpHeaders, [{ name: "x-from-where", value: "frp" }]);
  assertEquals(config.proxies[6].plugin?.type, "unix_domain_socket");
  assert(!warnings.some((w) => w.includes(":298: proxies[6].plugin")));
  // VirtualNet is supported: neither its keys nor its plugins warn.
  assert(!warnings.some((w) => /virtual_?net|featureGates/i.test(w)), warnings.join("\n"));
  assert(!warnings.some((w) => /\d: (clientID|metadatas|auth\.)/.test(w)), warnings.join("\n"));
  assertEquals(config.clientID, "your_client_id");
  assertEquals(config.metadatas, { var1: "abc", var2: "123" });
  // transport.useEncryption / useCompression are supported (no warning).
  assert(!warnings.some((w) => /transport\.use(Encryption|Compression)/.test(w)));
});

Deno.test("full examples: log files, connectServerLocalIP, assisted addrs and nathole keys are accepted", async () => {
  const server = await loadServerConfig(`${REF}/frps_full_example.toml`);
  const client = await loadClientConfig(`${REF}/frpc_full_example.toml`);
  assertEquals(server.config.log.to, "./frps.log");
  assertEquals(server.config.log.maxDays, 3);
  assertEquals(server.config.natholeAnalysisDataReserveHours, 168);
  assertEquals(client.config.transport.connectServerLocalIP, "0.0.0.0");
  // Only keys another part of issue 15 still owns warn, and pprofEnable, which
  // cannot exist here and says what to use instead.
  const open = /auth\.oidc\.|clientID|metadatas|detailedErrorsToClient/;
  for (const w of [...server.warnings, ...client.warnings]) {
    assert(open.test(w) || /webServer\.pprofEnable: Go's pprof/.test(w), w);
  }
  for (const { warnings } of [server, client]) {
    const pprof = warnings.filter((w) => w.includes("pprofEnable"));
    assertEquals(pprof.length, 1);
    assertMatch(pprof[0], /--inspect.*--v8-flags=--prof/);
  }
});

Deno.test("minimal reference files load with frp defaults", async () => {
  const s = (await loadServerConfig(`${REF}/frps.toml`)).config;
  assertEquals(s, defaultServerConfig());
  assertEquals(s.bindAddr, "0.0.0.0");
  assertEquals(s.proxyBindAddr, "0.0.0.0");
  assertEquals(s.userConnTimeout, 10);
  assertEquals(s.vhostHTTPTimeout, 60);
  assertEquals(s.udpPacketSize, 1500);
  assertEquals(s.transport.maxPoolCount, 5);
  assertEquals(s.transport.tcpMux, true);
  assertEquals(s.transport.tcpMuxKeepaliveInterval, 30);
  assertEquals(s.transport.heartbeatTimeout, -1); // frp: disabled when tcpMux
  assertEquals(s.log.level, "info");
  assertEquals(s.log.to, "console");

  const { config: c, warnings } = await loadClientConfig(`${REF}/frpc.toml`);
  assertEquals(warnings, []);
  assertEquals(c.serverAddr, "127.0.0.1");
  assertEquals(c.serverPort, 7000);
  assertEquals(c.loginFailExit, true);
  assertEquals(c.transport.poolCount, 1);
  assertEquals(c.transport.dialServerTimeout, 10);
  assertEquals(c.transport.tls.enable, true);
  assertEquals(c.transport.heartbeatInterval, -1);
  assertEquals(c.transport.heartbeatTimeout, -1);
  const p = c.proxies[0];
  assertEquals([p.name, p.type, p.localIP, p.localPort, p.remotePort], [
    "test-tcp",
    "tcp",
    "127.0.0.1",
    22,
    6000,
  ]);
  assertEquals(p.enabled, true);
  assertEquals(p.transport.bandwidthLimitMode, "client");
  assertEquals(p.customDomains, undefined);
  assertEquals(defaultClientConfig().serverAddr, "0.0.0.0");
});

Deno.test("heartbeat defaults without tcpMux, proxyBindAddr follows bindAddr", () => {
  const c = parseClientConfig("transport.tcpMux = false", "frpc.toml").config;
  assertEquals([c.transport.heartbeatInterval, c.transport.heartbeatTimeout], [30, 90]);
  const s = parseServerConfig('bindAddr = "10.0.0.1"\ntransport.tcpMux = false', "frps").config;
  assertEquals(s.proxyBindAddr, "10.0.0.1");
  assertEquals(s.transport.heartbeatTimeout, 90);
  const s2 = parseServerConfig('bindAddr = "10.0.0.1"\nproxyBindAddr = "127.0.0.1"', "x").config;
  assertEquals(s2.proxyBindAddr, "127.0.0.1");
});

const TOML = `serverAddr = "1.2.3.4"
serverPort = 7001
auth.token = "secret"

[[proxies]]
name = "web"
type = "http"
localPort = 8080
customDomains = ["a.example.com"]
requestHeaders.set.x-a = "1"
`;
const YAML = `serverAddr: 1.2.3.4
serverPort: 7001
auth:
  token: secret
proxies:
  - name: web
    type: http
    localPort: 8080
    customDomains: [a.example.com]
    requestHeaders:
      set:
        x-a: "1"
`;
const JSON_TEXT = JSON.stringify(
  {
    serverAddr: "1.2.3.4",
    serverPort: 7001,
    auth: { token: "secret" },
    proxies: [{
      name: "web",
      type: "http",
      localPort: 8080,
      customDomains: ["a.example.com"],
      requestHeaders: { set: { "x-a": "1" } },
    }],
  },
  null,
  2,
);

Deno.test("TOML, YAML and JSON give the same config", () => {
  const t = parseClientConfig(TOML, "a").config;
  assertEquals(parseClientConfig(YAML, "b").config, t);
  assertEquals(parseClientConfig(JSON_TEXT, "c").config, t);
  assertEquals(t.proxies[0].requestHeaders?.set, { "x-a": "1" });
});

Deno.test("file without extension is detected by content", async () => {
  const dir = await tempFiles({ frpc: YAML, frps: '{"bindPort": 7100}' });
  assertEquals((await loadClientConfig(`${dir}/frpc`)).config.serverPort, 7001);
  assertEquals((await loadServerConfig(`${dir}/frps`)).config.bindPort, 7100);
});

Deno.test("missing file", async () => {
  const errs = await errorsOfAsync(loadServerConfig("frps.toml.does-not-exist"));
  assertEquals(errs, ["frps.toml.does-not-exist: cannot read file: No such file or directory"]);
});

Deno.test("env templates, whitespace-tolerant, unset is empty", () => {
  Deno.env.set("DFRP_TEST_PORT", "7123");
  Deno.env.delete("DFRP_TEST_UNSET");
  const text =
    'bindPort = {{.Envs.DFRP_TEST_PORT}}\nauth.token = "{{  .Envs.DFRP_TEST_UNSET  }}"\n' +
    'subDomainHost = "{{- .Envs.DFRP_TEST_PORT -}}"';
  const { config } = parseServerConfig(text, "frps.toml");
  assertEquals(config.bindPort, 7123);
  assertEquals(config.auth.token, "");
  assertEquals(config.subDomainHost, "7123");
  const errs = errorsOf(() => parseServerConfig('\nbindAddr = "{{ nope }}"', "frps.toml"));
  assertMatch(errs[0], /^frps\.toml:2: template: unsupported action/);
});

Deno.test("includes: glob, sorted, errors name the included file", async () => {
  const dir = await tempFiles({
    "frpc.toml": 'includes = ["./confd/*.toml"]\n[[proxies]]\nname = "main"\ntype = "tcp"\n',
    "confd/b.toml": '[[proxies]]\nname = "b"\ntype = "udp"\n',
    "confd/a.yaml": "proxies: []\n", // not matched by the glob
    "confd/a.toml":
      '[[proxies]]\nname = "a"\ntype = "tcp"\n[[visitors]]\nname = "v"\ntype = "stcp"\n',
  });
  const { config } = await loadClientConfig(`${dir}/frpc.toml`);
  assertEquals(config.proxies.map((p) => p.name), ["main", "a", "b"]);
  assertEquals(config.visitors.map((v) => v.name), ["v"]);

  await Deno.writeTextFile(
    `${dir}/confd/c.toml`,
    '[[proxies]]\nname = "c"\ntype = "tcp"\nremotPort = 1\n\n[[proxies]]\nname = "main"\ntype = "tcp"\n',
  );
  await Deno.writeTextFile(`${dir}/confd/d.toml`, "serverPort = 1\n");
  const errs = await errorsOfAsync(loadClientConfig(`${dir}/frpc.toml`));
  assertEquals(errs, [
    `${dir}/confd/c.toml:4: proxies[0].remotPort: unknown key (did you mean remotePort?)`,
    `${dir}/confd/d.toml: no proxies or visitors in it (contents not shown)`,
    `${dir}/confd/c.toml:7: proxies[1].name: duplicate proxy name "main" (first at ${dir}/frpc.toml:3)`,
  ]);
});

Deno.test("start keeps only the listed proxies and warns on unknown names", () => {
  const text = 'start = ["a", "zz"]\n' +
    '[[proxies]]\nname = "a"\ntype = "tcp"\n[[proxies]]\nname = "b"\ntype = "tcp"\n';
  const { config, warnings } = parseClientConfig(text, "frpc.toml");
  assertEquals(config.proxies.map((p) => p.name), ["a"]);
  assertEquals(config.start, ["a", "zz"]);
  assertEquals(warnings, ['frpc.toml:1: start[1]: no proxy or visitor named "zz"']);
});

Deno.test("keys match case-insensitively, output uses frp spelling", () => {
  const c = parseClientConfig(
    'SERVERADDR = "x"\n[[Proxies]]\nName = "p"\nTYPE = "tcp"\nlocalIp = "10.0.0.2"\n',
    "frpc.toml",
  ).config;
  assertEquals(c.serverAddr, "x");
  assertEquals(c.proxies[0].localIP, "10.0.0.2");
  const s = parseServerConfig('subdomainHost = "frps.com"', "frps.toml").config;
  assertEquals(s.subDomainHost, "frps.com");
  const errs = errorsOf(() => parseServerConfig("bindPort = 1\nBINDPORT = 2", "frps.toml"));
  assertMatch(errs[0], /frps\.toml:2: BINDPORT: duplicate key/);
});

Deno.test("unknown key: suggestion and line in TOML, YAML, JSON", () => {
  const toml = 'serverAddr = "x"\n\n[[proxies]]\nname = "a"\ntype = "tcp"\n\n' +
    "remotPort = 6000\n";
  assertEquals(errorsOf(() => parseClientConfig(toml, "frpc.toml")), [
    "frpc.toml:7: proxies[0].remotPort: unknown key (did you mean remotePort?)",
  ]);
  const yaml = "proxies:\n  - name: a\n    type: tcp\n    remotPort: 6000\n";
  assertEquals(errorsOf(() => parseClientConfig(yaml, "frpc.yaml")), [
    "frpc.yaml:4: proxies[0].remotPort: unknown key (did you mean remotePort?)",
  ]);
  const json = '{\n  "proxies": [\n    {\n      "name": "a", "type": "tcp",\n' +
    '      "remotPort": 6000\n    }\n  ]\n}';
  assertEquals(errorsOf(() => parseClientConfig(json, "frpc.json")), [
    "frpc.json:5: proxies[0].remotPort: unknown key (did you mean remotePort?)",
  ]);
});

Deno.test("dotted keys, sub-tables and inline tables get their own lines", () => {
  const toml = [
    "bindPort = 7000", // 1
    "transport.tcpMux = true", // 2
    "transport.maxPoolCont = 5", // 3
    "allowPorts = [", // 4
    "  { start = 1, end = 2 },", // 5
    "  { single = 3, bogus = 1 },", // 6
    "]", // 7
    "[log]", // 8
    'levle = "info"', // 9
  ].join("\n");
  assertEquals(errorsOf(() => parseServerConfig(toml, "frps.toml")), [
    "frps.toml:3: transport.maxPoolCont: unknown key (did you mean maxPoolCount?)",
    "frps.toml:6: allowPorts[1].bogus: unknown key",
    "frps.toml:9: log.levle: unknown key (did you mean level?)",
  ]);
  const c = '[[proxies]]\nname = "a"\ntype = "tcp"\n[proxies.plugin]\ntype = "socks5"\nusr = "x"\n';
  assertEquals(errorsOf(() => parseClientConfig(c, "frpc.toml")), [
    "frpc.toml:6: proxies[0].plugin.usr: unknown key",
  ]);
});

Deno.test("wrong type, out-of-range port, bad enum, reported together", () => {
  const text = [
    'bindPort = "7000"',
    "vhostHTTPPort = 70000",
    'log.level = "verbose"',
    'auth.method = "ldap"',
    "transport.tcpMux = 1",
  ].join("\n");
  assertEquals(errorsOf(() => parseServerConfig(text, "frps.toml")), [
    "frps.toml:1: bindPort: expected integer, got string",
    "frps.toml:2: vhostHTTPPort: value 70000 out of range 0..65535",
    'frps.toml:3: log.level: invalid value "verbose" (expected one of trace, debug, info, warn, error)',
    'frps.toml:4: auth.method: invalid value "ldap" (expected one of token, oidc)',
    "frps.toml:5: transport.tcpMux: expected boolean, got integer",
  ]);
});

Deno.test("proxies: required name/type, bad type, duplicates, type-specific keys", () => {
  const text = [
    "[[proxies]]", // 1
    'name = "a"', // 2
    'type = "tcp"', // 3
    'customDomains = ["x.com"]', // 4
    "[[proxies]]", // 5
    'name = "a"', // 6
    'type = "http"', // 7
    "remotePort = 80", // 8
    'subdomain = "a"', // 9
    "[[proxies]]", // 10
    'type = "tpc"', // 11
    "[[proxies]]", // 12
    'name = "c"', // 13
  ].join("\n");
  assertEquals(errorsOf(() => parseClientConfig(text, "frpc.toml")), [
    "frpc.toml:4: proxies[0].customDomains: unknown key (only valid for proxy type http, https, tcpmux)",
    "frpc.toml:8: proxies[1].remotePort: unknown key (only valid for proxy type tcp, udp)",
    "frpc.toml:10: proxies[2].name: required",
    'frpc.toml:11: proxies[2].type: invalid value "tpc" (expected one of tcp, udp, http, https, tcpmux, stcp, xtcp, sudp; did you mean tcp?)',
    "frpc.toml:12: proxies[3].type: required",
    'frpc.toml:6: proxies[1].name: duplicate proxy name "a" (first at frpc.toml:2)',
  ]);
});

Deno.test("http proxy needs a domain; visitors duplicate names", () => {
  const text = '[[proxies]]\nname = "w"\ntype = "http"\n' +
    '[[visitors]]\nname = "v"\ntype = "stcp"\n[[visitors]]\nname = "v"\ntype = "xtcp"\n';
  assertEquals(errorsOf(() => parseClientConfig(text, "frpc.toml")), [
    "frpc.toml:1: proxies[0]: subdomain and customDomains must not both be empty",
    'frpc.toml:8: visitors[1].name: duplicate visitor name "v" (first at frpc.toml:5)',
  ]);
});

Deno.test("parse errors carry the line", () => {
  const errs = errorsOf(() =>
    parseServerConfig('bindPort = 7000\nbindAddr = = "x"\n', "frps.toml")
  );
  assertEquals(errs.length, 1);
  assertMatch(errs[0], /^frps\.toml:2: TOML parse error: .*\(YAML and JSON were tried too\)$/);
  const j = errorsOf(() => parseServerConfig('{\n  "bindPort": 7000,\n}', "frps.json"));
  assertMatch(j[0], /^frps\.json:3: JSON parse error/);
});

Deno.test("portAllowed", () => {
  const { config } = parseServerConfig(
    "allowPorts = [{ start = 2000, end = 3000 }, { single = 3001 }]",
    "frps.toml",
  );
  assert(portAllowed(config.allowPorts, 2000));
  assert(portAllowed(config.allowPorts, 3000));
  assert(portAllowed(config.allowPorts, 3001));
  assert(!portAllowed(config.allowPorts, 3002));
  assert(!portAllowed(config.allowPorts, 1999));
  assert(portAllowed([], 1));
});

Deno.test("full examples as JSON and YAML load to the same config", async () => {
  const { parse } = await import("smol-toml");
  const { stringify } = await import("yaml");
  for (const name of ["frps_full_example.toml", "frpc_full_example.toml"]) {
    const text = await Deno.readTextFile(`${REF}/${name}`);
    const data = parse(text);
    const fn = name.startsWith("frps") ? parseServerConfig : parseClientConfig;
    const t = fn(text, name);
    const j = fn(JSON.stringify(data, null, 2), name);
    const y = fn(stringify(data), name);
    assertEquals(j.config, t.config);
    assertEquals(y.config, t.config);
    assertEquals(j.warnings.length, t.warnings.length);
    assertEquals(y.warnings.length, t.warnings.length);
  }
});

Deno.test("empty YAML values count as unset", () => {
  const { config } = parseClientConfig("serverPort: 7002\nauth:\nproxies:\n", "frpc.yaml");
  assertEquals(config.serverPort, 7002);
  assertEquals(config.auth.method, "token");
  assertEquals(config.proxies, []);
});

Deno.test("oidc: the issuer (server) and the token endpoint (client) must be set", () => {
  assertEquals(errorsOf(() => parseServerConfig('auth.method = "oidc"\n', "frps.toml")), [
    'frps.toml:1: auth.oidc.issuer: must be set when auth.method is "oidc"',
  ]);
  assertEquals(errorsOf(() => parseClientConfig('auth.method = "oidc"\n', "frpc.toml")), [
    'frpc.toml:1: auth.oidc.tokenEndpointURL: must be set when auth.method is "oidc" ' +
    "(or set auth.oidc.tokenSource)",
  ]);
  assertEquals(
    errorsOf(() =>
      parseClientConfig('auth.method = "oidc"\nauth.oidc.tokenSource.type = "exec"\n', "frpc.toml")
    ),
    ['frpc.toml:2: auth.oidc.tokenSource.type: "exec" is not supported (only "file")'],
  );
  const { config } = parseServerConfig(
    'auth.method = "oidc"\nauth.oidc.issuer = "https://id.example"\n',
    "frps.toml",
  );
  assertEquals(config.auth.oidc.userClaim, "sub");
});
