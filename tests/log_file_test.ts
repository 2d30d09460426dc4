// `log.to` / `log.maxDays`: log files with frp's daily rotation, the writer
// driven by an injected clock, then real server and client processes writing
// their logs to files.

import { assert, assertEquals } from "./_assert.ts";
import { eventually, freePort, spawnDfrp, tempFile } from "./_harness.ts";
import { RotatingLogFile } from "../lib/log_file.ts";

const read = (path: string) => Deno.readTextFileSync(path);
const names = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

Deno.test("log file: rotates at the first line of a new day, frp's names, keeps maxDays", () => {
  const dir = Deno.makeTempDirSync({ prefix: "dfrp-log-" });
  let now = new Date(2026, 11, 1, 10, 0, 0);
  const file = new RotatingLogFile({ path: `${dir}/frps.log`, maxDays: 2, clock: () => now });
  let written = 0;
  const line = () => `line ${++written} at ${now.toISOString()}`;
  try {
    file.write(line());
    now = new Date(2026, 11, 1, 23, 59, 59);
    file.write(line());
    assertEquals(names(dir), ["frps.log"]);
    now = new Date(2026, 11, 2, 0, 0, 1);
    file.write(line()); // first line of the 2nd: the 1st's file is renamed first
    assertEquals(names(dir), ["frps.20261202-000000.log", "frps.log"]);
    assertEquals(read(`${dir}/frps.20261202-000000.log`).split("\n").filter(Boolean).length, 2);
    assertEquals(read(`${dir}/frps.log`), `line 3 at ${now.toISOString()}\n`);

    // A quiet day in between: the file of the 2nd is named for the end of the
    // 2nd, and the backup stamped more than 2 × 24 h ago goes.
    now = new Date(2026, 11, 4, 8, 0, 0);
    file.write(line());
    assertEquals(names(dir), ["frps.20261203-000000.log", "frps.log"]);
    assertEquals(read(`${dir}/frps.20261203-000000.log`).split("\n")[0].slice(0, 6), "line 3");

    now = new Date(2026, 11, 5, 12, 0, 0);
    file.write(line());
    assertEquals(names(dir), ["frps.20261205-000000.log", "frps.log"]);

    // No line lost or split across all files.
    const all = names(dir).flatMap((n) => read(`${dir}/${n}`).split("\n").filter(Boolean));
    assertEquals(all.length, 2); // lines 4 and 5: the others were in deleted files
    for (const l of all) assert(/^line \d at \S+$/.test(l), l);
  } finally {
    file.close();
  }
});

Deno.test("log file: maxDays = 0 keeps every rotated file; no extension works", () => {
  const dir = Deno.makeTempDirSync({ prefix: "dfrp-log-" });
  let now = new Date(2026, 0, 1, 12);
  const file = new RotatingLogFile({ path: `${dir}/frpc`, maxDays: 0, clock: () => now });
  try {
    for (let day = 1; day <= 20; day++) {
      now = new Date(2026, 0, day, 12);
      file.write(`day ${day}`);
    }
    const rotated = names(dir).filter((n) => n !== "frpc");
    assertEquals(rotated.length, 19);
    assertEquals(rotated[0], "frpc.20260102-000000");
    assertEquals(read(`${dir}/frpc.20260102-000000`), "day 1\n");
  } finally {
    file.close();
  }
});

Deno.test("log file: a clock set back never overwrites a rotated file", () => {
  const dir = Deno.makeTempDirSync({ prefix: "dfrp-log-" });
  let now = new Date(2026, 5, 1, 12);
  const file = new RotatingLogFile({ path: `${dir}/a.log`, maxDays: 0, clock: () => now });
  try {
    file.write("first");
    now = new Date(2026, 5, 2, 12);
    file.write("second");
    now = new Date(2026, 5, 1, 13); // NTP jumps back a day
    file.write("third");
    now = new Date(2026, 5, 2, 13);
    file.write("fourth");
    const all = names(dir).map((n) => read(`${dir}/${n}`)).join("");
    for (const l of ["first", "second", "third", "fourth"]) assert(all.includes(l), l);
    assertEquals(names(dir).length, 4);
  } finally {
    file.close();
  }
});

