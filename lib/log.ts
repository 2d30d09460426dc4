/**
 * Console logging with a timestamp and a level, like frp's
 * (`2026-11-26 13:50:01.123 [I] [NAME] start proxy success`).
 *
 * @example
 * ```ts
 * import { log, setLogLevel } from "./log.ts";
 * setLogLevel("debug");
 * log.info("login to server success");
 * log.with("ssh").info("start proxy success"); // [ssh] start proxy success
 * ```
 *
 * Text from the network cannot forge or flood the log: every line has its
 * control characters escaped (a newline prints as `\n`) and is cut at
 * {@linkcode MAX_LINE} characters; {@linkcode quote} marks and shortens a
 * value a peer sent; and a warning given a `repeatKey` prints at most once
 * per {@linkcode REPEAT_WINDOW_MS}, followed by one line counting the rest.
 *
 * @module
 */

/** Levels from the most to the least verbose, as frp names them. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"] as const;
/** One of {@linkcode LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

const LETTER: Record<LogLevel, string> = {
  trace: "T",
  debug: "D",
  info: "I",
  warn: "W",
  error: "E",
};
let threshold = LOG_LEVELS.indexOf("info");

/**
 * Sets the least severe level that is printed.
 *
 * @example
 * ```ts
 * import { setLogLevel } from "./log.ts";
 * setLogLevel("warn");
 * ```
 */
export function setLogLevel(level: LogLevel): void {
  threshold = LOG_LEVELS.indexOf(level);
}

/** Where lines go instead of the console, or null for the console. */
let sink: ((level: LogLevel, line: string) => void) | null = null;

/**
 * Sends every printed line to `output` instead of the console (`log.to` a
 * file, see `log_file.ts`); `null` goes back to the console.
 *
 * @example
 * ```ts
 * import { setLogSink } from "./log.ts";
 * const lines: string[] = [];
 * setLogSink((_level, line) => lines.push(line));
 * setLogSink(null);
 * ```
 */
export function setLogSink(output: ((level: LogLevel, line: string) => void) | null): void {
  sink = output;
}

function timestamp(): string {
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** A message (prefixes included) longer than this is cut, saying how much was left out. */
export const MAX_LINE = 2000;
/** Longest value {@linkcode quote} keeps. */
export const MAX_VALUE = 200;
/** Lines sharing a `repeatKey` print at most once per this window (ms). */
export const REPEAT_WINDOW_MS = 10_000;
/**
 * Distinct messages tracked per window before lines fall back to their bare
 * `repeatKey` (so varied attacker text cannot grow the table or the log).
 */
const MAX_REPEAT_KEYS = 256;
/** Numbers and quoted values: what differs between repeats of one message. */
const VARYING = /"(?:[^"\\]|\\.)*"|\d+/g;

/** C0 and C1 controls, DEL, and the Unicode line and paragraph separators. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;
const ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escapeControl(ch: string): string {
  return ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * `text` safe for one log line: control characters escaped (`\n`,
 * `\u0000`, …), cut at `max` characters with a note of how many were left
 * out.
 *
 * @example
 * ```ts
 * import { sanitize } from "./log.ts";
 * sanitize("a\nb"); // "a\\nb"
 * ```
 */
export function sanitize(text: string, max = MAX_LINE): string {
  let out = text;
  if (out.length > max) out = `${out.slice(0, max)}… (${out.length - max} more chars)`;
  CONTROL.lastIndex = 0;
  return CONTROL.test(out) ? out.replace(CONTROL, escapeControl) : out;
}

/**
 * A value a peer sent, for a log line: in double quotes, control characters
 * and quotes escaped, cut at `max` characters. Non-strings are shown as JSON
 * (so an object where a name belongs is visible as one).
 *
 * @example
 * ```ts
 * import { log, quote } from "./log.ts";
 * log.warn(`work connection for unknown client ${quote("ab\ncd")}`); // … "ab\ncd"
 * ```
 */
export function quote(value: unknown, max = MAX_VALUE): string {
  const text = asText(value);
  const cut = text.length > max;
  const body = sanitize(cut ? text.slice(0, max) : text, Infinity).replaceAll('"', '\\"');
  return cut ? `"${body}…" (${text.length} chars)` : `"${body}"`;
}

