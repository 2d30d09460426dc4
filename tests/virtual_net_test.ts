/**
 * frp's VirtualNet across the NAT lab (see `_netns.ts`): the owner client
 * (an stcp proxy with `plugin.type = "virtual_net"`) behind router b, the
 * visitor client (`plugin.type = "virtual_net"`, `destinationIP`) behind
 * router a, each with a TUN device made by the client inside its namespace.
 * `ping` crosses both ways, and an iperf3 TCP run goes through; a wrong
 * secret key carries no packet.
 */
import { clientConf } from "./_config.ts";
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { labAvailable, NatLab, PUBLIC_A, PUBLIC_B } from "./_netns.ts";

const ignore = !(await labAvailable()) || !(await hasTools("ping", "iperf3"));

async function hasTools(...names: string[]): Promise<boolean> {
  for (const name of names) {
    try {
      await new Deno.Command(name, { args: ["-V"], stdout: "null", stderr: "null" }).output();
    } catch {
      return false;
    }
  }
  return true;
}

/** A client of the lab's server at `serverAddr` with its virtual net address `address`. */
function vnetClient(serverAddr: string, address: string): string {
  return clientConf({
    serverAddr,
    serverPort: 7000,
    token: "t",
    extra: `featureGates = { VirtualNet = true }\nvirtualNet.address = "${address}"`,
  });
}

const owner = vnetClient(PUBLIC_B, "100.86.0.1/24") + `
[[proxies]]
name = "vnet-server"
type = "stcp"
secretKey = "vnet-key"
[proxies.plugin]
type = "virtual_net"
`;

function visitor(address: string, key: string): string {
  return vnetClient(PUBLIC_A, address) + `
[[visitors]]
name = "vnet-visitor"
type = "stcp"
serverName = "vnet-server"
secretKey = "${key}"
bindPort = -1
[visitors.plugin]
type = "virtual_net"
destinationIP = "100.86.0.1"
`;
}

/** A lab with its server, and the owner client behind router b once its TUN device is up. */
async function labWithOwner() {
  const lab = await NatLab.create();
  try {
    await lab.server(`bindPort = 7000\nauth.token = "t"`);
    const a = await lab.client(lab.ns.hostB, owner);
    await a.waitFor(/virtual net: device dfrp\d+ up/);
    return { lab, a };
  } catch (e) {
    await lab[Symbol.asyncDispose]();
    throw e;
  }
}

/** `ping` arguments: `count` pings 0.2 s apart to `target`, each waiting `wait` seconds. */
function ping(count: number, wait: number, target: string): string[] {
  return ["ping", "-c", String(count), "-i", "0.2", "-W", String(wait), target];
}

Deno.test({
  name: "lab: virtual_net — ping both ways and iperf3 between two clients' TUN devices",
  ignore,
  sanitizeResources: false,
  async fn() {
    const { lab, a } = await labWithOwner();
    await using _ = lab;
    await a.waitFor(/virtual net: device dfrp\d+ up with 100\.86\.0\.1\/24/);
    const b = await lab.client(lab.ns.hostA, visitor("100.86.0.2/24", "vnet-key"));
    await b.waitFor(/virtual net: 100\.86\.0\.1 reached through/);

    const there = await lab.exec(lab.ns.hostA, ping(3, 3, "100.86.0.1"));
    assertMatch(there, /3 packets transmitted, 3 received/);
    // The owner answers a visitor it learned from; it can also start a ping of its own.
    const back = await lab.exec(lab.ns.hostB, ping(2, 3, "100.86.0.2"));
    assertMatch(back, /2 packets transmitted, 2 received/);

    const iperfServer = new Deno.Command("ip", {
      args: ["netns", "exec", lab.ns.hostB, "iperf3", "-s", "-1", "-B", "100.86.0.1", "-p", "5201"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await new Promise((r) => setTimeout(r, 500));
      const out = await lab.exec(lab.ns.hostA, [
        "iperf3",
        "-c",
        "100.86.0.1",
        "-p",
        "5201",
        "-t",
        "2",
        "-J",
      ]);
      const report = JSON.parse(out);
      const bits = report.end.sum_received.bits_per_second as number;
      console.log(`iperf3 across the virtual net: ${(bits / 1e6).toFixed(0)} Mbit/s`);
      assert(report.end.sum_received.bytes > 0, "iperf3 moved no bytes");
    } finally {
      try {
        iperfServer.kill();
      } catch { /* exited after its one test */ }
      await iperfServer.status;
    }
  },
});

Deno.test({
  name: "lab: virtual_net — a visitor with a wrong secret key carries no packet",
  ignore,
  sanitizeResources: false,
  async fn() {
    const { lab, a } = await labWithOwner();
    await using _ = lab;
    const b = await lab.client(lab.ns.hostA, visitor("100.86.0.3/24", "guessed"));
    await b.waitFor(/virtual net link to \[vnet-server\] failed|virtual net link closed/, 20_000);
    await a.waitFor(/refused: wrong secret key/);
    const none = await new Deno.Command("ip", {
      args: ["netns", "exec", lab.ns.hostA, ...ping(2, 1, "100.86.0.1")],
      stdout: "piped",
      stderr: "null",
    }).output();
    assertEquals(none.success, false);
  },
});
