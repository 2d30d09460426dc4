/**
 * The dashboard's charts, as page script (inline SVG built with the shared
 * `el()` of `../page_kit.ts`; no chart library, no build step):
 *
 * - `trafficChart(days)`: a proxy's traffic in and out per day, as grouped
 *   bars, oldest day left; `days` is `/api/traffic/:name`'s answer (today
 *   first). Every bar carries `data-day` (0 = today), `data-dir` (`in` or
 *   `out`) and `data-bytes`, so tests and scripts read values, not pixels.
 * - `sparkline(values, kind)`: a small line of recent samples (`data-chart`
 *   names it, every point is in `data-values`).
 * Colours come from {@linkcode CHARTS_CSS}.
 *
 * @example
 * ```ts
 * import { PAGE_JS } from "../page_kit.ts";
 * import { CHARTS_JS } from "./charts.ts";
 * const script = `<script>${PAGE_JS}${CHARTS_JS}</script>`;
 * ```
 *
 * @module
 */

/**
 * The charts' colours and type.
 *
 * @example
 * ```ts
 * import { CHARTS_CSS } from "./charts.ts";
 * console.log(CHARTS_CSS.includes(".bar-in"));
 * ```
 */
export const CHARTS_CSS = `
  .bar-in { fill: var(--accent); }
  .bar-out { fill: #9bb9ec; }
  .axis { font-size: 11px; fill: var(--muted); }
  .axis-line { stroke: #c9ced8; }
  .grid-line { stroke: #eef0f4; }
  .spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; }
  .legend { display: inline-flex; align-items: center; gap: 4px; margin-right: 12px;
            color: var(--muted); font-size: 12px; }
  .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; }
`;

/**
 * See the module doc.
 *
 * @example
 * ```ts
 * import { CHARTS_JS } from "./charts.ts";
 * console.log(CHARTS_JS.includes("function trafficChart"));
 * ```
 */
export const CHARTS_JS = `
function dayLabel(daysAgo) {
  const d = new Date(Date.now() - daysAgo * 86400000);
  return String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
}

function trafficChart(days) {
  const W = 640, H = 200, left = 64, bottom = 22, top = 12;
  const n = days.trafficIn.length;
  const max = Math.max(1, ...days.trafficIn, ...days.trafficOut);
  const slot = (W - left - 8) / n, bar = Math.min(24, slot / 3);
  const y = (v) => top + (H - top - bottom) * (1 - v / max);
  const parts = [
    el("line", { x1: left, y1: y(0), x2: W - 8, y2: y(0), class: "axis-line" }),
    el("line", { x1: left, y1: y(max), x2: W - 8, y2: y(max), class: "grid-line" }),
    el("text", { x: left - 6, y: y(max) + 4, "text-anchor": "end", class: "axis" }, bytes(max)),
    el("text", { x: left - 6, y: y(0) + 4, "text-anchor": "end", class: "axis" }, "0"),
  ];
  for (let i = 0; i < n; i++) {
    const day = n - 1 - i; // oldest on the left
    const x = left + i * slot + slot / 2;
    for (const [dir, list, dx, cls] of [["in", days.trafficIn, -bar, "bar-in"], ["out", days.trafficOut, 0, "bar-out"]]) {
      const v = list[day];
      // A day with traffic stays visible however small it is next to the busiest one.
      const h = v > 0 ? Math.max(2, y(0) - y(v)) : 0;
      parts.push(el("rect", { x: x + dx, y: y(0) - h, width: bar, height: h, class: cls,
        "data-day": day, "data-dir": dir, "data-bytes": v },
        el("title", {}, dayLabel(day) + " " + dir + ": " + bytes(v))));
    }
    parts.push(el("text", { x, y: H - 6, "text-anchor": "middle", class: "axis" },
      day === 0 ? "today" : dayLabel(day)));
  }
  return el("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, class: "chart",
    "data-chart": "traffic", role: "img", "aria-label": "traffic per day, last " + n + " days" }, parts);
}

function sparkline(values, kind) {
  const W = 220, H = 40;
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? W / (values.length - 1) : 0;
  const points = values.map((v, i) => (i * step).toFixed(1) + "," + (H - 2 - (H - 4) * v / max).toFixed(1));
  return el("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, class: "spark",
    "data-chart": kind, "data-values": values.join(",") },
    el("polyline", { points: points.join(" ") }));
}
`;
