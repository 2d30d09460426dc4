/**
 * What the client knows about its servers' identities, like OpenSSH's
 * `known_hosts`: the certificate fingerprint each `serverAddr:serverPort`
 * showed on first use, in `known_servers` in the client's state directory,
 * one `host:port FINGERPRINT` line each. A later connection that shows
 * another certificate is refused with {@linkcode ServerIdentityChanged}.
 * `transport.tls.serverFingerprint` pins the fingerprint up front instead;
 * `transport.tls.trustedCaFile` (a CA verifies the server) bypasses both.
 *
 * @example
 * ```ts
 * import { checkServerIdentity } from "./known_servers.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * const status = checkServerIdentity(defaultClientConfig(), "AB:CD:...");
 * ```
 *
 * @module
 */

import type { ClientConfig } from "../config/mod.ts";
import { normalizeFingerprint } from "./fingerprint.ts";

/** The file's name inside the state directory. */
export const KNOWN_SERVERS_FILE = "known_servers";

/**
 * How the fingerprint a server showed relates to what the client knew:
 * `pinned` (matches `transport.tls.serverFingerprint`), `known` (matches
 * `known_servers`) or `new` (first use; remember it after the login).
 */
export type IdentityStatus = "pinned" | "known" | "new";

/** The server showed another certificate than the one the client knows or pins. */
export class ServerIdentityChanged extends Error {
  override name = "ServerIdentityChanged";
}

/** `host:port` as `known_servers` keys it (IPv6 in brackets). */
export function serverKey(cfg: ClientConfig): string {
  const host = cfg.serverAddr.includes(":") ? `[${cfg.serverAddr}]` : cfg.serverAddr;
  return `${host}:${cfg.serverPort}`;
}

function knownServersPath(cfg: ClientConfig): string | null {
  return cfg.stateDir ? `${cfg.stateDir}/${KNOWN_SERVERS_FILE}` : null;
}

function readKnown(path: string): Map<string, string> {
  const known = new Map<string, string>();
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return known;
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  for (const line of text.split("\n")) {
    const [key, fp] = line.trim().split(/\s+/);
    if (!key || key.startsWith("#") || !fp) continue;
    const norm = normalizeFingerprint(fp);
    if (norm) known.set(key, norm);
  }
  return known;
}

/**
 * Compares `fingerprint` (the certificate the server just showed) with the
 * pinned or remembered one; throws {@linkcode ServerIdentityChanged} with
 * both fingerprints and how to accept the new one when they differ.
 *
 * @example
 * ```ts
 * import { checkServerIdentity } from "./known_servers.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * checkServerIdentity(defaultClientConfig(), "AB:CD"); // "new"
 * ```
 */
export function checkServerIdentity(cfg: ClientConfig, fingerprint: string): IdentityStatus {
  const key = serverKey(cfg);
  const pin = cfg.transport.tls.serverFingerprint;
  if (pin) {
    const want = normalizeFingerprint(pin);
    if (want === fingerprint) return "pinned";
    throw new ServerIdentityChanged(
      `the server ${key} showed a certificate with SHA-256 fingerprint ${fingerprint}, but ` +
        `transport.tls.serverFingerprint pins ${want ?? pin}. Someone may be intercepting the ` +
        "connection (a man in the middle). If the server really has a new identity, compare the " +
        "fingerprint dfrps printed at start-up and set transport.tls.serverFingerprint to it.",
    );
  }
  const path = knownServersPath(cfg);
  if (!path) return "new";
  const known = readKnown(path).get(key);
  if (known === undefined) return "new";
  if (known === fingerprint) return "known";
  throw new ServerIdentityChanged(
    `the server ${key} showed a certificate with SHA-256 fingerprint ${fingerprint}, but ` +
      `${path} remembers ${known}. Someone may be intercepting the connection (a man in the ` +
      "middle), or the server got a new identity. If the change is expected (compare the " +
      "fingerprint dfrps printed at start-up), accept it: delete the line for " +
      `${key} from ${path}, or set transport.tls.serverFingerprint = "${fingerprint}".`,
  );
}

/**
 * Remembers `fingerprint` for the configured server in `known_servers`
 * (no-op without a state directory). Returns the file written, or null.
 *
 * @example
 * ```ts
 * import { rememberServer } from "./known_servers.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * rememberServer({ ...defaultClientConfig(), stateDir: "/tmp/dfrpc" }, "AB:CD");
 * ```
 */
export function rememberServer(cfg: ClientConfig, fingerprint: string): string | null {
  const path = knownServersPath(cfg);
  if (!path) return null;
  const key = serverKey(cfg);
  if (readKnown(path).has(key)) return path;
  Deno.mkdirSync(cfg.stateDir, { recursive: true, mode: 0o700 });
  Deno.writeTextFileSync(path, `${key} ${fingerprint}\n`, { append: true, mode: 0o600 });
  return path;
}
