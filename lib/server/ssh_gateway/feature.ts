/**
 * Server feature "sshTunnelGateway": an SSH server on
 * `sshTunnelGateway.bindPort` that lets a user with only OpenSSH create a
 * proxy, e.g. `ssh -R :80:127.0.0.1:8080 v0@server -p 2200 tcp --remote_port 9000`.
 * Each connection becomes an {@linkcode SshTunnel}. With `authorizedKeysFile`
 * set only the keys listed there get in (the key's comment is its user);
 * without it anyone may connect but must pass the server's token (`--token`).
 *
 * Built on `npm:ssh2` (pure JavaScript, maintained, server and client side;
 * it loads and runs under Deno with no native add-on).
 *
 * @example
 * ```ts
 * import "./feature.ts"; // registers "sshTunnelGateway" with the server
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { registerServerFeature, type ServerFeature } from "../feature.ts";
import type { ServerServices } from "../services.ts";
import { type AuthorizedKey, parseAuthorizedKeys } from "./authorized_keys.ts";
import { loadHostKey } from "./host_key.ts";
import { type AuthContext, loadSsh2, type Ssh2 } from "./ssh2.ts";
import { SshTunnel } from "./tunnel.ts";

/** The feature's name in `ServerServices.features`. */
export const SSH_GATEWAY_FEATURE = "sshTunnelGateway";

async function startGateway(services: ServerServices): Promise<ServerFeature | null> {
  const config = services.config.sshTunnelGateway;
  if (!config.bindPort) return null;
  const log = services.log.with("sshTunnelGateway");
  const ssh2 = await loadSsh2();
  const hostKey = await loadHostKey(config);
  const keysFile = config.authorizedKeysFile;
  if (keysFile) {
    // Refuse to start on a broken file rather than refuse every user later.
    parseAuthorizedKeys(ssh2, await Deno.readTextFile(keysFile), keysFile);
  }
  const tunnels = new Set<SshTunnel>();
  const server = new ssh2.Server(
    { hostKeys: [hostKey], ident: "dfrp" },
    (client, info) => {
      const remote = `${info.ip}:${info.port}`;
      const tunnel = new SshTunnel(services, client, remote, !!keysFile);
      client.on("authentication", (ctx) => {
        if (!keysFile) return ctx.accept();
        checkKey(ssh2, ctx, keysFile, remote, log).then((user) => {
          if (user === null) return ctx.reject(["publickey"]);
          tunnel.keyUser = user;
          ctx.accept();
        });
      });
      client.on("error", (err) => log.debug(`${remote}: ${err.message}`));
      tunnel.listen();
      client.on("ready", () => {
        tunnels.add(tunnel);
        tunnel.run();
      });
      client.on("close", () => tunnels.delete(tunnel));
    },
  );
  const bindAddr = services.config.bindAddr;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.bindPort, bindAddr, () => resolve());
  });
  server.on("error", (err) => log.warn(`ssh gateway: ${err.message}`));
  log.info(`ssh tunnel gateway listen on ${bindAddr}:${server.address()?.port}`);
  return {
    close() {
      for (const tunnel of tunnels) tunnel.close("server stopping");
      server.close();
    },
  };
}

/**
 * Checks an offered key against the file (read afresh, so edits apply to the
 * next login): resolves to the key's user, or null to refuse.
 */
async function checkKey(
  ssh2: Ssh2,
  ctx: AuthContext,
  path: string,
  remote: string,
  log: ServerServices["log"],
): Promise<string | null> {
  if (ctx.method !== "publickey" || !ctx.key) return null;
  let keys: AuthorizedKey[];
  try {
    keys = parseAuthorizedKeys(ssh2, await Deno.readTextFile(path), path);
  } catch (err) {
    log.error(`load authorized keys file error: ${(err as Error).message}`);
    return null;
  }
  const offered = Buffer.from(ctx.key.data).toString("base64");
  const found = keys.find((k) => k.blob === offered);
  if (!found) {
    log.warn(`unknown public key (${ctx.key.algo}) from ${remote}, refused`);
    return null;
  }
  // Without a signature the client only asks whether the key would do.
  if (ctx.signature && ctx.blob) {
    if (found.key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) {
      log.warn(`bad signature for key of [${found.user}] from ${remote}, refused`);
      return null;
    }
  }
  return found.user;
}

registerServerFeature(SSH_GATEWAY_FEATURE, startGateway);
