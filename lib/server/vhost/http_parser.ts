/**
 * HTTP/1.x message heads for the vhost reverse proxy: finding where a head
 * ends, parsing it into a start line and an ordered header list, writing it
 * back, and deciding how the body that follows is framed.
 *
 * Header bytes are kept as Latin-1 strings so that whatever a peer sent
 * (even non-ASCII bytes) reaches the other side unchanged.
 *
 * @example
 * ```ts
 * import { parseRequestHead, requestFraming, serializeRequestHead } from "./http_parser.ts";
 * const head = parseRequestHead(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
 * requestFraming(head); // { kind: "none" }
 * serializeRequestHead(head).length; // 27
 * ```
 *
 * @module
 */

/** A header as sent: original name spelling and value. */
export type Header = [name: string, value: string];

/** A parsed request line and headers. */
export interface RequestHead {
  method: string;
  /** The request-target as sent: "/path?q", or "http://host/path" in proxy form. */
  target: string;
  /** "HTTP/1.1" or "HTTP/1.0". */
  version: string;
  headers: Header[];
}

/** A parsed status line and headers. */
export interface ResponseHead {
  version: string;
  status: number;
  reason: string;
  headers: Header[];
}

/** How a message body is delimited. */
export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" };

/** The framings without a length, shared (read only): no object per message. */
const NO_BODY: Framing = Object.freeze({ kind: "none" });
const CHUNKED: Framing = Object.freeze({ kind: "chunked" });
const UNTIL_CLOSE: Framing = Object.freeze({ kind: "close" });

/** A malformed message; `status` is what to answer a client with. */
export class HttpError extends Error {
  /**
   * @param status the HTTP status to answer with (400, 431, 502...)
   * @param message what went wrong, for the log and the error page
   */
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * The index just past the blank line ending a head in `buf`, or -1. Bare LF
 * line ends are accepted, as most servers do. `from` lets a caller resume a
 * search after more bytes arrived.
 *
 * @example
 * ```ts
 * import { findHeadEnd } from "./http_parser.ts";
 * findHeadEnd(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\nbody"), 0); // 18
 * ```
 */
export function findHeadEnd(buf: Uint8Array, from: number): number {
  for (let i = buf.indexOf(LF, from); i >= 0; i = buf.indexOf(LF, i + 1)) {
    const next = buf[i + 1];
    if (next === LF) return i + 2;
    if (next === CR && buf[i + 2] === LF) return i + 3;
    if (i + 2 >= buf.length) return -1;
  }
  return -1;
}

/**
 * Bytes to a Latin-1 string, one char per byte.
 *
 * @example
 * ```ts
 * import { latin1 } from "./http_parser.ts";
 * latin1(new Uint8Array([0x48, 0x69])); // "Hi"
 * ```
 */
export function latin1(bytes: Uint8Array): string {
  // Heads are nearly always ASCII, where UTF-8 decoding (native) gives the
  // same string: one char per byte and no replacement character.
  const ascii = utf8.decode(bytes);
  if (ascii.length === bytes.length && !ascii.includes("\uFFFD")) return ascii;
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192) as unknown as number[]);
  }
  return out;
}

const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

/**
 * A Latin-1 string to bytes (chars above 0xFF are cut to their low byte).
 *
 * @example
 * ```ts
 * import { latin1Bytes } from "./http_parser.ts";
 * latin1Bytes("Hi"); // Uint8Array [72, 105]
 * ```
 */
export function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** `TOKEN_CHAR[c]` is 1 when char code `c` may appear in a header name (RFC 9110 tchar). */
const TOKEN_CHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TOKEN_CHAR[c.charCodeAt(0)] = 1;
}

/**
 * Checks a head (everything up to and including its blank line) and finds
 * its lines in the bytes: `onHeader` gets each header line's start, colon
 * and trimmed value bounds; the result is where the start line ends. Throws
 * {@linkcode HttpError} with `status` when malformed. Offsets are the same
 * in the Latin-1 text of the head (one char per byte). This runs for every
 * request and response through the vhost, where regular expressions and
 * repeated scans showed up in profiles: one pass over the bytes finds line
 * ends, colons and stray CR or NUL (header names are then checked a byte at
 * a time), and nothing is decoded.
 */
