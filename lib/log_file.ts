/**
 * `log.to = "path"`: log lines appended to a file that rotates daily and
 * keeps `log.maxDays` days of old files, as frp's does.
 *
 * Naming follows frp (fatedier/golib's rotate file writer): at the first line
 * of a new local day, `frps.log` is renamed to `frps.20261202-000000.log` (the
 * moment its day ended) and a fresh `frps.log` is opened; rotated files whose
 * time is more than `maxDays` days old are deleted (`maxDays = 0` keeps all).
 *
 * Lines are written synchronously, like `console.log`: a line is on disk
 * before `write` returns, so no line is lost when the process exits right
 * after logging, and rotation (rename, open) happens between two lines, never
 * inside one. A file left from an earlier day is rotated at the first line.
 *
 * @example
 * ```ts
 * import { RotatingLogFile } from "./log_file.ts";
 * const file = new RotatingLogFile({ path: "/var/log/dfrp/frps.log", maxDays: 3 });
 * file.write("2026-12-02 10:00:00.000 [I] start dfrps success");
 * file.close();
 * ```
 *
 * @module
 */

import { log, setLogSink } from "./log.ts";

/** Options of {@linkcode RotatingLogFile}. */
export interface RotatingLogFileOptions {
  /** The live log file; rotated files sit next to it. */
  path: string;
  /** Days to keep rotated files; 0 keeps them all (frp's `log.maxDays`). */
  maxDays: number;
  /** The current time; tests move it forward instead of waiting a day. */
  clock?: () => Date;
}

const encoder = new TextEncoder();

/** Local midnight that starts the day of `d`. */
function startOfDay(d: Date): Date {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}