/**
 * A value a peer sent, for frp's `name [value]` style: control characters
 * escaped and cut at `max` characters (saying how long it was), no quotes.
 *
 * @example
 * ```ts
 * import { clip, log } from "./log.ts";
 * log.info(`hostname [${clip("a".repeat(500))}]`); // hostname [aaa…… (500 chars)]
 * ```
 */
export function clip(value: unknown, max = MAX_VALUE): string {
  const text = asText(value);
  if (text.length <= max) return sanitize(text, Infinity);
  return `${sanitize(text.slice(0, max), Infinity)}… (${text.length} chars)`;
}

function asText(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Options of one log call. */
export interface WriteOptions {
  /**
   * Lines with the same key (e.g. "connection dropped") and the same message
   * but for numbers and quoted values print at most once per
   * {@linkcode REPEAT_WINDOW_MS}; the window's last suppressed line is printed
   * at its end with "(N more in the last 10 s)". For warnings anyone on the
   * network can trigger at will.
   */
  repeatKey?: string;
}

interface Repeat {
  suppressed: number;
  last: string;
  level: LogLevel;
  timer: ReturnType<typeof setTimeout>;
}
const repeats = new Map<string, Repeat>();

function print(level: LogLevel, line: string): void {
  if (sink) return sink(level, line);
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
}

/** Ends a repeat window: prints the count, or forgets the key if nothing repeated. */
function endWindow(key: string): void {
  const r = repeats.get(key);
  if (!r) return;
  if (r.suppressed === 0) {
    repeats.delete(key);
    return;
  }
  const s = REPEAT_WINDOW_MS / 1000;
  print(r.level, `${r.last} (${r.suppressed} more in the last ${s} s)`);
  // A flood that goes on gets one line per window.
  r.suppressed = 0;
  r.timer = repeatTimer(key);
}

function repeatTimer(key: string): ReturnType<typeof setTimeout> {
  const timer = setTimeout(() => endWindow(key), REPEAT_WINDOW_MS);
  // The summary of a window must not keep a process alive that has finished.
  Deno.unrefTimer(timer);
  return timer;
}

/** A logger whose lines all carry the same `[prefix]`s. */
export class Logger {
  /** @param prefixes shown in brackets before each message */
  constructor(readonly prefixes: readonly string[] = []) {}

  /** A child logger that adds `[prefix]` to every line. */
  with(prefix: string): Logger {
    return new Logger([...this.prefixes, prefix]);
  }

  /** Prints at `level` when the threshold allows it (see {@linkcode WriteOptions}). */
  write(level: LogLevel, message: string, opts?: WriteOptions): void {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const tags = this.prefixes.map((p) => `[${p}] `).join("");
    const line = `${timestamp()} [${LETTER[level]}] ${sanitize(tags + message)}`;
    let key = opts?.repeatKey;
    if (key !== undefined) {
      // One window per kind of message: "bad magic" does not hide "token mismatch".
      const kind = `${key}\u0000${message.replace(VARYING, "#")}`;
      if (repeats.has(kind) || repeats.size < MAX_REPEAT_KEYS) key = kind;
      const r = repeats.get(key);
      if (r) {
        r.suppressed++;
        r.last = line;
        r.level = level;
        return;
      }
      repeats.set(key, { suppressed: 0, last: line, level, timer: repeatTimer(key) });
    }
    print(level, line);
  }

  /** Very verbose detail. */
  trace(message: string, opts?: WriteOptions): void {
    this.write("trace", message, opts);
  }
  /** Detail for debugging. */
  debug(message: string, opts?: WriteOptions): void {
    this.write("debug", message, opts);
  }
  /** Normal events. */
  info(message: string, opts?: WriteOptions): void {
    this.write("info", message, opts);
  }
  /** Something went wrong but service goes on. */
  warn(message: string, opts?: WriteOptions): void {
    this.write("warn", message, opts);
  }
  /** Something failed. */
  error(message: string, opts?: WriteOptions): void {
    this.write("error", message, opts);
  }
}

/** The root logger. */
export const log: Logger = new Logger();
