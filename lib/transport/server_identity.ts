/**
 * The server's identity: the TLS certificate and key it keeps across
 * restarts, like an OpenSSH host key. Made on first start into the state
 * directory (`stateDir`) as `server_cert.pem` and `server_key.pem` (mode
 * 0600), read back on every later start. Clients remember its fingerprint
 * (`known_servers.ts`), so a changed identity is noticed.
 *
 * @example
 * ```ts
 * import { serverIdentity } from "./server_identity.ts";
 * const { cert, key } = await serverIdentity("/var/lib/dfrps");
 * ```
 *
 * @module
 */

import { type CertPair, selfSignedCert } from "./self_signed.ts";

/** File names inside the state directory. */
export const SERVER_CERT_FILE = "server_cert.pem";
/** The private key's file name; only its owner may read it. */
export const SERVER_KEY_FILE = "server_key.pem";

function readPair(dir: string): CertPair | null {
  try {
    return {
      cert: Deno.readTextFileSync(`${dir}/${SERVER_CERT_FILE}`),
      key: Deno.readTextFileSync(`${dir}/${SERVER_KEY_FILE}`),
    };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/**
 * Writes `text` to `path` only if nothing is there yet: a temp file linked
 * into place, so two servers starting at once on one state directory never
 * see half a file, and the second keeps the first one's identity.
 */
function createOnce(path: string, text: string, mode: number): boolean {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  Deno.writeTextFileSync(tmp, text, { mode, createNew: true });
  try {
    Deno.linkSync(tmp, path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return false;
    throw err;
  } finally {
    Deno.removeSync(tmp);
  }
}

/**
 * The server's certificate and key from `stateDir`, made there on first
 * use. With `stateDir` "" (the library API without one) the identity lives
 * in memory and changes with every start. Throws with the directory and a
 * hint when it cannot be read or written.
 *
 * @example
 * ```ts
 * import { serverIdentity } from "./server_identity.ts";
 * const pair = await serverIdentity(await Deno.makeTempDir());
 * ```
 */
export async function serverIdentity(stateDir: string): Promise<CertPair> {
  if (stateDir === "") return await selfSignedCert("dfrp");
  try {
    const found = readPair(stateDir);
    if (found) return found;
    Deno.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const made = await selfSignedCert("dfrp");
    // Key first: a certificate on disk always has its key beside it.
    const keyNew = createOnce(`${stateDir}/${SERVER_KEY_FILE}`, made.key, 0o600);
    if (keyNew) createOnce(`${stateDir}/${SERVER_CERT_FILE}`, made.cert, 0o644);
    for (let i = 0; i < 50; i++) {
      const pair = readPair(stateDir);
      if (pair) return pair;
      // Another server made the key and is writing the certificate now.
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`${SERVER_KEY_FILE} has no ${SERVER_CERT_FILE} beside it`);
  } catch (err) {
    throw new Error(
      `cannot keep the server identity in ${stateDir}: ${(err as Error).message} ` +
        "(make it writable, set --state-dir / stateDir to a writable folder, " +
        "or set transport.tls.certFile and keyFile)",
    );
  }
}