function scanLines(
  head: Uint8Array,
  status: number,
  onHeader: (lineStart: number, colon: number, valueStart: number, valueEnd: number) => void,
): number {
  const n = head.length;
  let firstEnd = n;
  let lineStart = 0;
  let colon = -1;
  for (let j = 0, i = 0; j <= n; j++) {
    // The end of the bytes ends the last line as an LF would.
    const c = j < n ? head[j] : LF;
    // Most bytes are letters: past every byte this loop looks for.
    if (c > 0x3a) continue;
    if (c === 0x3a) {
      if (colon < 0) colon = j;
      continue;
    }
    // A CR or NUL left inside a line could split it differently downstream.
    // A CR may only end a line (before its LF, or as the head's last byte).
    if (c === 0 || (c === CR && j + 1 < n && head[j + 1] !== LF)) {
      throw new HttpError(status, "stray CR or NUL in the message head");
    }
    if (c !== LF) continue;
    const lineEnd = j > lineStart && head[j - 1] === CR ? j - 1 : j;
    const start = lineStart;
    const at = colon;
    lineStart = j + 1;
    colon = -1;
    if (i++ === 0) {
      firstEnd = lineEnd;
      continue;
    }
    if (lineEnd === start) break;
    const c0 = head[start];
    if (c0 === 32 || c0 === 9) {
      throw new HttpError(status, "obsolete header line folding is not accepted");
    }
    let nameOk = at > start;
    for (let k = start; nameOk && k < at; k++) {
      const b = head[k];
      if (b >= 128 || TOKEN_CHAR[b] === 0) nameOk = false;
    }
    if (!nameOk) {
      const line = latin1(head.subarray(start, Math.min(lineEnd, start + 60)));
      throw new HttpError(status, `malformed header line "${line}"`);
    }
    let v = at + 1;
    let w = lineEnd;
    while (v < w && isSpace(head[v])) v++;
    while (w > v && isSpace(head[w - 1])) w--;
    onHeader(start, at, v, w);
  }
  return firstEnd;
}

/** Splits a head into its start line and headers; `status` is the error status to throw. */
function parseLines(head: Uint8Array, status: number): { first: string; headers: Header[] } {
  const headers: Header[] = [];
  const offsets: number[] = [];
  const firstEnd = scanLines(head, status, (lineStart, colon, v, w) => {
    offsets.push(lineStart, colon, v, w);
  });
  const text = latin1(head);
  for (let k = 0; k < offsets.length; k += 4) {
    headers.push([
      text.slice(offsets[k], offsets[k + 1]),
      text.slice(offsets[k + 2], offsets[k + 3]),
    ]);
  }
  return { first: text.slice(0, firstEnd), headers };
}

/** The lower-case names {@linkcode responseFraming} and {@linkcode keepsAlive} read. */
const FRAMING_NAMES = ["content-length", "transfer-encoding", "connection"].map((name) =>
  Uint8Array.from(name, (c) => c.charCodeAt(0))
);

/** Whether `head[at...]` is `lower` (lower-case ASCII), ignoring ASCII case. */
function nameIs(head: Uint8Array, at: number, lower: Uint8Array): boolean {
  for (let k = 0; k < lower.length; k++) {
    if ((head[at + k] | 0x20) !== lower[k]) return false;
  }
  return true;
}

/**
 * Like {@linkcode parseLines}, checking the whole head the same way, but
 * keeping only the headers that frame the message: no decoding of the rest.
 */
function parseFramingLines(head: Uint8Array, status: number): { first: string; headers: Header[] } {
  const headers: Header[] = [];
  const firstEnd = scanLines(head, status, (lineStart, colon, v, w) => {
    const length = colon - lineStart;
    for (const name of FRAMING_NAMES) {
      if (length !== name.length || !nameIs(head, lineStart, name)) continue;
      headers.push([latin1(head.subarray(lineStart, colon)), latin1(head.subarray(v, w))]);
      return;
    }
  });
  return { first: latin1(head.subarray(0, firstEnd)), headers };
}

