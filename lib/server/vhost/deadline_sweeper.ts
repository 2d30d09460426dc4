/**
 * One interval per vhost listener that checks the deadlines of all its
 * connections, instead of a timer per connection or per request: adding a
 * member is a set insertion, and a connection whose deadline has not passed
 * costs one comparison per sweep. The interval runs only while there are
 * members, and never keeps the process alive.
 *
 * @example
 * ```ts
 * import { DeadlineSweeper } from "./deadline_sweeper.ts";
 * const sweeper = new DeadlineSweeper(200);
 * const deadline = Date.now() + 1000;
 * const member = { checkDeadline: (now: number) => { if (now >= deadline) sweeper.delete(member); } };
 * sweeper.add(member);
 * ```
 *
 * @module
 */

/** Something with a deadline, checked on every sweep. */
export interface Deadlined {
  /** Acts when `now` (ms since the epoch) is past its deadline; cheap otherwise. */
  checkDeadline(now: number): void;
}

/** See the module doc. */
export class DeadlineSweeper {
  #members = new Set<Deadlined>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** @param intervalMs how often deadlines are checked: a deadline acts at most this late */
  constructor(readonly intervalMs = 200) {}

  /** How many members are watched. */
  get size(): number {
    return this.#members.size;
  }

  /** Watches `member` until {@linkcode delete}. */
  add(member: Deadlined): void {
    this.#members.add(member);
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#sweep(), this.intervalMs);
    Deno.unrefTimer(this.#timer);
  }

  /** Stops watching `member`. */
  delete(member: Deadlined): void {
    this.#members.delete(member);
  }

  #sweep(): void {
    const now = Date.now();
    for (const member of this.#members) member.checkDeadline(now);
    if (this.#members.size === 0) this.close();
  }

  /** Stops the interval (members stay; a later `add` restarts it). */
  close(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
