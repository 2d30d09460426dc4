/**
 * `auth.method = "oidc"` end to end: real server.ts / client.ts processes and
 * a real OpenID provider (panva's oidc-provider, tests/_oidc_provider.ts) on
 * loopback issuing client-credentials JWT access tokens.
 */

import { assert, assertEquals, assertMatch } from "./_assert.ts";
import {
  DfrpProcess,
  echoServer,
  eventually,
  freePort,
  roundTrip,
  startClient,
  startServer,
  tempFile,
} from "./_harness.ts";
import {
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  type JWK,
  SignJWT,
  UnsecuredJWT,
} from "jose";

const ROOT = new URL("../", import.meta.url).pathname;
const hello = new TextEncoder().encode("hello oidc");
/** Every client the provider knows; the secret is the id reversed. */
const CLIENTS = ["alice", "bob", "mallory", "shorty"];
const secretOf = (id: string) => [...id].reverse().join("");

/** A signing key as the provider's JWKS holds it (private part included). */
async function signingKey(kid: string): Promise<{ jwk: JWK; key: CryptoKey }> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  return {
    jwk: { ...(await exportJWK(privateKey)), kid, alg: "RS256", use: "sig" },
    key: privateKey,
  };
}

/** oidc-provider in its own process on `port`, signing with `keys` (the first signs). */
async function startProvider(port: number, keys: JWK[]): Promise<DfrpProcess> {
  const jwks = await tempFile(JSON.stringify({ keys }), "jwks.json");
  const clients = await tempFile(
    JSON.stringify(CLIENTS.map((id) => ({ client_id: id, client_secret: secretOf(id) }))),
    "clients.json",
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${ROOT}tests/_oidc_provider.ts`, String(port), jwks, clients],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const proc = new DfrpProcess(child, "oidc-provider");
  await proc.waitFor(/oidc provider ready at/, 30_000);
  return proc;
}

/** A token straight from the provider's token endpoint (as a user's script would get one). */
async function fetchToken(issuer: string, id: string, resource = "urn:dfrp"): Promise<string> {
  const resp = await fetch(`${issuer}/token`, {
    method: "POST",
    headers: {
      authorization: `Basic ${btoa(`${id}:${secretOf(id)}`)}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ grant_type: "client_credentials", resource }),
  });
  const body = await resp.json();
  assertEquals(resp.status, 200, JSON.stringify(body));
  return body.access_token;
}

function serverToml(issuer: string, extra = ""): string {
  return `auth.method = "oidc"
auth.oidc.issuer = "${issuer}"
auth.oidc.audience = "urn:dfrp"
auth.oidc.jwksRefetchInterval = -1
${extra}`;
}

/** A client that gets its token by the client-credentials grant as `id`. */
function grantClientToml(serverPort: number, issuer: string, id: string, extra = ""): string {
  return `serverAddr = "127.0.0.1"
serverPort = ${serverPort}
auth.method = "oidc"
auth.oidc.clientID = "${id}"
auth.oidc.clientSecret = "${secretOf(id)}"
auth.oidc.audience = "urn:dfrp"
auth.oidc.tokenEndpointURL = "${issuer}/token"
auth.oidc.additionalEndpointParams.resource = "urn:dfrp"
${extra}`;
}

/** A client that sends the token in `tokenFile` (auth.oidc.tokenSource). */
function fileClientToml(serverPort: number, tokenFile: string, extra = ""): string {
  return `serverAddr = "127.0.0.1"
serverPort = ${serverPort}
auth.method = "oidc"
auth.oidc.tokenSource.type = "file"
auth.oidc.tokenSource.file.path = "${tokenFile}"
${extra}`;
}

function tcpProxy(name: string, localPort: number, remotePort: number): string {
  return `
[[proxies]]
name = "${name}"
type = "tcp"
localIP = "127.0.0.1"
localPort = ${localPort}
remotePort = ${remotePort}
`;
}

async function assertProxied(port: number): Promise<void> {
  const back = await eventually(async () => {
    const got = await roundTrip(port, hello);
    if (got.length !== hello.length) throw new Error(`proxy ${port} not up yet`);
    return got;
  });
  assertEquals(new TextDecoder().decode(back), "hello oidc");
}

/** Runs a client with `config` that must be refused for `reason`; returns its output. */
async function refusedClient(config: string, reason: RegExp): Promise<string> {
  await using client = await startClient(config, false);
  await client.waitFor(reason, 20_000);
  assert(!client.output.includes("login to server success"), client.output);
  return client.output;
}

