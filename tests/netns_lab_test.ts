/**
 * stcp and sudp across two NAT routers (see `_netns.ts`): the owner and the
 * visitor each sit behind their own MASQUERADE router, the server in the
 * "public" namespace. Right and wrong keys and users.
 */
import { clientConf, proxyTable, visitorTable } from "./_config.ts";
import { assert, assertEquals } from "./_assert.ts";
import { labAvailable, NatLab, PUBLIC_A, PUBLIC_B } from "./_netns.ts";

const ignore = !(await labAvailable());
const SERVER_PORT = 7000;

/** A client of the lab's server, reached at `serverAddr`, as `user`. */
function labClient(serverAddr: string, user: string): string {
  return clientConf({ serverAddr, serverPort: SERVER_PORT, token: "t", extra: `user = "${user}"` });
}

function ownerConf(type: string, localPort: number): string {
  const only = `secretKey = "right-key"\nlocalIP = "127.0.0.1"\nallowUsers = ["bob"]`;
  return labClient(PUBLIC_B, "alice") + proxyTable(type, "svc", localPort, only);
}

function visitorConf(type: string, bindPort: number, key: string, user = "bob"): string {
  return labClient(PUBLIC_A, user) + visitorTable({
    type,
    name: "svc-visitor",
    serverName: "svc",
    secretKey: key,
    bindPort,
    extra: `serverUser = "alice"\nbindAddr = "127.0.0.1"`,
  });
}

Deno.test({
  name: "lab: stcp across two NATs — right key hash-checked, wrong key and user refused",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using lab = await NatLab.create();
    const server = await lab.server(`bindPort = ${SERVER_PORT}\nauth.token = "t"`);
    await lab.echo(lab.ns.hostB, 9000);
    const owner = await lab.client(lab.ns.hostB, ownerConf("stcp", 9000));
    await owner.waitFor(/\[svc\] start proxy success/);
    const good = await lab.client(lab.ns.hostA, visitorConf("stcp", 6000, "right-key"));
    await good.waitFor(/start stcp visitor success/);
    const r = await lab.send(lab.ns.hostA, 6000, 2 * 1024 * 1024);
    assertEquals(r.n, 2 * 1024 * 1024);
    assertEquals(r.got, r.sent);

    const wrong = await lab.client(lab.ns.hostA, visitorConf("stcp", 6001, "guessed"));
    await wrong.waitFor(/start stcp visitor success/);
    const w = await lab.send(lab.ns.hostA, 6001, 1000);
    assertEquals(w.n, 0);
    await wrong.waitFor(/failed: wrong secret key/);
    await owner.waitFor(/refused: wrong secret key/);

    const carol = await lab.client(lab.ns.hostA, visitorConf("stcp", 6002, "right-key", "carol"));
    await carol.waitFor(/start stcp visitor success/);
    assertEquals((await lab.send(lab.ns.hostA, 6002, 1000)).n, 0);
    await carol.waitFor(/failed: user \[carol\] is not allowed to visit \[alice\.svc\]/);
    // The server keeps serving: the good visitor still works.
    const again = await lab.send(lab.ns.hostA, 6000, 100_000);
    assertEquals(again.got, again.sent);
    assert(server.output.includes("refused"));
  },
});

Deno.test({
  name: "lab: sudp across two NATs — datagrams echoed with the right key, none with a wrong one",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using lab = await NatLab.create();
    await lab.server(`bindPort = ${SERVER_PORT}\nauth.token = "t"`);
    await lab.echo(lab.ns.hostB, 9053, true);
    const owner = await lab.client(lab.ns.hostB, ownerConf("sudp", 9053));
    await owner.waitFor(/\[svc\] start proxy success/);
    const good = await lab.client(lab.ns.hostA, visitorConf("sudp", 6053, "right-key"));
    await good.waitFor(/start sudp visitor success/);
    assertEquals(await lab.udpSend(lab.ns.hostA, 6053, 50), 50);
    const wrong = await lab.client(lab.ns.hostA, visitorConf("sudp", 6054, "guessed"));
    await wrong.waitFor(/start sudp visitor success/);
    assertEquals(await lab.udpSend(lab.ns.hostA, 6054, 2), 0);
    await owner.waitFor(/refused: wrong secret key/);
  },
});
