/**
 * Runs a cleanup once on SIGINT or SIGTERM, then exits 0.
 *
 * @example
 * ```ts
 * import { onShutdown } from "./signals.ts";
 * onShutdown(async () => console.log("bye"));
 * ```
 *
 * @module
 */

/** See the module doc. */
export function onShutdown(cleanup: () => Promise<void>): void {
  let stopping = false;
  const handler = async () => {
    if (stopping) Deno.exit(1); // a second signal means "now"
    stopping = true;
    try {
      await cleanup();
    } finally {
      Deno.exit(0);
    }
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    if (Deno.build.os === "windows" && signal === "SIGTERM") continue;
    Deno.addSignalListener(signal, handler);
  }
}