Deno.test("oidc: a client-credentials token logs in and proxies work, across key rotation", async () => {
  const providerPort = freePort();
  const issuer = `http://127.0.0.1:${providerPort}`;
  const first = await signingKey("k1");
  const provider = await startProvider(providerPort, [first.jwk]);
  try {
    using echo = echoServer();
    await using server = await startServer(serverToml(issuer));
    const remote1 = freePort();
    await using c1 = await startClient(
      grantClientToml(server.port, issuer, "alice", tcpProxy("a", echo.port, remote1)),
    );
    await assertProxied(remote1);
    assertMatch(server.output, /user \[\] run id/);

    // The issuer rotates: the old key is gone, a new one (new kid) signs.
    await provider.stop();
    const second = await signingKey("k2");
    await using rotated = await startProvider(providerPort, [second.jwk]);
    const remote2 = freePort();
    await using c2 = await startClient(
      grantClientToml(server.port, issuer, "bob", tcpProxy("b", echo.port, remote2)),
    );
    await assertProxied(remote2);
    // The token really was signed by the new key.
    const token = await fetchToken(issuer, "bob");
    assertEquals(
      decodeProtectedHeader(token).kid,
      "k2",
    );
    await assertProxied(remote1);
    assert(c1.output.includes("login to server success"));
    assertMatch(rotated.output, /oidc provider ready/);
    assert(c2.output.includes("login to server success"));
  } finally {
    await provider.stop();
  }
});

Deno.test("oidc: expired, wrong-audience, foreign-key and unsigned tokens are refused and rate-limited", async () => {
  const providerPort = freePort();
  const issuer = `http://127.0.0.1:${providerPort}`;
  const real = await signingKey("k1");
  await using _provider = await startProvider(providerPort, [real.jwk]);
  await using server = await startServer(serverToml(issuer, "auth.maxFailedLogins = 4"));
  const tokenFile = await tempFile("", "token");
  const tryToken = async (token: string, reason: RegExp) => {
    await Deno.writeTextFile(tokenFile, token);
    return await refusedClient(fileClientToml(server.port, tokenFile), reason);
  };

  // Expired: a real 2-second token from the provider, used after it ran out.
  const short = await fetchToken(issuer, "shorty");
  const exp = decodeJwt(short).exp!;
  while (Date.now() / 1000 <= exp + 1) await new Promise((r) => setTimeout(r, 200));
  await tryToken(short, /OIDC access token refused: it expired at/);

  // Issued by the provider, but for another audience.
  await tryToken(
    await fetchToken(issuer, "alice", "urn:other"),
    /audience "urn:other" is not \[urn:dfrp\]/,
  );

  // Right claims, same kid as the issuer's key, signed by someone else's key.
  const foreign = await signingKey("k1");
  const claims = { sub: "alice", client_id: "alice" };
  const forged = await new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: "k1", typ: "at+jwt" })
    .setIssuer(issuer).setAudience("urn:dfrp").setIssuedAt().setExpirationTime("5m")
    .sign(foreign.key);
  await tryToken(forged, /signature does not verify/);

  // Unsigned (alg none): the fourth failure from this address starts the cooldown.
  const unsigned = new UnsecuredJWT(claims).setIssuer(issuer).setAudience("urn:dfrp")
    .setIssuedAt().setExpirationTime("5m").encode();
  const out = await tryToken(unsigned, /unsigned \(alg none\)/);
  assertMatch(out, /too many failed logins from 127\.0\.0\.1/);

  // A foreign key with a kid the issuer never published: refused too.
  const stranger = await signingKey("nobody");
  const strangerToken = await new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: "nobody" })
    .setIssuer(issuer).setAudience("urn:dfrp").setIssuedAt().setExpirationTime("5m")
    .sign(stranger.key);
  await tryToken(strangerToken, /not signed by a key the issuer publishes/);

  // A right token still gets in from the cooling-down address.
  using echo = echoServer();
  const remote = freePort();
  await Deno.writeTextFile(tokenFile, await fetchToken(issuer, "alice"));
  await using ok = await startClient(
    fileClientToml(server.port, tokenFile, tcpProxy("ok", echo.port, remote)),
  );
  await assertProxied(remote);
  assertMatch(server.output, /login from \S+ refused: authorization failed: OIDC access token/);
  assert(ok.output.includes("login to server success"));
});

Deno.test("oidc: the token's sub picks the [[auth.users]] entry", async () => {
  const providerPort = freePort();
  const issuer = `http://127.0.0.1:${providerPort}`;
  await using _provider = await startProvider(providerPort, [(await signingKey("k1")).jwk]);
  const alicePort = freePort();
  await using server = await startServer(serverToml(
    issuer,
    `
[[auth.users]]
user = "alice"
allowPorts = [{ single = ${alicePort} }]

[[auth.users]]
user = "bob"
`,
  ));
  using echo = echoServer();
  await using alice = await startClient(
    grantClientToml(
      server.port,
      issuer,
      "alice",
      tcpProxy("mine", echo.port, alicePort) + tcpProxy("not-mine", echo.port, freePort()),
    ),
  );
  await assertProxied(alicePort);
  await alice.waitFor(/\[not-mine\] start error: .*not allowed/);
  assertMatch(server.output, /user \[alice\] run id/);

  await refusedClient(
    grantClientToml(server.port, issuer, "mallory"),
    /no \[\[auth\.users\]\] entry for the token's sub \[mallory\]/,
  );
  await refusedClient(
    grantClientToml(server.port, issuer, "alice", 'user = "bob"'),
    /user \[bob\] does not match the token's sub \[alice\]/,
  );
});

