/**
 * A line chart as inline SVG text, for the HTML report's training curves:
 * axes with round-number ticks, one polyline and one `<circle>` per point for
 * each series, a legend in words. Series differ in dash pattern and marker
 * fill as well as colour, so the chart reads without colour; every point has
 * a `<title>` with its values.
 * @module
 */

/** One point of a series. */
export interface ChartPoint {
  /** Horizontal value (e.g. the optimiser step). */
  x: number;
  /** Vertical value. */
  y: number;
  /** What a reader hovering the point is told. */
  label: string;
}

/** One line of a chart. */
export interface ChartSeries {
  /** Name in the legend. */
  name: string;
  /** Identifier, written as `data-series` on its line and points. */
  id: string;
  /** The points, in x order. */
  points: ChartPoint[];
  /** Stroke colour. @default "#1d4ed8" */
  color?: string;
  /** Dashed line and hollow markers (the second series of a chart). @default false */
  dashed?: boolean;
}

/** Options for {@linkcode lineChart}. */
export interface LineChartOptions {
  /** The chart's title (also its accessible name). */
  title: string;
  /** A sentence describing what it shows, for screen readers. */
  description: string;
  /** Label of the horizontal axis. */
  xLabel: string;
  /** Label of the vertical axis. */
  yLabel: string;
  /** Lowest value of the vertical axis. @default 0 */
  yMin?: number;
  /** Highest value of the vertical axis. @default the data's highest, rounded up to a tick */
  yMax?: number;
  /** Width in pixels. @default 600 */
  width?: number;
  /** Height in pixels. @default 260 */
  height?: number;
  /** Only whole-number ticks on the horizontal axis (e.g. steps). @default false */
  integerX?: boolean;
}

/** Escapes text for HTML and SVG content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Round-number tick values covering `[lo, hi]`, about `count` of them (steps of 1, 2 or 5 × 10ⁿ).
 * @param lo Lowest value.
 * @param hi Highest value.
 * @param count About how many ticks.
 * @returns Tick values from the first multiple of the step ≥ `lo` to the last ≤ `hi`.
 *
 * @example
 * ```ts
 * import { niceTicks } from "./svg_chart.ts";
 * if (niceTicks(0, 1, 5).join() !== "0,0.2,0.4,0.6,0.8,1") throw new Error("wrong");
 * ```
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    ticks.push(Number((k * step).toPrecision(12)));
  }
  return ticks;
}

const fmtTick = (
  v: number,
) => (Math.abs(v) >= 100 || Number.isInteger(v) ? String(v) : String(Number(v.toFixed(3))));

/**
 * Draws series as a line chart.
 * @param series The lines; a series with no points is left out of the plot but kept in the legend.
 * @param options Title, description, axis labels, size.
 * @returns An `<svg>` element as text (`role="img"`, titled and described).
 *
 * @example
 * ```ts
 * import { lineChart } from "./svg_chart.ts";
 * const svg = lineChart(
 *   [{ name: "loss", id: "loss", points: [{ x: 5, y: 0.7, label: "step 5" }, { x: 10, y: 0.3, label: "step 10" }] }],
 *   { title: "Loss", description: "Loss by step", xLabel: "step", yLabel: "loss" },
 * );
 * if (svg.match(/<circle data-series="loss"/g)?.length !== 2) throw new Error(svg);
 * ```
 */