/** Local midnight `days` days ago, in frp's backup stamp. */
function stampDaysAgo(days: number): string {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  d.setDate(d.getDate() - days);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-000000`;
}

Deno.test("log file: server and client log to files; old file rotated, old backups deleted", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dfrp-logs-" });
  // Left from earlier runs: a live file from 2 days ago, backups of 1 and 10 days ago.
  Deno.writeTextFileSync(`${dir}/frps.log`, "from two days ago\n");
  const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
  Deno.utimeSync(`${dir}/frps.log`, twoDaysAgo, twoDaysAgo);
  Deno.writeTextFileSync(`${dir}/frps.${stampDaysAgo(1)}.log`, "yesterday\n");
  Deno.writeTextFileSync(`${dir}/frps.${stampDaysAgo(10)}.log`, "ten days ago\n");

  const port = freePort();
  await using server = spawnDfrp("server.ts", [
    "-c",
    await tempFile(
      `bindAddr = "127.0.0.1"\nbindPort = ${port}\nlog.to = "${dir}/frps.log"\nlog.maxDays = 3\n`,
      "frps.toml",
    ),
  ]);
  await eventually(() => {
    assert(/listen on \S+:\d+/.test(read(`${dir}/frps.log`)), "server's start line in its file");
    return Promise.resolve();
  });
  await using client = spawnDfrp("client.ts", [
    "-c",
    await tempFile(
      `serverAddr = "127.0.0.1"\nserverPort = ${port}\nlog.to = "${dir}/frpc.log"\n` +
        `log.disablePrintColor = true\n`,
      "frpc.toml",
    ),
  ]);
  await eventually(() => {
    assert(read(`${dir}/frpc.log`).includes("login to server success"), "client's login line");
    return Promise.resolve();
  });
  // Nothing went to the console: the files have it all.
  assert(!server.output.includes("listen on"), server.output);
  assert(!client.output.includes("login to server success"), client.output);

  const files = names(dir);
  assert(!files.includes(`frps.${stampDaysAgo(10)}.log`), `10-day-old backup deleted: ${files}`);
  assert(files.includes(`frps.${stampDaysAgo(1)}.log`), `yesterday's backup kept: ${files}`);
  // The stale live file was renamed for the end of its day before the first new line.
  const holder = files.find((n) =>
    n.startsWith("frps.") && n !== "frps.log" && read(`${dir}/${n}`).includes("from two days ago")
  );
  assert(holder !== undefined, `stale file rotated: ${files}`);
  assert(!read(`${dir}/frps.log`).includes("from two days ago"));
});

Deno.test("log file: an unwritable log.to stops the start with the path named", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dfrp-logs-" });
  Deno.writeTextFileSync(`${dir}/not-a-dir`, "");
  await using server = spawnDfrp("server.ts", [
    "-c",
    await tempFile(`bindPort = ${freePort()}\nlog.to = "${dir}/not-a-dir/frps.log"\n`, "frps.toml"),
  ]);
  const status = await server.exited;
  assertEquals(status.code, 1);
  assert(server.output.includes(`log.to ${dir}/not-a-dir/frps.log`), server.output);
});

Deno.test("log file: a start that fails is told on stderr too, not only in the file", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dfrp-logs-" });
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using server = spawnDfrp("server.ts", [
    "-c",
    await tempFile(
      `bindAddr = "127.0.0.1"\nbindPort = ${busy.addr.port}\nlog.to = "${dir}/frps.log"\n`,
      "frps.toml",
    ),
  ]);
  assertEquals((await server.exited).code, 1);
  assert(/cannot start the server/.test(server.output), server.output);
  assert(/cannot start the server/.test(read(`${dir}/frps.log`)));
});
