/**
 * xtcp across the NAT lab (`_netns.ts`): peer to peer through two cone NATs
 * (the server relays almost nothing while 50 MiB go through), fallback to
 * stcp when one NAT is symmetric, and transfers under 5% UDP loss.
 */
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import type { DfrpProcess } from "./_harness.ts";
import { clientConf, proxyTable, visitorTable } from "./_config.ts";
import { labAvailable, type LabOptions, NatLab, PUBLIC_A, PUBLIC_B } from "./_netns.ts";
import { punch, PunchFailed } from "../lib/p2p/punch.ts";
import { punchKey } from "../lib/p2p/punch_key.ts";
import { UdpPort } from "../lib/p2p/udp_port.ts";

const ignore = !(await labAvailable());
const SERVER_PORT = 7000;
const MiB = 1024 * 1024;

/** A client's connection lines through the lab: user `user`, debug logs. */
function labClient(serverAddr: string, user: string): string {
  return clientConf({
    serverAddr,
    serverPort: SERVER_PORT,
    token: "t",
    extra: `user = "${user}"\nlog.level = "debug"`,
  });
}

/** alice's client: `svc` for xtcp and `svc-relay` for the stcp fallback, both to `localPort`. */
function ownerConf(localPort: number, key = "p2p-key"): string {
  const only = `secretKey = "${key}"\nlocalIP = "127.0.0.1"\nallowUsers = ["bob"]`;
  return labClient(PUBLIC_B, "alice") + proxyTable("xtcp", "svc", localPort, only) +
    proxyTable("stcp", "svc-relay", localPort, only);
}

/** bob's client: an xtcp visitor of alice's `svc`, and (`fallback`) an stcp one to fall back to. */
function visitorConf(bindPort: number, opts: { key?: string; fallback?: boolean } = {}): string {
  const secretKey = opts.key ?? "p2p-key";
  const fallback = opts.fallback ? `fallbackTo = "svc-fallback"\nfallbackTimeoutMs = 1000` : "";
  return labClient(PUBLIC_A, "bob") + visitorTable({
    type: "xtcp",
    name: "svc-p2p",
    serverName: "svc",
    secretKey,
    bindPort,
    extra: `serverUser = "alice"\nbindAddr = "127.0.0.1"\nminRetryInterval = 1\n${fallback}`,
  }) + visitorTable({
    type: "stcp",
    name: "svc-fallback",
    serverName: "svc-relay",
    secretKey,
    bindPort: -1,
    extra: `serverUser = "alice"`,
  });
}

/** Starts the visitor's client on host A (bindPort 6000) and waits for its xtcp visitor. */
async function startVisitor(lab: NatLab, opts: { key?: string; fallback?: boolean } = {}) {
  const vis = await lab.client(lab.ns.hostA, visitorConf(6000, opts));
  await vis.waitFor(/start xtcp visitor success/);
  return vis;
}

/** Sends `n` bytes from host A through the visitor's port and checks the echo came back whole. */
async function echoesWhole(lab: NatLab, n: number) {
  const r = await lab.send(lab.ns.hostA, 6000, n);
  assertEquals(r.got, r.sent);
  return r;
}

/** Waits for the visitor to log `opened` (its peer-to-peer tunnel); both logs if it never does. */
async function peerToPeer(vis: DfrpProcess, owner: DfrpProcess, opened: RegExp): Promise<void> {
  await vis.waitFor(opened, 20_000).catch((err) => {
    console.log(vis.output, owner.output);
    throw err;
  });
}

async function lab3(opts: LabOptions = {}) {
  const lab = await NatLab.create(opts);
  const server = await lab.server(`bindPort = ${SERVER_PORT}\nauth.token = "t"`);
  await lab.echo(lab.ns.hostB, 9000);
  const owner = await lab.client(lab.ns.hostB, ownerConf(9000));
  await owner.waitFor(/\[svc\] start proxy success/);
  return { lab, server, owner };
}

Deno.test({
  name: "xtcp: two cone NATs — 50 MiB hash-checked peer to peer, the server relays ~nothing",
  ignore,
  sanitizeResources: false,
  async fn() {
    const { lab, server, owner } = await lab3();
    await using _ = lab;
    const vis = await startVisitor(lab);
    // The first connection makes the tunnel.
    const first = await lab.send(lab.ns.hostA, 6000, 1000);
    if (first.got !== first.sent) console.log(vis.output, owner.output, server.output);
    assertEquals(first.got, first.sent);
    // No loss on the links: the tunnel keeps Cubic.
    await vis.waitFor(
      /xtcp tunnel to 100\.64\.2\.2:\d+ open \(peer to peer\); \d+% of the loss probes lost: congestion control Cubic/,
    );
    await owner.waitFor(
      /xtcp tunnel with 100\.64\.1\.2:\d+ open; \d+% of the loss probes lost: congestion control Cubic/,
    );
    const before = await lab.serverBytes();
    const big = await lab.send(lab.ns.hostA, 6000, 50 * MiB);
    const after = await lab.serverBytes();
    assertEquals(big.n, 50 * MiB);
    assertEquals(big.got, big.sent);
    const relayed = (after.input - before.input) + (after.output - before.output);
    console.log(
      `50 MiB echoed p2p in ${big.ms} ms (${((100 * 8) / (big.ms / 1000)).toFixed(0)} Mbit/s ` +
        `both ways); server sockets saw ${relayed} bytes`,
    );
    assert(relayed < 512 * 1024, `server saw ${relayed} bytes`);
    assert(after.input > 0, "the counter counts the server's own traffic (logins)");
    assertMatch(vis.output, /our NAT easy/);
    assert(!server.output.includes("p2p-key"));
  },
});

