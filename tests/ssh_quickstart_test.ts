import { assertEquals } from "./_assert.ts";
import { freePort, startClient, startServer } from "./_harness.ts";
import { sshdAvailable, startSshd } from "./_sshd.ts";

// frp's README quick start: frps on bindPort, frpc exposing sshd on remotePort,
// then `ssh -oPort=6000 user@server`. A real sshd and the real ssh client.
for (const tcpMux of [true, false]) {
  Deno.test({
    name: `quick start: ssh through a tcp proxy to a real sshd (tcpMux ${tcpMux})`,
    ignore: !sshdAvailable(),
    async fn() {
      await using sshd = await startSshd();
      await using server = await startServer(`transport.tcpMux = ${tcpMux}`);
      const remotePort = freePort();
      await using client = await startClient(`
serverAddr = "127.0.0.1"
serverPort = ${server.port}
transport.tcpMux = ${tcpMux}

[[proxies]]
name = "test-tcp"
type = "tcp"
localIP = "127.0.0.1"
localPort = ${sshd.port}
remotePort = ${remotePort}
`);
      await client.waitFor(/\[test-tcp\] start proxy success/);
      const out = await sshd.run(
        remotePort,
        "echo tunneled-$((6*7)); head -c 1000000 /dev/zero | wc -c",
      );
      assertEquals(out.trim().split("\n"), ["tunneled-42", "1000000"]);
    },
  });
}
