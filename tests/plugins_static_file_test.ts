/** The static_file plugin, driven by curl. */

import { curlHead } from "./_curl.ts";
import { assertEquals, assertMatch } from "./_assert.ts";
import { tunnel } from "./_plugins.ts";

Deno.test("static_file plugin: files under stripPrefix, no escape from localPath, basic auth", async () => {
  const top = await Deno.makeTempDir({ prefix: "dfrp-static-" });
  const root = `${top}/public`;
  await Deno.mkdir(`${root}/site`, { recursive: true });
  await Deno.mkdir(`${root}/empty`);
  await Deno.writeTextFile(`${root}/hello.txt`, "hello static\n");
  await Deno.writeTextFile(`${root}/site/index.html`, "<h1>index</h1>\n");
  await Deno.writeTextFile(`${top}/secret.txt`, "TOP SECRET\n");
  await Deno.symlink(`${top}/secret.txt`, `${root}/link-out.txt`);
  try {
    await using t = await tunnel(`type = "static_file"
localPath = "${root}"
stripPrefix = "static"
httpUser = "bob"
httpPassword = "pw"`);
    const base = `http://127.0.0.1:${t.remotePort}`;
    const get = (path: string, ...args: string[]) =>
      curlHead("--path-as-is", "-u", "bob:pw", ...args, `${base}${path}`);

    const hello = await get("/static/hello.txt");
    assertEquals(hello.status, 200, hello.stderr);
    assertEquals(hello.body, "hello static\n");
    assertMatch(hello.headers, /content-type: text\/plain/i);
    assertEquals((await get("/hello.txt")).status, 404); // outside the prefix
    assertEquals((await get("/static/site/")).body, "<h1>index</h1>\n");
    assertEquals((await get("/static/site")).status, 301);
    assertEquals((await get("/static/empty/")).status, 404); // no listing
    assertEquals((await get("/static/missing.txt")).status, 404);
    const part = await get("/static/hello.txt", "-r", "6-11");
    assertEquals(part.status, 206);
    assertEquals(part.body, "static");
    assertMatch(part.headers, /content-range: bytes 6-11\/13/i);
    assertEquals((await get("/static/hello.txt", "-r", "-7")).body, "static\n");
    assertEquals((await get("/static/hello.txt", "-r", "50-")).status, 416);

    // Every way out of localPath is refused and the secret never shows.
    for (
      const path of [
        "/static/../secret.txt",
        "/static/../../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2e%2e/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/link-out.txt",
      ]
    ) {
      const r = await get(path);
      assertEquals(r.status >= 400 && r.status < 500, true, `${path}: ${r.status}`);
      assertEquals(r.body.includes("TOP SECRET"), false, path);
    }
    assertEquals((await get("/static/..%2fsecret.txt")).status, 400);
    assertEquals((await get("/static/link-out.txt")).status, 403);
    await t.client.waitFor(/static_file: refused path/);

    const anonymous = await curlHead(`${base}/static/hello.txt`);
    assertEquals(anonymous.status, 401);
    assertMatch(anonymous.headers, /www-authenticate: Basic/i);
    assertEquals((await curlHead("-u", "bob:wrong", `${base}/static/hello.txt`)).status, 401);
    assertEquals((await get("/static/hello.txt", "-X", "DELETE")).status, 405);
    assertEquals((await get("/static/hello.txt")).status, 200);
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});
