/**
 * `plugin.type = "static_file"`: serves the files under `localPath` over
 * HTTP (GET and HEAD), below the URL prefix `/<stripPrefix>/`, with Basic
 * auth when `httpUser`/`httpPassword` are set.
 *
 * Safety: every path segment is decoded and checked (no `..`, no encoded
 * `/`, `\` or NUL), and the real path of what is served (symbolic links
 * resolved) must lie inside `localPath`. Directories are not listed; a
 * directory's `index.html` is served if present. Compression is left to
 * `Deno.serve`, which gzips compressible types when the client accepts it.
 *
 * @example
 * ```toml
 * [[proxies]]
 * name = "files"
 * type = "tcp"
 * remotePort = 6000
 * plugin.type = "static_file"
 * plugin.localPath = "/tmp/files"
 * plugin.stripPrefix = "static"
 * plugin.httpUser = "abc"
 * plugin.httpPassword = "abc"
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";
import { Credentials } from "./credentials.ts";
import { LoopbackHttpServer } from "./http_server.ts";
import {
  type ClientPlugin,
  type PluginContext,
  type PluginOptions,
  requireOption,
} from "./plugin.ts";
import { registerPlugin } from "./registry.ts";

/** frp's delay before answering a failed login, to slow password guessing. */
export const AUTH_FAIL_DELAY_MS = 200;

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  htm: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  json: "application/json",
  txt: "text/plain; charset=utf-8",
  md: "text/markdown; charset=utf-8",
  xml: "application/xml",
  svg: "image/svg+xml",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  ico: "image/x-icon",
  pdf: "application/pdf",
  wasm: "application/wasm",
  woff: "font/woff",
  woff2: "font/woff2",
  mp4: "video/mp4",
};

/**
 * The MIME type for a file name, by extension.
 *
 * @example
 * ```ts
 * import { contentType } from "./static_file.ts";
 * contentType("index.html"); // "text/html; charset=utf-8"
 * ```
 */
export function contentType(name: string): string {
  const dot = name.lastIndexOf(".");
  return (dot >= 0 && CONTENT_TYPES[name.slice(dot + 1).toLowerCase()]) ||
    "application/octet-stream";
}

/**
 * Decodes the segments of a URL path below the prefix; undefined when one
 * is unsafe (`..`, `.`, or an encoded `/`, `\` or NUL).
 *
 * @example
 * ```ts
 * import { safeSegments } from "./static_file.ts";
 * safeSegments("docs/a%20b.txt"); // ["docs", "a b.txt"]
 * safeSegments("..%2fetc%2fpasswd"); // undefined
 * ```
 */
export function safeSegments(rest: string): string[] | undefined {
  const out: string[] = [];
  for (const raw of rest.split("/")) {
    if (raw === "") continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (seg === "." || seg === ".." || /[\/\\\0]/.test(seg)) return undefined;
    out.push(seg);
  }
  return out;
}

/** See the module doc. */
export class StaticFilePlugin implements ClientPlugin {
  #server: LoopbackHttpServer;
  #root: string;
  #prefix: string;
  #creds: Credentials;

  /**
   * @param options `localPath`, `stripPrefix`, `httpUser`, `httpPassword`
   * @param ctx the proxy's logger
   */
  constructor(options: PluginOptions, readonly ctx: PluginContext) {
    const localPath = requireOption(options, "localPath");
    try {
      this.#root = Deno.realPathSync(localPath);
    } catch (err) {
      throw new Error(`localPath ${localPath}: ${(err as Error).message}`);
    }
    const strip = (options.stripPrefix ?? "").replace(/^\/+|\/+$/g, "");
    this.#prefix = strip ? `/${strip}/` : "/";
    this.#creds = new Credentials(options.httpUser ?? "", options.httpPassword ?? "");
    this.#server = new LoopbackHttpServer((req, visitor) => this.#serve(req, visitor), ctx.log);
  }

