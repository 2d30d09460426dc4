/**
 * A real OpenID provider for the OIDC tests: panva's `oidc-provider` (an
 * OpenID-certified implementation) on loopback, run as its own process by
 * `startOidcProvider` in `tests/_oidc.ts`. It issues JWT access tokens by
 * the client-credentials grant; the resource indicator (`resource`) is the
 * token's audience (default `urn:dfrp`), and a client whose id contains "short"
 * gets 2-second tokens.
 *
 * Usage: `deno run -A tests/_oidc_provider.ts <port> <jwks.json> <clients.json>`;
 * prints `oidc provider ready at <issuer>` once it listens.
 *
 * @module
 */

import Provider from "oidc-provider";

const [portArg, jwksPath, clientsPath] = Deno.args;
const port = Number(portArg);
const issuer = `http://127.0.0.1:${port}`;
const jwks = JSON.parse(await Deno.readTextFile(jwksPath));
const clients = JSON.parse(await Deno.readTextFile(clientsPath)) as Array<
  { client_id: string; client_secret: string }
>;

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    ...c,
    grant_types: ["client_credentials"],
    redirect_uris: [],
    response_types: [],
  })),
  jwks,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => "urn:dfrp",
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx: unknown, resource: string, client: { clientId: string }) => ({
        scope: "frp",
        audience: resource,
        accessTokenFormat: "jwt",
        accessTokenTTL: client.clientId.includes("short") ? 2 : 300,
        jwt: { sign: { alg: "RS256" } },
      }),
    },
  },
});
provider.listen(port, "127.0.0.1", () => {
  console.log(`oidc provider ready at ${issuer}`);
});
