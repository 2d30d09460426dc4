/**
 * dfrpc, the dfrp client: `deno run -A client.ts -c frpc.toml`.
 *
 * @module
 */

import { clientMain } from "./lib/cli/client_main.ts";

if (import.meta.main) Deno.exit(await clientMain(Deno.args));
