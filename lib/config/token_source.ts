/**
 * `auth.tokenSource` (frp's ValueSource): the token read from a file,
 * trimmed, at load time, so the rest of dfrp only ever sees `auth.token`.
 * A missing or unreadable file is a {@linkcode ConfigError}, which stops
 * start-up with exit code 1.
 *
 * @example
 * ```ts
 * import { resolveTokenSource } from "./token_source.ts";
 * const auth = { token: "", tokenSource: { type: "file", file: { path: "/etc/dfrp/token" } } };
 * await resolveTokenSource(auth, "frpc.toml"); // auth.token now holds the file's text, trimmed
 * ```
 *
 * @module
 */

import { ConfigError } from "./errors.ts";

/** The `auth` keys this reads and fills. */
export interface TokenAuth {
  token: string;
  tokenSource: { type: string; file: { path: string } };
}

/**
 * Fills `auth.token` from `auth.tokenSource` when its type is set; throws
 * {@linkcode ConfigError} naming `fileName` on any problem.
 */
export async function resolveTokenSource(auth: TokenAuth, fileName: string): Promise<void> {
  const source = auth.tokenSource;
  if (!source?.type) return;
  const fail = (message: string) => new ConfigError([`${fileName}: auth.tokenSource: ${message}`]);
  if (auth.token !== "") throw fail("cannot specify both auth.token and auth.tokenSource");
  if (source.type !== "file") throw fail(`type "${source.type}" is not supported (only "file")`);
  const path = source.file?.path ?? "";
  if (path === "") throw fail('file.path must be set when type is "file"');
  let text: string;
  try {
    // Relative to the working directory, as frp reads it.
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw fail(`failed to read file ${path}: ${(err as Error).message}`);
  }
  auth.token = text.trim();
}
