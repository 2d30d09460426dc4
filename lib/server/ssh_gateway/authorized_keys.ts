/**
 * `authorizedKeysFile`: OpenSSH's authorized_keys format, one key a line,
 * optionally after options (`from="..."`, ignored here) and followed by a
 * comment. As in frps, the comment names the dfrp user the key logs in as.
 *
 * @example
 * ```ts
 * import { parseAuthorizedKeys } from "./authorized_keys.ts";
 * import { loadSsh2 } from "./ssh2.ts";
 * const ssh2 = await loadSsh2();
 * const keys = parseAuthorizedKeys(ssh2, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE... alice\n");
 * for (const k of keys) console.log(k.user);
 * ```
 *
 * @module
 */

import type { Ssh2, SshKey } from "./ssh2.ts";

/** One usable line of the file. */
export interface AuthorizedKey {
  /** The key blob, base64, as in the file: what a client's offered key is compared with. */
  blob: string;
  /** The line's comment, trimmed: the user this key logs in as ("" = none). */
  user: string;
  /** The parsed key, to check signatures. */
  key: SshKey;
}

/** Key types OpenSSH writes; a line's key starts at the first of these. */
const KEY_TYPE = /^(ssh-|ecdsa-sha2-|sk-ssh-|sk-ecdsa-)/;

/**
 * Parses the file's text. Throws an Error with the line number for a line
 * that holds no key it can read, like frps, which refuses a broken file.
 */
export function parseAuthorizedKeys(
  ssh2: Ssh2,
  text: string,
  path = "authorized_keys",
): AuthorizedKey[] {
  const out: AuthorizedKey[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith("#")) return;
    const fields = splitFields(line);
    const at = fields.findIndex((f) => KEY_TYPE.test(f));
    if (at < 0 || at + 1 >= fields.length) {
      throw new Error(`${path}:${i + 1}: no public key on this line`);
    }
    const [type, blob] = [fields[at], fields[at + 1]];
    const key = ssh2.utils.parseKey(`${type} ${blob}`);
    if (key instanceof Error || Array.isArray(key)) {
      const why = key instanceof Error ? key.message : "more than one key";
      throw new Error(`${path}:${i + 1}: ${why}`);
    }
    out.push({ blob, user: fields.slice(at + 2).join(" ").trim(), key });
  });
  return out;
}

/** Splits on blanks outside double quotes (options may quote blanks). */
function splitFields(line: string): string[] {
  const fields: string[] = [];
  let cur = "";
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === " " || ch === "\t")) {
      if (cur) fields.push(cur);
      cur = "";
    } else {
      cur += ch;
    }
  }
  if (cur) fields.push(cur);
  return fields;
}
