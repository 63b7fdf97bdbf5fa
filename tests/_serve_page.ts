/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * Opens the page of a running `rocks serve` in headless Chromium (Debian's
 * `chromium`, driven by playwright-core, as tests/_report_page.ts does),
 * reaches the file input with the keyboard, uploads one photo through it,
 * waits for the answer, and prints, as one JSON object on stdout, what a
 * reader sees: the model's line, the result's caption, probability and bars,
 * every request the page made, any Content-Security-Policy violation and
 * console error. It also saves a full-page screenshot.
 *
 * Usage: deno run --allow-all tests/_serve_page.ts <url> <photo> <screenshot.png>
 * @module
 */
import { withPage } from "./_browser.ts";

/** What {@linkcode inspectServePage} finds. */
export interface ServePageFacts {
  /** Every URL the page requested (the page itself included). */
  requests: string[];
  /** Content-Security-Policy violations. */
  violations: string[];
  /** Console errors and page errors. */
  errors: string[];
  /** The model's line (classes, accuracy). */
  model: string;
  /** Whether Tab reached the file input, and in how many presses. */
  tabPresses: number | null;
  /** The result's state (`done` or `error`). */
  state: string;
  /** The caption: the predicted class (or "Error: …"). */
  caption: string;
  /** The probability text (`p = 0.973`). */
  p: string;
  /** `data-class` and `data-probability` of the result. */
  data: { class: string; probability: number };
  /** Each bar's row: class label (with ✓ for the predicted one) and percentage text. */
  bars: { label: string; value: string }[];
  /** The file name shown. */
  file: string;
  /** The alt text of the thumbnail, and whether it decoded. */
  image: { alt: string; naturalWidth: number };
  /** Whether the results list and the status line are aria-live regions. */
  live: { results: string | null; status: string | null };
  /** The status line after the upload. */
  status: string;
}

/**
 * Loads the page, uploads `photo` through its file input and collects {@linkcode ServePageFacts}.
 * @param url The server's page (`http://127.0.0.1:PORT/`).
 * @param photo A photo file.
 * @param screenshotPath Where to save a full-page PNG.
 */
export async function inspectServePage(
  url: string,
  photo: string,
  screenshotPath: string,
): Promise<ServePageFacts> {
  return await withPage({ width: 900, height: 800 }, async (page, log) => {
    await page.goto(url, { waitUntil: "load" });
    await page.waitForFunction(() => !document.getElementById("model")!.textContent!.startsWith("Reading"));
    // The file input is a real control: Tab reaches it.
    let tabPresses: number | null = null;
    for (let i = 1; i <= 10; i++) {
      await page.keyboard.press("Tab");
      if (await page.evaluate(() => document.activeElement?.id === "files")) {
        tabPresses = i;
        break;
      }
    }
    await page.setInputFiles("#files", photo);
    await page.waitForSelector("#results li[data-state=done], #results li[data-state=error]", {
      timeout: 180_000,
    });
    await page.waitForFunction(() => document.getElementById("status")!.textContent!.startsWith("Done"));
    const facts = await page.evaluate(() => {
      const li = document.querySelector("#results li")!;
      const img = li.querySelector("img")!;
      const text = (sel: string) => li.querySelector(sel)?.textContent?.trim() ?? "";
      return {
        model: document.getElementById("model")!.textContent!.trim(),
        state: (li as HTMLElement).dataset.state ?? "",
        caption: text(".caption"),
        p: text(".p"),
        data: {
          class: (li as HTMLElement).dataset.class ?? "",
          probability: Number((li as HTMLElement).dataset.probability),
        },
        bars: [...li.querySelectorAll(".bars > div")].map((row) => ({
          label: row.querySelector("dt")?.textContent?.trim() ?? "",
          value: row.querySelector("dd")?.textContent?.trim() ?? "",
        })),
        file: text(".file"),
        image: { alt: img.alt, naturalWidth: img.naturalWidth },
        live: {
          results: document.getElementById("results")!.getAttribute("aria-live"),
          status: document.getElementById("status")!.getAttribute("aria-live"),
        },
        status: document.getElementById("status")!.textContent!.trim(),
      };
    });
    await page.screenshot({ path: screenshotPath, fullPage: true });
    const violations = await log.violations();
    return { requests: log.requests, errors: log.errors, violations, tabPresses, ...facts };
  });
}

if (import.meta.main) {
  const [url, photo, shot] = Deno.args;
  if (!url || !photo || !shot) {
    console.error("usage: deno run --allow-all tests/_serve_page.ts <url> <photo> <screenshot.png>");
    Deno.exit(2);
  }
  console.log(JSON.stringify(await inspectServePage(url, photo, shot)));
}
