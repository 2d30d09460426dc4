/**
 * A real DNS server (dnsmasq) and a real DNS client (dig), for the UDP tunnel tests: what a user
 * would put behind a udp or sudp proxy.
 *
 * @example
 * ```ts
 * import { dig, startDnsmasq } from "./_dnsmasq.ts";
 * await using dns = startDnsmasq("/example.test/10.1.2.3");
 * console.log(await dig(dns.port, "example.test", "+tries=5"));
 * ```
 *
 * @module
 */

import { freePort } from "./_harness.ts";

/**
 * Starts dnsmasq in the foreground on 127.0.0.1 and a free port, with no upstream, no hosts file
 * and one `--address` rule (`/name/ip`); `extraArgs` go last. Disposing stops it.
 *
 * @example
 * ```ts
 * import { startDnsmasq } from "./_dnsmasq.ts";
 * await using dns = startDnsmasq("/secret.test/10.9.8.7", ["--log-facility=-"]);
 * console.log(dns.port);
 * ```
 */
export function startDnsmasq(
  address: string,
  extraArgs: string[] = [],
): { port: number } & AsyncDisposable {
  const port = freePort();
  const dnsmasq = new Deno.Command("dnsmasq", {
    args: [
      "--no-resolv",
      "--no-hosts",
      "--conf-file=/dev/null",
      "--pid-file=",
      `--address=${address}`,
      `--port=${port}`,
      "--listen-address=127.0.0.1",
      "--bind-interfaces",
      "--keep-in-foreground",
      ...extraArgs,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  return {
    port,
    async [Symbol.asyncDispose]() {
      dnsmasq.kill("SIGTERM");
      await dnsmasq.status;
    },
  };
}

/**
 * Asks 127.0.0.1:`port` for the A record of `name` with `dig +short` (and `options`, such as
 * `+tries=5`); resolves to what dig printed.
 *
 * @example
 * ```ts
 * import { dig } from "./_dnsmasq.ts";
 * console.log(await dig(5353, "example.test"));
 * ```
 */
export async function dig(port: number, name: string, ...options: string[]): Promise<string> {
  const out = await new Deno.Command("dig", {
    args: ["@127.0.0.1", "-p", String(port), name, "A", "+short", ...options],
  }).output();
  return new TextDecoder().decode(out.stdout);
}