/** Whitespace that `String.prototype.trim` would take off a header value. */
function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 0xa0;
}

/**
 * Parses a request head (everything up to and including the blank line).
 * Throws {@linkcode HttpError} 400 when malformed.
 *
 * @example
 * ```ts
 * import { parseRequestHead } from "./http_parser.ts";
 * const head = parseRequestHead(new TextEncoder().encode("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"));
 * head.target; // "/x"
 * ```
 */
export function parseRequestHead(head: Uint8Array): RequestHead {
  const { first, headers } = parseLines(head, 400);
  const sp1 = first.indexOf(" ");
  const sp2 = sp1 < 0 ? -1 : first.indexOf(" ", sp1 + 1);
  const method = first.slice(0, sp1);
  if (sp2 < 0 || sp2 === sp1 + 1 || first.includes(" ", sp2 + 1) || !TOKEN.test(method)) {
    throw new HttpError(400, `malformed request line "${first.slice(0, 80)}"`);
  }
  const version = first.slice(sp2 + 1);
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") {
    throw new HttpError(400, `unsupported protocol version "${version.slice(0, 20)}"`);
  }
  return { method, target: first.slice(sp1 + 1, sp2), version, headers };
}

/**
 * Parses a response head. Throws {@linkcode HttpError} 502 when malformed
 * (the backend's fault, not the user's). With `framingOnly` the head is
 * checked all the same, but `headers` holds only Content-Length,
 * Transfer-Encoding and Connection: enough for {@linkcode responseFraming}
 * and {@linkcode keepsAlive} when the head is passed on unchanged, without
 * decoding the rest.
 *
 * @example
 * ```ts
 * import { parseResponseHead } from "./http_parser.ts";
 * parseResponseHead(new TextEncoder().encode("HTTP/1.1 204 No Content\r\n\r\n")).status; // 204
 * ```
 */
