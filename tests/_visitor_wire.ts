/**
 * A visitor's request written by hand: a new stream on a logged-in mux (see `loggedInMux` in
 * tests/_wire.ts) that reads the server's hello and sends a `NewVisitorConn` whose fields the
 * test chooses (a wrong proof, a wrong type...).
 *
 * @example
 * ```ts
 * import { loggedInMux } from "./_wire.ts";
 * import { visitorStream } from "./_visitor_wire.ts";
 * await using client = await loggedInMux(7000, "t");
 * const stream = await visitorStream(client.mux, { proxyName: "secret", proof: "" });
 * ```
 *
 * @module
 */

import type { MuxSession, MuxStream } from "../lib/mux/mod.ts";
import { expectMessage, writeMessage } from "../lib/protocol/codec.ts";

/** The fields of the `NewVisitorConn` {@linkcode visitorStream} sends. */
export interface VisitorRequest {
  /** The proxy to visit. */
  proxyName: string;
  /** The proof of the secret key (hex of an HMAC), or anything else to test a refusal. */
  proof: string;
  /** stcp by default. */
  visitorType?: string;
  /** The owner's user; "" by default. */
  serverUser?: string;
}

/**
 * Opens a stream on `mux`, waits for the server's `ServerHello`, and sends a `NewVisitorConn`
 * for `request`; returns the stream, for the test to read the verdict or write at once.
 *
 * @example
 * ```ts
 * import { expectMessage } from "../lib/protocol/codec.ts";
 * import { loggedInMux } from "./_wire.ts";
 * import { visitorStream } from "./_visitor_wire.ts";
 * await using client = await loggedInMux(7000, "t");
 * const odd = await visitorStream(client.mux, { proxyName: "secret", proof: "not hex" });
 * console.log((await expectMessage(odd, "NewVisitorConnResp")).error);
 * ```
 */
export async function visitorStream(
  mux: MuxSession,
  { proxyName, proof, visitorType = "stcp", serverUser = "" }: VisitorRequest,
): Promise<MuxStream> {
  const stream = mux.open();
  await expectMessage(stream, "ServerHello");
  await writeMessage(stream, {
    type: "NewVisitorConn",
    proxyName,
    serverUser,
    visitorType,
    proof,
  });
  return stream;
}