/** frp's backup time format, `20060102-150405` in Go's notation, local time. */
function backupStamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-` +
    `${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Parses a {@linkcode backupStamp} back, or null. */
function parseStamp(s: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
  return new Date(y, mo - 1, d, h, mi, se);
}

/** Splits `dir/frps.log` into `dir`, `frps` and `.log` (frp's prefix and ext). */
function splitPath(path: string): { dir: string; prefix: string; ext: string } {
  const slash = path.lastIndexOf("/");
  const dir = slash < 0 ? "." : path.slice(0, slash) || "/";
  const base = path.slice(slash + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0
    ? { dir, prefix: base.slice(0, dot), ext: base.slice(dot) }
    : { dir, prefix: base, ext: "" };
}

/**
 * A log file with frp's daily rotation. Opening fails at construction with
 * an error naming the path, so a bad `log.to` stops the start, not a line.
 *
 * @example
 * ```ts
 * import { RotatingLogFile } from "./log_file.ts";
 * let now = new Date(2026, 11, 1, 23, 59);
 * const file = new RotatingLogFile({ path: "/tmp/frpc.log", maxDays: 1, clock: () => now });
 * file.write("last line of the 1st");
 * now = new Date(2026, 11, 2, 0, 1);
 * file.write("first line of the 2nd"); // /tmp/frpc.20261202-000000.log holds the 1st
 * file.close();
 * ```
 */
export class RotatingLogFile {
  readonly #path: string;
  readonly #maxDays: number;
  readonly #clock: () => Date;
  readonly #parts: { dir: string; prefix: string; ext: string };
  #file: Deno.FsFile | null = null;
  /** Local midnight starting the day the open file belongs to. */
  #day = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** @param opts the file, how long to keep rotated files, the clock */
  constructor(opts: RotatingLogFileOptions) {
    this.#path = opts.path;
    this.#maxDays = opts.maxDays;
    this.#clock = opts.clock ?? (() => new Date());
    this.#parts = splitPath(opts.path);
    try {
      Deno.mkdirSync(this.#parts.dir, { recursive: true });
      // A file from an earlier day belongs to that day: rotated at the first line.
      let mtime: Date | null = null;
      try {
        mtime = Deno.statSync(this.#path).mtime;
      } catch {
        // No file yet.
      }
      this.#file = Deno.openSync(this.#path, { append: true, create: true, mode: 0o600 });
      this.#day = startOfDay(mtime ?? this.#clock()).getTime();
    } catch (err) {
      throw new Error(`log.to ${this.#path}: ${(err as Error).message}`);
    }
    this.#removeOld();
    this.#armMidnight();
  }

  /** Appends `line` and a newline, rotating first when the day changed. */
  write(line: string): void {
    const now = this.#clock();
    if (startOfDay(now).getTime() !== this.#day) this.rotate(now);
    if (!this.#file) return;
    const bytes = encoder.encode(line + "\n");
    try {
      for (let off = 0; off < bytes.length;) off += this.#file.writeSync(bytes.subarray(off));
    } catch (err) {
      // A full disk must not take the service down: say so where someone looks.
      console.error(`log.to ${this.#path}: ${(err as Error).message}: ${line}`);
    }
  }

  /**
   * Renames the live file to frp's backup name for the end of its day,
   * opens a fresh one and deletes backups older than `maxDays`.
   */
  rotate(now: Date = this.#clock()): void {
    const { dir, prefix, ext } = this.#parts;
    const dayEnd = new Date(this.#day);
    dayEnd.setDate(dayEnd.getDate() + 1);
    let stamp = dayEnd;
    let target = `${dir}/${prefix}.${backupStamp(stamp)}${ext}`;
    // Never overwrite an older backup (a clock set back, a restart): next second.
    while (exists(target)) {
      stamp = new Date(stamp.getTime() + 1000);
      target = `${dir}/${prefix}.${backupStamp(stamp)}${ext}`;
    }
    try {
      this.#file?.close();
      this.#file = null;
      Deno.renameSync(this.#path, target);
    } catch {
      // Renamed or removed behind our back: just start a new file.
    }
    try {
      this.#file = Deno.openSync(this.#path, { append: true, create: true, mode: 0o600 });
    } catch (err) {
      console.error(`log.to ${this.#path}: ${(err as Error).message}`);
    }
    this.#day = startOfDay(now).getTime();
    this.#removeOld(now);
  }

  /** Rotated files of this log, oldest first, with their times. */
  backups(): { name: string; time: Date }[] {
    const { dir, prefix, ext } = this.#parts;
    const found: { name: string; time: Date }[] = [];
    for (const entry of Deno.readDirSync(dir)) {
      const name = entry.name;
      if (!entry.isFile || !name.startsWith(prefix + ".") || !name.endsWith(ext)) continue;
      const time = parseStamp(name.slice(prefix.length + 1, name.length - ext.length));
      if (time) found.push({ name, time });
    }
    return found.sort((a, b) => a.time.getTime() - b.time.getTime());
  }

  /** Closes the file and stops the midnight timer. */
  close(): void {
    clearTimeout(this.#timer);
    this.#file?.close();
    this.#file = null;
  }

  #removeOld(now: Date = this.#clock()): void {
    if (this.#maxDays <= 0) return;
    // frp's cutoff: older than maxDays × 24 h (with its 5 ms of slack).
    const cutoff = now.getTime() - this.#maxDays * 86_400_000 + 5;
    try {
      for (const { name, time } of this.backups()) {
        if (time.getTime() < cutoff) Deno.removeSync(`${this.#parts.dir}/${name}`);
      }
    } catch {
      // An unreadable directory or a file gone already: try again next day.
    }
  }

  /** Rotates at local midnight even when nothing is logged then, as frp does. */
  #armMidnight(): void {
    if (!this.#file) return;
    const now = new Date();
    const next = startOfDay(now);
    next.setDate(next.getDate() + 1);
    const timer = setTimeout(() => {
      if (!this.#file) return;
      const at = this.#clock();
      if (startOfDay(at).getTime() !== this.#day) this.rotate(at);
      this.#armMidnight();
    }, next.getTime() - now.getTime() + 1000);
    // A pending rotation must not keep the process alive.
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Applies `log.to` / `log.maxDays`: `"console"` (the default) leaves the
 * console; a path sends every line of {@linkcode log} to a
 * {@linkcode RotatingLogFile} there, returned so it can be closed. Throws
 * (naming the path) when the file cannot be opened.
 *
 * @example
 * ```ts
 * import { logTo } from "./log_file.ts";
 * const file = logTo({ to: "/var/log/dfrp/frps.log", maxDays: 3 });
 * file?.close();
 * ```
 */
export function logTo(cfg: { to: string; maxDays: number }): RotatingLogFile | null {
  if (cfg.to === "" || cfg.to === "console") return null;
  const file = new RotatingLogFile({ path: cfg.to, maxDays: cfg.maxDays });
  setLogSink((_level, line) => file.write(line));
  active = file;
  return file;
}

/** The file {@linkcode logTo} opened, if any. */
let active: RotatingLogFile | null = null;

/**
 * Logs why the process is about to exit; with a log file it goes to stderr
 * too, so whoever started the process sees why it stopped.
 *
 * @example
 * ```ts
 * import { logFatal } from "./log_file.ts";
 * logFatal("cannot start the server: address already in use");
 * ```
 */
export function logFatal(message: string): void {
  log.error(message);
  if (active) console.error(message);
}