export function parseResponseHead(head: Uint8Array, framingOnly = false): ResponseHead {
  const { first, headers } = framingOnly ? parseFramingLines(head, 502) : parseLines(head, 502);
  // `HTTP/1.x NNN[ reason]`, checked by hand: a regular expression's match
  // array per response showed up in the vhost's profile.
  const minor = first.charCodeAt(7);
  if (
    !first.startsWith("HTTP/1.") || (minor !== 0x30 && minor !== 0x31) ||
    first.charCodeAt(8) !== 32 || !isDigit(first.charCodeAt(9)) ||
    !isDigit(first.charCodeAt(10)) || !isDigit(first.charCodeAt(11)) ||
    (first.length > 12 && first.charCodeAt(12) !== 32)
  ) {
    throw new HttpError(502, `malformed status line from the backend "${first.slice(0, 80)}"`);
  }
  return {
    version: first.slice(0, 8),
    status: Number(first.slice(9, 12)),
    reason: first.slice(13),
    headers,
  };
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function serialize(startLine: string, headers: Header[], scratch?: Uint8Array): Uint8Array {
  let text = startLine + "\r\n";
  for (const [name, value] of headers) text += name + ": " + value + "\r\n";
  text += "\r\n";
  if (scratch) {
    // A fresh small Uint8Array costs more than parsing the head (see
    // docs/performance.md); ASCII text encodes byte for byte into the caller's
    // buffer. (Writing the chars one at a time instead was quicker in a loop
    // of its own, but slower in the server: see "second pass" there.)
    const { read, written } = utf8Encoder.encodeInto(text, scratch);
    if (read === text.length && written === read) return scratch.subarray(0, written);
  }
  return latin1Bytes(text);
}

/**
 * A request head as bytes: a view into `scratch` when it fits there (and
 * the head is ASCII), else a new array.
 *
 * @example
 * ```ts
 * import { serializeRequestHead } from "./http_parser.ts";
 * serializeRequestHead({ method: "GET", target: "/", version: "HTTP/1.1", headers: [["Host", "a"]] });
 * ```
 */
export function serializeRequestHead(head: RequestHead, scratch?: Uint8Array): Uint8Array {
  return serialize(`${head.method} ${head.target} ${head.version}`, head.headers, scratch);
}

/**
 * A response head as bytes: a view into `scratch` when it fits there (and
 * the head is ASCII), else a new array.
 *
 * @example
 * ```ts
 * import { serializeResponseHead } from "./http_parser.ts";
 * serializeResponseHead({ version: "HTTP/1.1", status: 204, reason: "No Content", headers: [] });
 * ```
 */
export function serializeResponseHead(head: ResponseHead, scratch?: Uint8Array): Uint8Array {
  return serialize(`${head.version} ${head.status} ${head.reason}`, head.headers, scratch);
}

/**
 * The first value of header `name` (case-insensitive), or undefined.
 *
 * @example
 * ```ts
 * import { getHeader } from "./http_parser.ts";
 * getHeader([["Host", "a"]], "host"); // "a"
 * ```
 */
export function getHeader(headers: Header[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of headers) if (sameName(n, lower)) return v;
  return undefined;
}

/**
 * Every value of header `name`, joined with ", " as RFC 9110 allows; undefined if absent.
 *
 * @example
 * ```ts
 * import { getHeaderList } from "./http_parser.ts";
 * getHeaderList([["X-A", "1"], ["x-a", "2"]], "X-A"); // "1, 2"
 * ```
 */
export function getHeaderList(headers: Header[], name: string): string | undefined {
  const lower = name.toLowerCase();
  let out: string | undefined;
  for (const [n, v] of headers) {
    if (sameName(n, lower)) out = out === undefined ? v : `${out}, ${v}`;
  }
  return out;
}

/**
 * Whether header name `name` is `lower` (already lower case), ignoring
 * case: names of another length are passed over without a lower-cased
 * copy, which each lookup made for every header of every message.
 */
function sameName(name: string, lower: string): boolean {
  return name.length === lower.length && (name === lower || name.toLowerCase() === lower);
}

/**
 * Replaces every `name` header with one `name: value` (appended if absent).
 *
 * @example
 * ```ts
 * import { setHeader } from "./http_parser.ts";
 * const headers: [string, string][] = [["host", "a"]];
 * setHeader(headers, "Host", "b"); // [["Host", "b"]]
 * ```
 */
export function setHeader(headers: Header[], name: string, value: string): void {
  const lower = name.toLowerCase();
  let at = -1;
  for (let i = headers.length - 1; i >= 0; i--) {
    if (!sameName(headers[i][0], lower)) continue;
    if (at >= 0) headers.splice(at, 1);
    at = i;
  }
  if (at >= 0) headers[at] = [name, value];
  else headers.push([name, value]);
}

/**
 * Whether the comma-separated header `name` lists `token` (case-insensitive),
 * e.g. `Connection: keep-alive, Upgrade`.
 *
 * @example
 * ```ts
 * import { hasToken } from "./http_parser.ts";
 * hasToken([["Connection", "keep-alive, Upgrade"]], "connection", "upgrade"); // true
 * ```
 */
export function hasToken(headers: Header[], name: string, token: string): boolean {
  const list = getHeaderList(headers, name);
  if (list === undefined) return false;
  const want = token.toLowerCase();
  // Most lists hold one token: no array for them.
  if (!list.includes(",")) return list.trim().toLowerCase() === want;
  return list.split(",").some((t) => t.trim().toLowerCase() === want);
}

const DIGITS = /^\d{1,15}$/;

function lengthOf(headers: Header[], status: number): number | undefined {
  const raw = getHeaderList(headers, "content-length");
  if (raw === undefined) return undefined;
  if (DIGITS.test(raw)) return Number(raw);
  // Repeated identical values ("5, 5") are tolerated, as RFC 9112 allows.
  const values = new Set(raw.split(",").map((v) => v.trim()));
  const [only] = values;
  if (values.size !== 1 || !DIGITS.test(only)) {
    throw new HttpError(status, `invalid Content-Length "${raw.slice(0, 40)}"`);
  }
  return Number(only);
}

/**
 * Transfer codings of the IANA registry a message may carry besides
 * `chunked`; the vhost passes them through without decoding. ("identity" was
 * dropped from HTTP/1.1 by RFC 7230.)
 */
const KNOWN_CODINGS = new Set(["gzip", "x-gzip", "deflate", "compress", "x-compress"]);

/**
 * Whether a message body is chunked. With `request`, RFC 9112's rules for a
 * server apply: `chunked` must be the last coding and appear once (else
 * 400, §6.3), and a coding the proxy does not know gets 501 (§6.1), since
 * the backend behind might read it differently.
 */
function isChunked(headers: Header[], status: number, request = false): boolean {
  const te = getHeaderList(headers, "transfer-encoding");
  if (te === undefined) return false;
  const codings = te.split(",").map((t) => t.trim().toLowerCase()).filter((t) => t !== "");
  const shown = te.slice(0, 40);
  // Anything but a final "chunked" leaves no way to find the end of a request.
  if (codings[codings.length - 1] !== "chunked") {
    throw new HttpError(status, `unsupported Transfer-Encoding "${shown}": chunked must be last`);
  }
  if (!request) return true;
  for (let i = 0; i < codings.length - 1; i++) {
    const coding = codings[i];
    if (coding === "chunked") {
      throw new HttpError(400, `Transfer-Encoding "${shown}" applies chunked more than once`);
    }
    if (!KNOWN_CODINGS.has(coding)) {
      throw new HttpError(501, `unknown transfer coding "${coding.slice(0, 20)}"`);
    }
  }
  return true;
}

/**
 * How a request's body is framed. Throws {@linkcode HttpError} 400 for a bad
 * Content-Length, a Transfer-Encoding whose last coding is not chunked, or
 * both at once (a request-smuggling vector), and 501 for a transfer coding
 * it does not know (e.g. `identity, chunked`).
 *
 * @example
 * ```ts
 * import { requestFraming } from "./http_parser.ts";
 * requestFraming({ method: "POST", target: "/", version: "HTTP/1.1", headers: [["Content-Length", "3"]] });
 * // { kind: "length", length: 3 }
 * ```
 */
export function requestFraming(head: RequestHead): Framing {
  const chunked = isChunked(head.headers, 400, true);
  const length = lengthOf(head.headers, 400);
  if (chunked && length !== undefined) {
    throw new HttpError(400, "both Transfer-Encoding and Content-Length are set");
  }
  if (chunked) return CHUNKED;
  if (length) return { kind: "length", length };
  return NO_BODY;
}

/**
 * How a response's body is framed, given the request method it answers.
 *
 * @example
 * ```ts
 * import { responseFraming } from "./http_parser.ts";
 * responseFraming({ version: "HTTP/1.1", status: 200, reason: "OK", headers: [] }, "GET");
 * // { kind: "close" }
 * ```
 */
export function responseFraming(head: ResponseHead, method: string): Framing {
  const { status } = head;
  if (method === "HEAD" || status < 200 || status === 204 || status === 304) {
    return NO_BODY;
  }
  if (isChunked(head.headers, 502)) return CHUNKED;
  const length = lengthOf(head.headers, 502);
  if (length === undefined) return UNTIL_CLOSE;
  return length === 0 ? NO_BODY : { kind: "length", length };
}

/**
 * Whether the connection stays open after this message: HTTP/1.1 unless
 * `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
 *
 * @example
 * ```ts
 * import { keepsAlive } from "./http_parser.ts";
 * keepsAlive("HTTP/1.1", [["Connection", "close"]]); // false
 * ```
 */
export function keepsAlive(version: string, headers: Header[]): boolean {
  if (hasToken(headers, "connection", "close")) return false;
  return version === "HTTP/1.1" || hasToken(headers, "connection", "keep-alive");
}
