/**
 * dfrps, the dfrp server: `deno run -A server.ts -c frps.toml`.
 *
 * @module
 */

import { serverMain } from "./lib/cli/server_main.ts";

if (import.meta.main) Deno.exit(await serverMain(Deno.args));
