/**
 * The gateway's SSH host key, found as frps finds it: `privateKeyFile` if
 * set; otherwise the key at `autoGenPrivateKeyPath`, generated (ed25519) and
 * saved there with mode 0600 the first time; with neither, a fresh key per
 * start (clients will then see the host key change).
 *
 * @example
 * ```ts
 * import { loadHostKey } from "./host_key.ts";
 * const pem = await loadHostKey({ privateKeyFile: "", autoGenPrivateKeyPath: "" });
 * console.log(pem.startsWith("-----BEGIN"));
 * ```
 *
 * @module
 */

import { loadSsh2 } from "./ssh2.ts";

/** The config keys that say where the host key lives. */
export interface HostKeyConfig {
  privateKeyFile: string;
  autoGenPrivateKeyPath: string;
}

/**
 * Reads (or makes) the host key; resolves to its PEM/OpenSSH text. Throws an
 * Error naming the file when it cannot be read or is not a private key.
 */
export async function loadHostKey(config: HostKeyConfig): Promise<string> {
  const ssh2 = await loadSsh2();
  let text = "";
  let source = "";
  if (config.privateKeyFile) {
    source = config.privateKeyFile;
    text = await readKey(source);
  } else {
    source = config.autoGenPrivateKeyPath;
    if (source) {
      try {
        text = await Deno.readTextFile(source);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw keyError(source, err);
      }
    }
    if (!text.trim()) {
      // ssh2 cannot parse about 3 in 1,000 of the ed25519 keys it generates
      // ("Malformed OpenSSH private key"): make another until one parses.
      for (let attempt = 0; attempt < 20; attempt++) {
        text = ssh2.utils.generateKeyPairSync("ed25519").private;
        if (!(ssh2.utils.parseKey(text) instanceof Error)) break;
      }
      if (source) {
        try {
          await Deno.writeTextFile(source, text, { mode: 0o600 });
        } catch (err) {
          if (!(err instanceof Deno.errors.NotCapable)) throw keyError(source, err);
          // dfrps runs without --allow-write by default: say how to get a key in.
          throw keyError(
            source,
            new Error(
              "cannot save the generated key without --allow-write; make one with " +
                `ssh-keygen -t ed25519 -N "" -f ${source} or set privateKeyFile`,
            ),
          );
        }
      }
    }
  }
  const parsed = ssh2.utils.parseKey(text);
  if (parsed instanceof Error || Array.isArray(parsed)) {
    const why = parsed instanceof Error ? parsed.message : "more than one key";
    throw new Error(`sshTunnelGateway host key ${source || "(generated)"}: ${why}`);
  }
  return text;
}

async function readKey(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw keyError(path, err);
  }
}

function keyError(path: string, err: unknown): Error {
  return new Error(`sshTunnelGateway host key ${path}: ${(err as Error).message}`);
}
