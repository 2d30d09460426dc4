import { assert, assertEquals } from "./_assert.ts";
import { eventually, freePort, roundTrip, startClient, startServer } from "./_harness.ts";

/** A TCP service on `port` (0 = any) that answers every connection with `id` and closes. */
function idServer(id: string, port = 0): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  (async () => {
    for await (const conn of listener) {
      conn.write(new TextEncoder().encode(id)).finally(() => conn.close()).catch(() => {});
    }
  })().catch(() => {});
  return {
    port: listener.addr.port,
    close: () => listener.close(),
  };
}

async function whoAnswers(port: number, times: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < times; i++) {
    out.push(new TextDecoder().decode(await roundTrip(port, new Uint8Array(0))));
  }
  return out;
}

function member(
  server: number,
  name: string,
  localPort: number,
  remotePort: number,
  key: string,
  check = "",
) {
  return `
serverAddr = "127.0.0.1"
serverPort = ${server}
[[proxies]]
name = "${name}"
type = "tcp"
localPort = ${localPort}
remotePort = ${remotePort}
loadBalancer.group = "web"
loadBalancer.groupKey = "${key}"
${check}
`;
}

Deno.test("tcp load-balancing group across two clients; a wrong groupKey is refused", async () => {
  const a = idServer("A");
  const b = idServer("B");
  try {
    await using server = await startServer("");
    const remotePort = freePort();
    await using clientA = await startClient(member(server.port, "a", a.port, remotePort, "k"));
    await clientA.waitFor(/\[a\] start proxy success/);
    await using clientB = await startClient(member(server.port, "b", b.port, remotePort, "k"));
    await clientB.waitFor(/\[b\] start proxy success/);
    const answers = await whoAnswers(remotePort, 6);
    assertEquals(answers.toSorted(), ["A", "A", "A", "B", "B", "B"]);

    await using intruder = await startClient(member(server.port, "c", a.port, remotePort, "wrong"));
    await intruder.waitFor(/\[c\] start error: group \[web\] groupKey does not match/);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("health check: a failing member leaves the group and comes back when it recovers", async () => {
  const a = idServer("A");
  let b = idServer("B");
  const bPort = b.port;
  try {
    await using server = await startServer("");
    const remotePort = freePort();
    const check =
      'healthCheck.type = "tcp"\nhealthCheck.intervalSeconds = 1\nhealthCheck.timeoutSeconds = 1';
    await using clientA = await startClient(member(server.port, "a", a.port, remotePort, "k"));
    await clientA.waitFor(/\[a\] start proxy success/);
    await using clientB = await startClient(
      member(server.port, "b", bPort, remotePort, "k", check),
    );
    await clientB.waitFor(/\[b\] start proxy success/);

    b.close();
    await clientB.waitFor(/\[b\] health check failed/);
    await server.waitFor(/\[b\] proxy closed/);
    assertEquals(await whoAnswers(remotePort, 4), ["A", "A", "A", "A"]);

    b = idServer("B", bPort);
    await clientB.waitFor(/\[b\] health check success/);
    await eventually(async () => {
      const answers = await whoAnswers(remotePort, 4);
      assert(answers.includes("B"), `B is not back: ${answers}`);
    }, 5000);
  } finally {
    a.close();
    b.close();
  }
});
