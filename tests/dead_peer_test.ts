/**
 * Dead-peer detection with tcpMux on: a frozen (SIGSTOPped) peer is noticed
 * within the configured heartbeat or keepalive time, not after the 90 s the
 * old 3 × interval rule gave with defaults. Short values come from the
 * config; bounds are generous (a loaded machine), never tight timings.
 */

import { assert } from "./_assert.ts";
import { startClient, startServer } from "./_harness.ts";

function clientConfig(serverPort: number, extra: string): string {
  return `serverAddr = "127.0.0.1"\nserverPort = ${serverPort}\nauth.token = "t"\n${extra}\n`;
}

Deno.test("frozen server: the client's heartbeat (1 s / 3 s) notices it and reconnects after SIGCONT", async () => {
  await using server = await startServer(`auth.token = "t"`);
  await using client = await startClient(
    clientConfig(server.port, "transport.heartbeatInterval = 1\ntransport.heartbeatTimeout = 3"),
  );
  await server.waitFor(/client login info/);
  server.child.kill("SIGSTOP");
  try {
    await client.waitFor(/connection to server lost: heartbeat timeout; reconnecting/, 30_000);
  } finally {
    server.child.kill("SIGCONT");
  }
  await client.waitFor(/login to server success[^]*login to server success/, 60_000);
});

Deno.test("frozen server: tcpMuxKeepaliveInterval = 1 closes the mux session on the keepalive", async () => {
  await using server = await startServer(`auth.token = "t"`);
  await using client = await startClient(
    clientConfig(server.port, "transport.tcpMuxKeepaliveInterval = 1"),
  );
  await server.waitFor(/client login info/);
  server.child.kill("SIGSTOP");
  try {
    const m = await client.waitFor(
      /connection to server lost: [^\n]*keepalive timeout: no frame from peer for (\d+) ms/,
      30_000,
    );
    // interval + min(2 × interval, 10 s): 3 s here, give or take the sweep.
    assert(Number(m[1]) >= 3_000, m[0]);
  } finally {
    server.child.kill("SIGCONT");
  }
});

Deno.test("frozen client: the server's heartbeatTimeout = 3 applies with tcpMux too", async () => {
  await using server = await startServer(`auth.token = "t"\ntransport.heartbeatTimeout = 3`);
  await using client = await startClient(
    clientConfig(server.port, "transport.heartbeatInterval = 1\ntransport.heartbeatTimeout = 30"),
  );
  await server.waitFor(/client login info/);
  client.child.kill("SIGSTOP");
  try {
    // Before: ignored with tcpMux; a frozen client stayed online for 90 s.
    await server.waitFor(/client \S+ disconnected: heartbeat timeout/, 30_000);
  } finally {
    client.child.kill("SIGCONT");
  }
});
