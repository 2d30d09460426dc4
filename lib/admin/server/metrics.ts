/**
 * `GET /metrics`: the Prometheus text exposition (format 0.0.4) of the read
 * model under frp's metric names, plus the process's memory. Written by
 * hand: it is a few lines per family and needs no registry kept in step
 * with the data path.
 *
 * @example
 * ```ts
 * import { prometheusText } from "./metrics.ts";
 * import type { ServerServices } from "../../server/services.ts";
 * declare const services: ServerServices;
 * console.log(prometheusText(services));
 * ```
 *
 * @module
 */

import type { ServerServices } from "../../server/services.ts";

/** The Content-Type Prometheus expects for the text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;

// Label values escape backslash, double quote and newline.
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

class Exposition {
  #lines: string[] = [];

  /** @param base labels every sample carries (cluster mode: the node's name) */
  constructor(readonly base: Labels = {}) {}

  family(name: string, type: "gauge" | "counter", help: string, samples: [Labels, number][]) {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const pairs = Object.entries({ ...this.base, ...labels }).map(([k, v]) =>
        `${k}="${escapeLabel(v)}"`
      );
      this.#lines.push(`${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${value}`);
    }
  }

  toString(): string {
    return this.#lines.join("\n") + "\n";
  }
}

const startSeconds = Math.floor(Date.now() / 1000 - performance.now() / 1000);

/**
 * The exposition of `services` now.
 *
 * @example
 * ```ts
 * import { prometheusText } from "./metrics.ts";
 * import type { ServerServices } from "../../server/services.ts";
 * declare const services: ServerServices;
 * const body = prometheusText(services); // "# HELP frp_server_client_counts ..."
 * ```
 */
export function prometheusText(services: ServerServices): string {
  const cluster = services.config.cluster;
  // Cluster mode (docs/cluster.md): every node's samples say which node they come from.
  const out = new Exposition(cluster?.redisURL ? { node: cluster.nodeName } : {});
  let clients = 0;
  for (const info of services.clients?.values() ?? []) if (info.online) clients++;
  out.family("frp_server_client_counts", "gauge", "The current client counts of frps", [
    [{}, clients],
  ]);

  const byType = new Map<string, number>();
  const detailed: [Labels, number][] = [];
  const conns: [Labels, number][] = [];
  const trafficIn: [Labels, number][] = [];
  const trafficOut: [Labels, number][] = [];
  for (const s of services.stats.values()) {
    const labels = { name: s.name, type: s.type };
    const online = s.owner !== undefined ? 1 : 0;
    byType.set(s.type, (byType.get(s.type) ?? 0) + online);
    detailed.push([{ type: s.type, name: s.name }, online]);
    conns.push([labels, s.curConns]);
    trafficIn.push([labels, s.trafficIn]);
    trafficOut.push([labels, s.trafficOut]);
  }
  out.family(
    "frp_server_proxy_counts",
    "gauge",
    "The current proxy counts",
    [...byType].map(([type, n]) => [{ type }, n]),
  );
  out.family(
    "frp_server_proxy_counts_detailed",
    "gauge",
    "The current number of proxies grouped by type and name",
    detailed,
  );
  out.family(
    "frp_server_connection_counts",
    "gauge",
    "The current connection counts",
    conns,
  );
  out.family("frp_server_traffic_in", "counter", "The total in traffic", trafficIn);
  out.family("frp_server_traffic_out", "counter", "The total out traffic", trafficOut);

  const mem = Deno.memoryUsage();
  out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", [
    [{}, mem.rss],
  ]);
  out.family("process_start_time_seconds", "gauge", "Start time of the process in unix seconds.", [
    [{}, startSeconds],
  ]);
  out.family("deno_heap_used_bytes", "gauge", "V8 heap in use, in bytes.", [[{}, mem.heapUsed]]);
  out.family("deno_heap_total_bytes", "gauge", "V8 heap reserved, in bytes.", [
    [{}, mem.heapTotal],
  ]);
  out.family(
    "deno_external_memory_bytes",
    "gauge",
    "Memory outside the V8 heap held by JS objects.",
    [
      [{}, mem.external],
    ],
  );
  return out.toString();
}