for (const side of ["owner", "visitor"] as const) {
  Deno.test({
    name: `xtcp: the ${side}'s NAT symmetric (--random-fully) — 256 sockets meet a spray of ` +
      "random ports; peer to peer",
    ignore,
    sanitizeResources: false,
    async fn() {
      const { lab, owner } = await lab3(side === "owner" ? { hardB: true } : { hardA: true });
      await using _ = lab;
      const vis = await startVisitor(lab, { fallback: true });
      await echoesWhole(lab, 1 * MiB);
      await (side === "owner" ? owner : vis).waitFor(/our NAT hard/);
      await peerToPeer(vis, owner, /xtcp tunnel to 100\.64\.2\.2:\d+ open \(peer to peer\)/);
      await echoesWhole(lab, 8 * MiB);
    },
  });
}

Deno.test({
  name:
    "xtcp: both NATs symmetric — no attempt is made, the stcp fallback delivers, no error for the user",
  ignore,
  sanitizeResources: false,
  async fn() {
    const { lab, owner } = await lab3({ hardA: true, hardB: true });
    await using _ = lab;
    const vis = await startVisitor(lab, { fallback: true });
    const r = await lab.send(lab.ns.hostA, 6000, 4 * MiB).catch((err) => {
      console.log(vis.output, owner.output);
      throw err;
    });
    assertEquals(r.n, 4 * MiB);
    assertEquals(r.got, r.sent);
    await vis.waitFor(/failed: both NATs are symmetric/);
    await vis.waitFor(/connection handed to \[svc-fallback\]/);
    // While the retry budget says wait, further connections go straight to the fallback.
    await echoesWhole(lab, 1 * MiB);
  },
});

Deno.test({
  name:
    "xtcp: 5% random UDP loss on both NATs — the punch measures it and picks BBR; transfers complete, hash-checked",
  ignore,
  sanitizeResources: false,
  async fn() {
    const { lab, owner } = await lab3({ udpLoss: 0.05 });
    await using _ = lab;
    const vis = await startVisitor(lab);
    await echoesWhole(lab, 1000);
    // ≈10% of the loss probes are lost each way: both ends switch to BBR,
    // which does not collapse under random loss as Cubic does.
    await vis.waitFor(
      /open \(peer to peer\); \d+% of the loss probes lost: congestion control BBR/,
    );
    await owner.waitFor(
      /tunnel with \S+ open; \d+% of the loss probes lost: congestion control BBR/,
    );
    const results = await Promise.all([0, 1, 2].map(() => lab.send(lab.ns.hostA, 6000, 4 * MiB)));
    for (const r of results) {
      assertEquals(r.n, 4 * MiB);
      assertEquals(r.got, r.sent);
    }
    console.log(`3 x 4 MiB echoed under 5% loss in ${Math.max(...results.map((r) => r.ms))} ms`);
  },
});

Deno.test({
  name:
    "xtcp: a wrong secret key is refused by the owner; with a fallback the user still gets nothing through",
  ignore,
  sanitizeResources: false,
  async fn() {
    const { lab, owner } = await lab3();
    await using _ = lab;
    const vis = await startVisitor(lab, { key: "guessed" });
    const r = await lab.send(lab.ns.hostA, 6000, 1000);
    assertEquals(r.n, 0);
    await vis.waitFor(/xtcp to \[alice\.svc\] failed: wrong secret key/);
    await owner.waitFor(/refused: wrong secret key/);
  },
});

/** Both peers behind router a (which does not hairpin), as two machines on one LAN. */
async function sameLan(disableAssistedAddrs: boolean) {
  const lab = await NatLab.create();
  const server = await lab.server(`bindPort = ${SERVER_PORT}\nauth.token = "t"`);
  await lab.echo(lab.ns.hostA, 9000);
  const key = disableAssistedAddrs
    ? `type = "xtcp"\nnatTraversal.disableAssistedAddrs = true\n`
    : `type = "xtcp"\n`;
  // The server's address on a's side: a STUN answer from its other address would not match.
  const ownerConfig = ownerConf(9000).replace(`type = "xtcp"\n`, key)
    .replace(`serverAddr = "${PUBLIC_B}"`, `serverAddr = "${PUBLIC_A}"`);
  const owner = await lab.client(lab.ns.hostA, ownerConfig);
  await owner.waitFor(/\[svc\] start proxy success/);
  const vis = await lab.client(
    lab.ns.hostA,
    visitorConf(6000, { fallback: true }).replace(`type = "xtcp"\n`, key),
  );
  await vis.waitFor(/start xtcp visitor success/);
  return { lab, server, owner, vis };
}