export function lineChart(series: ChartSeries[], options: LineChartOptions): string {
  const width = options.width ?? 600;
  const height = options.height ?? 260;
  const m = { left: 60, right: 150, top: 18, bottom: 46 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p.x);
  let xLo = xs.length ? Math.min(...xs) : 0;
  let xHi = xs.length ? Math.max(...xs) : 1;
  if (xHi === xLo) {
    xLo -= 1;
    xHi += 1;
  }
  const yLo = options.yMin ?? 0;
  const dataHi = all.length ? Math.max(...all.map((p) => p.y)) : yLo + 1;
  let yTicks: number[];
  if (options.yMax !== undefined) yTicks = niceTicks(yLo, options.yMax, 5);
  else {
    // Ticks up to the data's highest value, plus one more when it sits above the last tick.
    yTicks = niceTicks(yLo, Math.max(dataHi, yLo + 1e-6), 5);
    const last = yTicks[yTicks.length - 1]!;
    const step = yTicks.length > 1 ? yTicks[1]! - yTicks[0]! : Math.max(dataHi - yLo, 1);
    if (last < dataHi) yTicks.push(Number((last + step).toPrecision(12)));
  }
  const yHi = options.yMax ?? Math.max(yTicks[yTicks.length - 1]!, yLo + 1e-6);
  const xTicks = niceTicks(xLo, xHi, 6).filter((t) => !options.integerX || Number.isInteger(t));
  const sx = (x: number) => m.left + ((x - xLo) / (xHi - xLo)) * plotW;
  const sy = (y: number) => m.top + plotH - ((y - yLo) / (yHi - yLo)) * plotH;
  const r1 = (v: number) => v.toFixed(1);

  const titleId = `t-${escapeXml(series.map((s) => s.id).join("-") || "chart")}`;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" aria-labelledby="${titleId} ${titleId}-d">`,
    `<title id="${titleId}">${escapeXml(options.title)}</title>`,
    `<desc id="${titleId}-d">${escapeXml(options.description)}</desc>`,
    // Grid lines and tick labels.
    ...yTicks.map((t) =>
      `<line class="grid" x1="${m.left}" x2="${m.left + plotW}" y1="${r1(sy(t))}" y2="${r1(sy(t))}"/>` +
      `<text class="tick" x="${m.left - 6}" y="${r1(sy(t) + 4)}" text-anchor="end">${fmtTick(t)}</text>`
    ),
    ...xTicks.map((t) =>
      `<line class="tickmark" x1="${r1(sx(t))}" x2="${r1(sx(t))}" y1="${m.top + plotH}" y2="${
        m.top + plotH + 5
      }"/>` +
      `<text class="tick" x="${r1(sx(t))}" y="${m.top + plotH + 18}" text-anchor="middle">${
        fmtTick(t)
      }</text>`
    ),
    `<line class="axis" x1="${m.left}" x2="${m.left + plotW}" y1="${m.top + plotH}" y2="${m.top + plotH}"/>`,
    `<line class="axis" x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + plotH}"/>`,
    `<text class="axis-label" x="${m.left + plotW / 2}" y="${height - 8}" text-anchor="middle">${
      escapeXml(options.xLabel)
    }</text>`,
    `<text class="axis-label" transform="translate(14 ${
      m.top + plotH / 2
    }) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  ];
  series.forEach((s, k) => {
    const color = s.color ?? "#1d4ed8";
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    const id = escapeXml(s.id);
    if (s.points.length) {
      const pts = s.points.map((p) => `${r1(sx(p.x))},${r1(sy(p.y))}`).join(" ");
      parts.push(
        `<polyline data-series="${id}" fill="none" stroke="${color}" stroke-width="2"${dash} points="${pts}"/>`,
      );
      for (const p of s.points) {
        parts.push(
          `<circle data-series="${id}" cx="${r1(sx(p.x))}" cy="${r1(sy(p.y))}" r="4" ` +
            `fill="${s.dashed ? "#ffffff" : color}" stroke="${color}" stroke-width="2">` +
            `<title>${escapeXml(p.label)}</title></circle>`,
        );
      }
    }
    // Legend, right of the plot: a line sample with its marker, then the name.
    const ly = m.top + 10 + k * 22;
    const lx = m.left + plotW + 16;
    parts.push(
      `<g class="legend"><line x1="${lx}" x2="${
        lx + 28
      }" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>` +
        `<circle cx="${lx + 14}" cy="${ly}" r="4" fill="${
          s.dashed ? "#ffffff" : color
        }" stroke="${color}" stroke-width="2"/>` +
        `<text x="${lx + 34}" y="${ly + 4}">${escapeXml(s.name)}</text></g>`,
    );
  });
  parts.push(`</svg>`);
  return parts.join("\n");
}