Deno.test("oidc: additionalScopes puts the token on heartbeats and pooled work connections", async () => {
  const providerPort = freePort();
  const issuer = `http://127.0.0.1:${providerPort}`;
  await using _provider = await startProvider(providerPort, [(await signingKey("k1")).jwk]);
  using echo = echoServer();

  // HeartBeats: every Ping carries the current token of the login's sub.
  await using server = await startServer(
    serverToml(issuer, 'auth.additionalScopes = ["HeartBeats"]'),
  );
  const tokenFile = await tempFile(await fetchToken(issuer, "alice"), "token");
  const beat = `transport.heartbeatInterval = 1\ntransport.heartbeatTimeout = 30\n`;
  const remote = freePort();
  await using client = await startClient(fileClientToml(
    server.port,
    tokenFile,
    `auth.additionalScopes = ["HeartBeats"]\n${beat}${tcpProxy("hb", echo.port, remote)}`,
  ));
  await assertProxied(remote);
  // Several heartbeats later it is still logged in; then its token turns into bob's.
  await client.waitFor(/start proxy success/);
  await new Promise((r) => setTimeout(r, 2_500));
  assert(!server.output.includes("heartbeat authorization failed"), server.output);
  await Deno.writeTextFile(tokenFile, await fetchToken(issuer, "bob"));
  await server.waitFor(/heartbeat authorization failed: the token's sub \[bob\] is not the one/);

  // A client that does not send tokens on heartbeats is dropped at its first one.
  await using bare = await startClient(fileClientToml(server.port, tokenFile, beat));
  await bare.waitFor(/heartbeat authorization failed: no OIDC access token was sent/);

  // NewWorkConns (tcpMux off: work connections are pooled and dialed separately).
  await using plain = await startServer(serverToml(
    issuer,
    'transport.tcpMux = false\nauth.additionalScopes = ["NewWorkConns"]',
  ));
  const pooled = freePort();
  await using withScope = await startClient(grantClientToml(
    plain.port,
    issuer,
    "alice",
    `transport.tcpMux = false\nauth.additionalScopes = ["NewWorkConns"]\n` +
      tcpProxy("pooled", echo.port, pooled),
  ));
  await assertProxied(pooled);
  const unscoped = freePort();
  await using withoutScope = await startClient(grantClientToml(
    plain.port,
    issuer,
    "bob",
    `transport.tcpMux = false\n` + tcpProxy("unscoped", echo.port, unscoped),
  ));
  await withoutScope.waitFor(/\[unscoped\] start proxy success/);
  await plain.waitFor(/work connection authorization failed: no OIDC access token was sent/);
  assert(withScope.output.includes("login to server success"));
});

Deno.test("oidc: an unreachable issuer refuses logins with the reason, not counted as wrong proofs", async () => {
  const issuer = `http://127.0.0.1:${freePort()}`; // nothing listens there
  await using server = await startServer(serverToml(issuer, "auth.maxFailedLogins = 1"));
  const tokenFile = await tempFile("eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "token");
  for (let i = 0; i < 2; i++) {
    const out = await refusedClient(
      fileClientToml(server.port, tokenFile),
      /login to the server failed: cannot read the OIDC discovery document/,
    );
    assert(!out.includes("too many failed logins"), out);
  }
});

Deno.test("oidc: skipExpiryCheck accepts an expired token; skipIssuerCheck another issuer name", async () => {
  const providerPort = freePort();
  const issuer = `http://127.0.0.1:${providerPort}`;
  await using _provider = await startProvider(providerPort, [(await signingKey("k1")).jwk]);
  const tokenFile = await tempFile(await fetchToken(issuer, "shorty"), "token");
  const exp = decodeJwt(await Deno.readTextFile(tokenFile)).exp!;
  while (Date.now() / 1000 <= exp + 1) await new Promise((r) => setTimeout(r, 200));
  await using lenient = await startServer(serverToml(issuer, "auth.oidc.skipExpiryCheck = true"));
  await using expired = await startClient(fileClientToml(lenient.port, tokenFile));
  assert(expired.output.includes("login to server success"));

  // The same provider named differently (127.1 is 127.0.0.1): its discovery document and its
  // tokens name another issuer.
  await Deno.writeTextFile(tokenFile, await fetchToken(issuer, "alice"));
  const alias = `http://127.1:${providerPort}`;
  await using strict = await startServer(serverToml(alias));
  await refusedClient(
    fileClientToml(strict.port, tokenFile),
    new RegExp(`names issuer \\[${issuer.replace(/\./g, "\\.")}\\], not \\[http://127\\.1:`),
  );
  await using skipping = await startServer(serverToml(alias, "auth.oidc.skipIssuerCheck = true"));
  await using accepted = await startClient(fileClientToml(skipping.port, tokenFile));
  assert(accepted.output.includes("login to server success"));
});
