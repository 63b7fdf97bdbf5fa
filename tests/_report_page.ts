/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * Opens an HTML report in headless Chromium (Debian's `chromium`, driven by
 * playwright-core) and prints, as one JSON object on stdout, what a reader
 * would see: the grid's captions and whether each picture loaded, the
 * confusion matrix's cells, the points of each curve, every request the page
 * made, any Content-Security-Policy violation and console error. It also
 * saves a full-page screenshot.
 *
 * Usage: deno run --allow-all tests/_report_page.ts <report.html> <screenshot.png>
 *
 * It runs as its own process because playwright-core, under Deno, needs
 * --allow-all (its is-wsl check reads /proc/sys, which Deno allows only
 * then); the test suite itself keeps its narrower permissions.
 * @module
 */
import { withPage } from "./_browser.ts";

/** What {@linkcode inspectReport} finds on the page. */
export interface PageFacts {
  /** Every URL the page requested (the page itself included). */
  requests: string[];
  /** Content-Security-Policy violations: blocked URIs. */
  violations: string[];
  /** Console errors and page errors. */
  errors: string[];
  /** The course's grid: caption text, picture width as decoded, alt text. */
  grid: { caption: string; naturalWidth: number; alt: string }[];
  /** Numbers in the confusion matrix's body cells, row by row. */
  confusion: number[][];
  /** Header texts of the confusion matrix (columns, then rows). */
  confusionHeaders: { columns: string[]; rows: string[] };
  /** `<circle data-series=…>` count by series. */
  points: Record<string, number>;
  /** Rows of the progress-line table. */
  historyRows: number;
  /** Misclassified photos listed. */
  mistakes: number;
  /** Images without alt text. */
  imagesWithoutAlt: number;
  /** Document title. */
  title: string;
}

/**
 * Loads `htmlPath` as a `file://` page and collects {@linkcode PageFacts}.
 * @param htmlPath The report.
 * @param screenshotPath Where to save a full-page PNG.
 * @returns The facts.
 */
export async function inspectReport(htmlPath: string, screenshotPath: string): Promise<PageFacts> {
  return await withPage({ width: 1100, height: 900 }, async (page, log) => {
    await page.goto(new URL(`file://${await Deno.realPath(htmlPath)}`).href, { waitUntil: "load" });
    const facts = await page.evaluate(() => {
      const cells = (sel: string) =>
        [...document.querySelectorAll(sel)].map((e) => e.textContent?.trim() ?? "");
      const points: Record<string, number> = {};
      for (const c of document.querySelectorAll("svg circle[data-series]")) {
        const s = c.getAttribute("data-series")!;
        points[s] = (points[s] ?? 0) + 1;
      }
      return {
        grid: [...document.querySelectorAll("#grid figure")].map((f) => {
          const img = f.querySelector("img");
          return {
            caption: f.querySelector("figcaption")?.textContent?.trim() ?? "",
            naturalWidth: img?.naturalWidth ?? 0,
            alt: img?.alt ?? "",
          };
        }),
        confusion: [...document.querySelectorAll("#confusion tbody tr")].map((tr) =>
          [...tr.querySelectorAll("td")].map((td) => Number(td.textContent))
        ),
        confusionHeaders: {
          columns: cells("#confusion thead th"),
          rows: cells("#confusion tbody th[scope=row]:first-child"),
        },
        points,
        historyRows: document.querySelectorAll("#history tbody tr").length,
        mistakes: document.querySelectorAll("#mistakes tbody tr").length,
        imagesWithoutAlt: [...document.images].filter((i) => !i.hasAttribute("alt")).length,
        title: document.title,
      };
    });
    await page.screenshot({ path: screenshotPath, fullPage: true });
    return { requests: log.requests, errors: log.errors, violations: await log.violations(), ...facts };
  });
}

if (import.meta.main) {
  const [html, shot] = Deno.args;
  if (!html || !shot) {
    console.error("usage: deno run --allow-all tests/_report_page.ts <report.html> <screenshot.png>");
    Deno.exit(2);
  }
  console.log(JSON.stringify(await inspectReport(html, shot)));
}
