/**
 * Wrong basic-auth passwords on both admin APIs are counted per address
 * (lib/admin/limited_basic_auth.ts): after `webServer.maxFailedLogins`
 * failures the address gets 429, even with the right password, while
 * another address still logs in.
 */

import { assertEquals, assertMatch } from "./_assert.ts";
import { freePort, startClient, startServer } from "./_harness.ts";

/** curl from `source` (a loopback address) with `user:password`; the status. */
async function status(url: string, auth: string, source = "127.0.0.1"): Promise<number> {
  const res = await new Deno.Command("curl", {
    args: [
      "-s",
      "-o",
      "/dev/null",
      "-m",
      "10",
      "-w",
      "%{http_code}",
      "--interface",
      source,
      "-u",
      auth,
      url,
    ],
    stdout: "piped",
  }).output();
  return Number(new TextDecoder().decode(res.stdout));
}

async function guessing(url: string, max: number, proc: { output: string }) {
  for (let i = 0; i < max; i++) assertEquals(await status(url, `admin:guess${i}`), 401);
  // Blocked now: wrong or right, this address waits.
  assertEquals(await status(url, "admin:guess-more"), 429);
  assertEquals(await status(url, "admin:right-pw"), 429);
  // The owner on another address is not locked out.
  assertEquals(await status(url, "admin:right-pw", "127.0.0.2"), 200);
  assertMatch(proc.output, /429 too many failed logins \(from 127\.0\.0\.1\)/);
}

Deno.test("admin basic auth: the client's API answers 429 after maxFailedLogins wrong passwords", async () => {
  await using server = await startServer(`auth.token = "t"\n`);
  const adminPort = freePort();
  await using client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${server.port}
auth.token = "t"
webServer.port = ${adminPort}
webServer.user = "admin"
webServer.password = "right-pw"
webServer.maxFailedLogins = 3
`);
  await client.waitFor(/admin server listen on/);
  await guessing(`http://127.0.0.1:${adminPort}/api/status`, 3, client);
});

Deno.test("admin basic auth: the server's API answers 429 after maxFailedLogins wrong passwords", async () => {
  const webPort = freePort();
  await using server = await startServer(`
webServer.port = ${webPort}
webServer.user = "admin"
webServer.password = "right-pw"
webServer.maxFailedLogins = 3
`);
  await server.waitFor(/dashboard listen on/);
  await guessing(`http://127.0.0.1:${webPort}/api/serverinfo`, 3, server);
});
