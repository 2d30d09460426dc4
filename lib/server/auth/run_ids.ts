/**
 * Which run id a login gets. A client that presents the run id of an
 * earlier login keeps it only when that login was made by the same user and
 * the client proves the earlier login's resume key (`lib/protocol/resume.ts`);
 * then its old connection (maybe still alive on the server after a network drop)
 * is replaced. Any other login gets a fresh run id, so one tenant cannot cut
 * another's client off by presenting the run id the admin API shows.
 *
 * @example
 * ```ts
 * import { RunIds } from "./run_ids.ts";
 * const runIds = new RunIds();
 * const first = await runIds.assign({ runId: "", user: "alice", nonce: "n1" });
 * console.log(first.resumed); // false: a fresh id
 * await runIds.remember(first.runId, "alice", "token", "client-nonce", "n1");
 * ```
 *
 * @module
 */

import { randomHex } from "../../protocol/auth.ts";
import { resumeKey, verifyResume } from "../../protocol/resume.ts";
import type { RunIdStore } from "../placement.ts";

/** What a login asks for. */
export interface RunIdRequest {
  /** The run id the client presents ("" for a first login). */
  runId: unknown;
  /** The user the login proved. */
  user: string;
  /** This connection's server nonce. */
  nonce: string;
  /** The client's `resumeProof`. */
  resumeProof?: unknown;
}

/** The run id given, and why: logged by the server. */
export interface RunIdVerdict {
  runId: string;
  /** True when the presented run id was kept. */
  resumed: boolean;
  /** Why a presented run id was not kept; "" when none was presented or it was kept. */
  refused: string;
}

interface Known {
  user: string;
  key: string;
}

/** Logins whose resume keys are kept; the oldest are forgotten first. */
export const MAX_REMEMBERED_RUN_IDS = 10_000;

const RUN_ID = /^[0-9a-f]{16}$/;

/** See the module doc. */
export class RunIds {
  #known = new Map<string, Known>();

  /**
   * @param limit how many run ids to remember
   * @param shared the cluster's records, consulted when this node does not know a run id
   */
  constructor(
    readonly limit: number = MAX_REMEMBERED_RUN_IDS,
    readonly shared: () => RunIdStore | undefined = () => undefined,
  ) {}

  /** Decides the run id of a login whose token proof already passed. */
  async assign(req: RunIdRequest): Promise<RunIdVerdict> {
    const presented = typeof req.runId === "string" ? req.runId : "";
    const fresh = (refused: string): RunIdVerdict => ({
      runId: this.#fresh(),
      resumed: false,
      refused,
    });
    if (presented === "") return fresh("");
    if (!RUN_ID.test(presented)) return fresh("not a run id");
    const known = this.#known.get(presented) ??
      await this.shared()?.get(presented).catch(() => undefined);
    if (!known) return fresh("unknown to this server");
    if (known.user !== req.user) return fresh(`it belongs to another user`);
    if (!await verifyResume(known.key, req.nonce, presented, req.resumeProof)) {
      return fresh("no valid resume proof");
    }
    return { runId: presented, resumed: true, refused: "" };
  }

  /** Keeps the resume key of a successful login (replacing the previous one of `runId`). */
  async remember(
    runId: string,
    user: string,
    token: string,
    clientNonce: string,
    nonce: string,
  ): Promise<void> {
    const key = await resumeKey(token, clientNonce, nonce, runId);
    this.#known.delete(runId);
    this.#known.set(runId, { user, key });
    // Without the shared store (Redis down) only this node can resume it.
    await this.shared()?.set(runId, { user, key }).catch(() => {});
    for (const old of this.#known.keys()) {
      if (this.#known.size <= this.limit) break;
      this.#known.delete(old);
    }
  }

  #fresh(): string {
    for (;;) {
      const id = randomHex(8);
      if (!this.#known.has(id)) return id;
    }
  }
}
