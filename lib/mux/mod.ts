/**
 * Stream multiplexer: many independent, flow-controlled byte streams over one
 * connection. Wire format and behaviour: `docs/mux.md`.
 *
 * @example
 * ```ts
 * import { MuxSession } from "./mod.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const dialed = Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const server = new MuxSession(await listener.accept(), { client: false });
 * const client = new MuxSession(await dialed, { client: true });
 * const s = client.open();
 * await s.write(new TextEncoder().encode("hi"));
 * const peer = await server.accept();
 * ```
 *
 * @module
 */

export { type MuxOptions, MuxSession } from "./session.ts";
export { MuxStream } from "./stream.ts";
export * as frame from "./frame.ts";
