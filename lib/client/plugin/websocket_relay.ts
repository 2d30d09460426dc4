/**
 * WebSocket requests through the bridge plugins: the backend connection is
 * opened first (so a dead backend is a plain 502), then the user's request
 * is upgraded and messages are passed both ways until either side closes.
 *
 * `Deno.serve` hands out upgraded connections only as WebSocket objects, so
 * this relays messages, not bytes; other `Upgrade` protocols are not
 * supported.
 *
 * @example
 * ```ts
 * import { isWebSocketRequest, relayWebSocket } from "./websocket_relay.ts";
 * import { log } from "../../log.ts";
 * Deno.serve((req) =>
 *   isWebSocketRequest(req)
 *     ? relayWebSocket(req, "ws://127.0.0.1:8080/chat", new Headers(), log)
 *     : new Response("not a websocket", { status: 400 })
 * );
 * ```
 *
 * @module
 */

import type { Logger } from "../../log.ts";

/** How long the backend's WebSocket handshake may take. */
export const WS_OPEN_TIMEOUT_MS = 10_000;

// The Host header is ours to set (hostHeaderRewrite): Deno refuses it unless
// allowed. Made on first use, so importing the client costs no resource.
let client: Deno.HttpClient | undefined;

/**
 * Whether `req` asks for a WebSocket upgrade.
 *
 * @example
 * ```ts
 * import { isWebSocketRequest } from "./websocket_relay.ts";
 * isWebSocketRequest(new Request("http://a/", { headers: { upgrade: "websocket" } })); // true
 * ```
 */
export function isWebSocketRequest(req: Request): boolean {
  return req.headers.get("upgrade")?.toLowerCase() === "websocket";
}

/**
 * Opens `url` with `headers` (already edited: Host, X-Forwarded-For...),
 * then upgrades `req` and relays messages. A failed backend handshake
 * answers 502 and is logged.
 *
 * @example
 * ```ts
 * import { relayWebSocket } from "./websocket_relay.ts";
 * import { log } from "../../log.ts";
 * declare const req: Request;
 * const res = await relayWebSocket(req, "ws://127.0.0.1:8080/", new Headers(), log);
 * ```
 */
export async function relayWebSocket(
  req: Request,
  url: string,
  headers: Headers,
  log: Logger,
): Promise<Response> {
  const protocols = (req.headers.get("sec-websocket-protocol") ?? "")
    .split(",").map((p) => p.trim()).filter((p) => p);
  // The WebSocket client makes its own key, version and extension offer.
  for (const name of [...headers.keys()]) {
    if (name.startsWith("sec-websocket-")) headers.delete(name);
  }
  client ??= Deno.createHttpClient({ allowHost: true });
  const backend = new WebSocket(url, { protocols, headers, client });
  backend.binaryType = "arraybuffer";
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("handshake timed out")), WS_OPEN_TIMEOUT_MS);
      backend.onopen = () => {
        clearTimeout(timer);
        resolve();
      };
      backend.onerror = (e) => {
        clearTimeout(timer);
        reject(new Error((e as ErrorEvent).message || "handshake failed"));
      };
    });
  } catch (err) {
    backend.close();
    log.warn(`websocket to ${url}: ${(err as Error).message}`);
    return new Response(`bad gateway: websocket to ${url}: ${(err as Error).message}\n`, {
      status: 502,
    });
  }
  const { socket, response } = Deno.upgradeWebSocket(req, {
    ...(backend.protocol ? { protocol: backend.protocol } : {}),
  });
  // Messages may arrive before the user's side is open; hold them until then.
  const early: (string | ArrayBuffer)[] = [];
  backend.onmessage = (e) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(e.data);
    else early.push(e.data);
  };
  socket.onopen = () => {
    for (const data of early.splice(0)) socket.send(data);
  };
  socket.onmessage = (e) => {
    if (backend.readyState === WebSocket.OPEN) backend.send(e.data);
  };
  const closeOther = (other: WebSocket) => (e: CloseEvent) => {
    // 1005/1006 describe a missing close frame and may not be sent.
    const sendable = e.code === 1000 || (e.code >= 3000 && e.code < 5000);
    if (other.readyState === WebSocket.OPEN || other.readyState === WebSocket.CONNECTING) {
      try {
        if (sendable) other.close(e.code, e.reason);
        else other.close();
      } catch { /* already closing */ }
    }
  };
  backend.onclose = closeOther(socket);
  socket.onclose = closeOther(backend);
  backend.onerror = () => socket.readyState === WebSocket.OPEN && socket.close();
  socket.onerror = () => backend.readyState === WebSocket.OPEN && backend.close();
  return response;
}