  async #serve(req: Request, visitor: StartWorkConn): Promise<Response> {
    if (!this.#creds.checkBasic(req.headers.get("authorization"))) {
      await new Promise((r) => setTimeout(r, AUTH_FAIL_DELAY_MS));
      return new Response("unauthorized\n", {
        status: 401,
        headers: { "www-authenticate": 'Basic realm="Restricted"' },
      });
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    const path = new URL(req.url).pathname;
    if (!path.startsWith(this.#prefix)) return notFound();
    const segments = safeSegments(path.slice(this.#prefix.length));
    if (!segments) {
      this.ctx.log.warn(`static_file: refused path ${path} from ${visitor.srcAddr}`);
      return new Response("invalid URL path\n", { status: 400 });
    }
    let file = [this.#root, ...segments].join("/");
    let info!: Deno.FileInfo;
    // Resolved after every step, so no symbolic link can lead outside the root.
    const resolve = async (name: string) => {
      const real = await Deno.realPath(name);
      return real === this.#root || real.startsWith(this.#root + "/") ? real : undefined;
    };
    try {
      let real = await resolve(file);
      if (real) {
        info = await Deno.stat(real);
        if (info.isDirectory) {
          if (!path.endsWith("/")) {
            return new Response(null, { status: 301, headers: { location: `${path}/` } });
          }
          real = await resolve(`${real}/index.html`);
          if (real) info = await Deno.stat(real);
        }
      }
      if (!real) {
        this.ctx.log.warn(`static_file: ${path} leads outside localPath, refused`);
        return new Response("forbidden\n", { status: 403 });
      }
      file = real;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return notFound();
      if (err instanceof Deno.errors.PermissionDenied) {
        return new Response("forbidden\n", { status: 403 });
      }
      throw err;
    }
    if (!info.isFile) return notFound();
    const headers = new Headers({
      "content-type": contentType(file),
      "content-length": String(info.size),
      "accept-ranges": "bytes",
    });
    if (info.mtime) headers.set("last-modified", info.mtime.toUTCString());
    const since = Date.parse(req.headers.get("if-modified-since") ?? "");
    if (info.mtime && since >= Math.floor(info.mtime.getTime() / 1000) * 1000) {
      return new Response(null, { status: 304, headers });
    }
    const range = parseRange(req.headers.get("range"), info.size);
    if (range === "unsatisfiable") {
      headers.set("content-range", `bytes */${info.size}`);
      headers.set("content-length", "0");
      return new Response(null, { status: 416, headers });
    }
    let status = 200;
    if (range) {
      status = 206;
      headers.set("content-range", `bytes ${range.start}-${range.end}/${info.size}`);
      headers.set("content-length", String(range.end - range.start + 1));
    }
    if (req.method === "HEAD") return new Response(null, { status, headers });
    const handle = await Deno.open(file);
    if (!range) return new Response(handle.readable, { status, headers });
    return new Response(fileSlice(handle, range.start, range.end + 1), { status, headers });
  }

  /** Relays the user's bytes to the internal server. */
  handle(conn: Duplex, start: StartWorkConn): Promise<void> {
    return this.#server.bridge.bridge(conn, start);
  }

  /** Stops the internal server. */
  close(): void {
    this.#server.close();
  }
}

/**
 * One `Range: bytes=` range resolved against `size` (inclusive end), null to
 * serve the whole file (no header, a malformed one, or several ranges, which
 * a plain 200 also satisfies), or "unsatisfiable" for 416.
 *
 * @example
 * ```ts
 * import { parseRange } from "./static_file.ts";
 * parseRange("bytes=-5", 100); // { start: 95, end: 99 }
 * ```
 */
export function parseRange(
  header: string | null,
  size: number,
): { start: number; end: number } | null | "unsatisfiable" {
  const m = header?.match(/^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i);
  if (!m || (m[1] === "" && m[2] === "")) return null;
  let start: number;
  let end: number;
  if (m[1] === "") {
    // A suffix: the last N bytes.
    const n = Number(m[2]);
    if (n === 0) return "unsatisfiable";
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (Number(m[2] || start) < start) return null;
  }
  return start >= size ? "unsatisfiable" : { start, end };
}

/** Bytes `from` up to `to` (exclusive) of an open file, closing it at the end. */
function fileSlice(file: Deno.FsFile, from: number, to: number): ReadableStream<Uint8Array> {
  let pos = from;
  return new ReadableStream<Uint8Array>({
    async start() {
      await file.seek(from, Deno.SeekMode.Start);
    },
    async pull(controller) {
      // A fresh chunk each time: the stream hands it to the response, which owns it.
      const chunk = new Uint8Array(Math.min(64 * 1024, to - pos));
      const n = chunk.length > 0 ? await file.read(chunk) : null;
      if (n === null) {
        file.close();
        controller.close();
        return;
      }
      pos += n;
      controller.enqueue(chunk.subarray(0, n));
    },
    cancel() {
      file.close();
    },
  });
}

function notFound(): Response {
  return new Response("404 page not found\n", { status: 404 });
}

registerPlugin("static_file", (options, ctx) => new StaticFilePlugin(options, ctx));
