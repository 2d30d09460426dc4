/**
 * frp's flags are spelled with `_` (`--server_addr`); dfrp's with `-`.
 * Accept both by rewriting long names to the `-` spelling before parsing.
 *
 * @example
 * ```ts
 * import { normalizeFlags } from "./flags.ts";
 * normalizeFlags(["--server_addr=x", "--tls_enable"], ["tls-enable"]);
 * // ["--server-addr=x", "--tls-enable=true"]
 * ```
 *
 * @module
 */

/**
 * @param valueBooleans flags parsed as strings so they can take `=false`;
 *   given bare they mean `=true`
 */
export function normalizeFlags(args: string[], valueBooleans: string[] = []): string[] {
  return args.map((arg) => {
    if (!arg.startsWith("--")) return arg;
    const eq = arg.indexOf("=");
    const name = (eq < 0 ? arg : arg.slice(0, eq)).replaceAll("_", "-");
    if (eq < 0 && valueBooleans.includes(name.slice(2))) return `${name}=true`;
    return eq < 0 ? name : name + arg.slice(eq);
  });
}
