/**
 * How long a new connection to `bindPort` may take over each handshake step
 * (magic, login, control stream): 10 s, or `DFRP_HANDSHAKE_TIMEOUT_MS` from
 * the environment (undocumented; tests shorten it). A peer that connects and
 * says nothing is dropped when it passes.
 *
 * @example
 * ```ts
 * import { handshakeTimeoutMs } from "./handshake_deadline.ts";
 * const ms = handshakeTimeoutMs(); // 10000 unless overridden
 * ```
 *
 * @module
 */

/** The default deadline of each handshake step. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** The deadline in force (read once per call; the server reads it at start-up). */
export function handshakeTimeoutMs(): number {
  let text: string | undefined;
  try {
    text = Deno.env.get("DFRP_HANDSHAKE_TIMEOUT_MS");
  } catch {
    // No --allow-env: the default.
  }
  const ms = Number(text);
  return text && Number.isFinite(ms) && ms > 0 ? ms : DEFAULT_HANDSHAKE_TIMEOUT_MS;
}
