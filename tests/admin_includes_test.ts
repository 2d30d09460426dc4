/**
 * `includes` through the client's admin API: `PUT /api/config` cannot make
 * the client look outside its config folder (or `includesRoot`), and errors
 * about included files never quote them.
 */

import { assertEquals, assertMatch, assertNotMatch } from "./_assert.ts";
import { answer, startAdminClient } from "./_client_admin.ts";
import { startServer } from "./_harness.ts";

Deno.test("admin includes: PUT /api/config cannot list or quote files outside the config's folder", async () => {
  await using server = await startServer("");
  await using client = await startAdminClient(server.port, "");
  const dir = client.configPath.slice(0, client.configPath.lastIndexOf("/"));
  // A folder next to the config's with files a guessing admin-API caller must not see.
  const outside = await Deno.makeTempDir({ prefix: "dfrp-outside-" });
  await Deno.writeTextFile(`${outside}/secret.toml`, 'SECRET_KEY = "hunter2"\n');
  await Deno.writeTextFile(`${outside}/notes.json`, "{hunter2 is the password}\n");
  const rel = `../${outside.slice(outside.lastIndexOf("/") + 1)}`;
  const original = await Deno.readTextFile(client.configPath);

  const put = (text: string) =>
    answer(client.api("/api/config", { method: "PUT", body: client.header + text }));
  for (const pattern of [`${rel}/*`, `${outside}/*`, "../../../../../../etc/host*"]) {
    const res = await put(`includes = ["${pattern}"]\n`);
    assertEquals(res.status, 400, pattern);
    assertMatch(res.text, /reaches outside/);
    assertNotMatch(res.text, /hunter2|SECRET_KEY|secret\.toml|notes\.json|hostname|localhost/);
  }
  // The file's own includesRoot does not widen it through the API.
  const widened = await put(`includesRoot = "/"\nincludes = ["${rel}/*"]\n`);
  assertEquals(widened.status, 400);
  assertNotMatch(widened.text, /hunter2|SECRET_KEY/);

  // A symlink inside the folder that points outside is refused too.
  await Deno.mkdir(`${dir}/confd`);
  await Deno.symlink(`${outside}/secret.toml`, `${dir}/confd/link.toml`);
  const linked = await put(`includes = ["./confd/*.toml"]\n`);
  assertEquals(linked.status, 400);
  assertMatch(linked.text, /reaches outside/);
  assertNotMatch(linked.text, /hunter2|SECRET_KEY/);
  await Deno.remove(`${dir}/confd/link.toml`);

  // Inside the folder: files that are no proxies config are refused unquoted.
  await Deno.writeTextFile(`${dir}/confd/token.toml`, 'API_TOKEN = "hunter2"\n');
  await Deno.writeTextFile(`${dir}/confd/data.json`, "{hunter2}\n");
  const notConfig = await put(`includes = ["./confd/*"]\n`);
  assertEquals(notConfig.status, 400);
  assertMatch(notConfig.text, /token\.toml: no proxies or visitors in it/);
  assertMatch(notConfig.text, /data\.json:1: not a TOML, YAML or JSON config/);
  assertNotMatch(notConfig.text, /hunter2|API_TOKEN/);
  assertEquals(await Deno.readTextFile(client.configPath), original);

  // A real include inside the folder still works, through PUT and reload.
  await Deno.remove(`${dir}/confd`, { recursive: true });
  await Deno.mkdir(`${dir}/confd`);
  await Deno.writeTextFile(
    `${dir}/confd/web.toml`,
    '[[proxies]]\nname = "inc"\ntype = "tcp"\nlocalPort = 1\n',
  );
  assertEquals((await put(`includes = ["./confd/*.toml"]\n`)).status, 200);
  const reload = await answer(client.api("/api/reload"));
  assertEquals(reload.status, 200, reload.text);
  assertEquals(JSON.parse(reload.text).added, ["inc"]);
  await Deno.remove(outside, { recursive: true });
});

Deno.test("admin includes: includesRoot in the file at start allows a wider folder", async () => {
  await using server = await startServer("");
  const shared = await Deno.makeTempDir({ prefix: "dfrp-shared-" });
  await Deno.mkdir(`${shared}/proxies`);
  await Deno.writeTextFile(
    `${shared}/proxies/p.toml`,
    '[[proxies]]\nname = "shared"\ntype = "tcp"\nlocalPort = 1\n',
  );
  await using client = await startAdminClient(
    server.port,
    "",
    `includesRoot = "${shared}"\nincludes = ["${shared}/proxies/*.toml"]\n`,
  );
  const status = JSON.parse((await answer(client.api("/api/status"))).text);
  assertEquals(status.tcp.map((p: { name: string }) => p.name), ["shared"]);
  await Deno.remove(shared, { recursive: true });
});

Deno.test("admin includes: PUT /api/config errors do not quote environment values", async () => {
  await using server = await startServer("");
  Deno.env.set("DFRP_TEST_SECRET_ENV", "env-secret-4711");
  let client;
  try {
    client = await startAdminClient(server.port, "");
  } finally {
    Deno.env.delete("DFRP_TEST_SECRET_ENV");
  }
  await using _c = client;
  const res = await answer(client.api("/api/config", {
    method: "PUT",
    body: client.header + 'log.level = "{{ .Envs.DFRP_TEST_SECRET_ENV }}"\n',
  }));
  assertEquals(res.status, 400);
  assertMatch(res.text, /log\.level: invalid value "<env DFRP_TEST_SECRET_ENV>"/);
  assertNotMatch(res.text, /env-secret-4711/);
});