Deno.test({
  name: "xtcp: two peers behind one NAT — assisted (LAN) addresses connect them peer to peer",
  ignore,
  sanitizeResources: false,
  async fn() {
    const { lab, owner, vis } = await sameLan(false);
    await using _ = lab;
    await echoesWhole(lab, 1 * MiB);
    // Announced: the STUN mapping on router a, then the LAN address.
    await vis.waitFor(/punching to 100\.64\.1\.2:\d+, 10\.99\.1\.2:\d+ /);
    await peerToPeer(vis, owner, /xtcp tunnel to 10\.99\.1\.2:\d+ open \(peer to peer\)/);
    await echoesWhole(lab, 8 * MiB);
  },
});

Deno.test({
  name: "xtcp: natTraversal.disableAssistedAddrs — only STUN's mapping is announced; " +
    "behind one NAT without hairpin the stcp fallback carries",
  ignore,
  sanitizeResources: false,
  async fn() {
    const { lab, owner, vis } = await sameLan(true);
    await using _ = lab;
    await echoesWhole(lab, 1 * MiB);
    await owner.waitFor(/punching to 100\.64\.1\.2:\d+ \(its NAT/);
    await vis.waitFor(/punching to 100\.64\.1\.2:\d+ \(its NAT/);
    assert(!/10\.99\.1\.2/.test(vis.output + owner.output), "no LAN address announced");
    await vis.waitFor(/connection handed to \[svc-fallback\]/, 20_000);
  },
});

Deno.test("punch: forged and foreign probes are ignored; the peer with the key is found and measures no loss", async () => {
  const visitor = UdpPort.bind("127.0.0.1", 0);
  const owner = UdpPort.bind("127.0.0.1", 0);
  const attacker = UdpPort.bind("127.0.0.1", 0);
  const key = await punchKey("k", "vsid", "osid");
  const wrongKey = await punchKey("guessed", "vsid", "osid");
  try {
    // The attacker floods both with garbage and with probes under a wrong key.
    const flood = setInterval(async () => {
      for (const to of [visitor.port, owner.port]) {
        const ep = { hostname: "127.0.0.1", port: to };
        await attacker.send(new TextEncoder().encode("DXP1 not a probe"), ep);
        const forged = new Uint8Array(24);
        forged.set([0x44, 0x58, 0x50, 0x31, 1, 1]);
        await attacker.send(forged, ep);
      }
    }, 20);
    // A side keyed wrongly, from the attacker's socket, punching at the owner.
    const impostor = punch(attacker, {
      role: "visitor",
      key: wrongKey,
      candidates: [{ hostname: "127.0.0.1", port: owner.port }],
      timeoutMs: 1500,
    });
    await new Promise((r) => setTimeout(r, 300));
    const [{ peer: v, lost: vLost }, { peer: o, lost: oLost }] = await Promise.all([
      punch(visitor, {
        role: "visitor",
        key,
        candidates: [{ hostname: "127.0.0.1", port: owner.port }],
        timeoutMs: 3000,
      }),
      punch(owner, {
        role: "owner",
        key,
        candidates: [{ hostname: "127.0.0.1", port: visitor.port }],
        timeoutMs: 3000,
      }),
    ]);
    clearInterval(flood);
    assertEquals(v, { hostname: "127.0.0.1", port: owner.port });
    assertEquals(o, { hostname: "127.0.0.1", port: visitor.port });
    // Every authentic loss probe arrived on loopback; the forged ones were not counted.
    assertEquals([vLost, oLost], [0, 0]);
    const failed = await impostor.then(() => null, (err) => err);
    assert(failed instanceof PunchFailed, String(failed));
  } finally {
    visitor.close();
    owner.close();
    attacker.close();
  }
});

Deno.test({
  name:
    "xtcp: keepTunnelOpen opens the tunnel before any connection, and again after the owner returns",
  ignore,
  sanitizeResources: false,
  async fn() {
    const { lab, owner } = await lab3();
    await using _ = lab;
    const vis = await lab.client(
      lab.ns.hostA,
      visitorConf(6000).replace(
        "minRetryInterval = 1",
        "minRetryInterval = 1\nkeepTunnelOpen = true",
      ),
    );
    await vis.waitFor(/xtcp tunnel to \S+ open \(peer to peer\)/, 20_000);
    await echoesWhole(lab, 1 * MiB);
    // The owner goes away (closing its tunnels): the visitor notices at once,
    // and makes the tunnel again once the owner is back.
    await owner.stop("SIGTERM");
    await vis.waitFor(/xtcp tunnel to \S+ closed/, 40_000);
    const back = await lab.client(lab.ns.hostB, ownerConf(9000));
    await back.waitFor(/xtcp tunnel with \S+ open/, 40_000);
    const again = await lab.send(lab.ns.hostA, 6000, 1 * MiB);
    if (again.got !== again.sent) console.log(again, vis.output, back.output);
    assertEquals(again.got, again.sent);
  },
});
