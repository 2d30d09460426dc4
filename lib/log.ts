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

/** A logger whose lines all carry the same `[prefix]`s. */
export class Logger {
  /** @param prefixes shown in brackets before each message */
  constructor(readonly prefixes: readonly string[] = []) {}

  /** A child logger that adds `[prefix]` to every line. */
  with(prefix: string): Logger {
    return new Logger([...this.prefixes, prefix]);
  }

  /** Prints at `level` when the threshold allows it. */
  write(level: LogLevel, message: string): void {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const tags = this.prefixes.map((p) => `[${p}] `).join("");
    const line = `${timestamp()} [${LETTER[level]}] ${tags}${message}`;
    if (sink) return sink(level, line);
    if (level === "error" || level === "warn") console.error(line);
    else console.log(line);
  }

  /** Very verbose detail. */
  trace(message: string): void {
    this.write("trace", message);
  }
  /** Detail for debugging. */
  debug(message: string): void {
    this.write("debug", message);
  }
  /** Normal events. */
  info(message: string): void {
    this.write("info", message);
  }
  /** Something went wrong but service goes on. */
  warn(message: string): void {
    this.write("warn", message);
  }
  /** Something failed. */
  error(message: string): void {
    this.write("error", message);
  }
}

/** The root logger. */
export const log: Logger = new Logger();
