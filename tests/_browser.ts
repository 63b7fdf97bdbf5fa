/// <reference lib="dom" />
/// <reference lib="deno.ns" />
/**
 * Headless Chromium for the page tests (Debian's `chromium`, driven by
 * playwright-core): one fresh profile per run, every request, console error
 * and Content-Security-Policy violation recorded. Used by the helper scripts
 * that run as their own process (`_report_page.ts`, `_serve_page.ts`),
 * because playwright-core under Deno needs --allow-all (its is-wsl check
 * reads /proc/sys, which Deno allows only then).
 * @module
 */
import { chromium, type Page } from "npm:playwright-core@1.65.1";
// Where Debian's chromium package puts the browser, or what ROCKS_CHROMIUM names.
import { CHROMIUM } from "./_system.ts";

/** What any page did while it was open. */
export interface PageLog {
  /** Every URL the page requested (the page itself included). */
  requests: string[];
  /** Console errors and page errors. */
  errors: string[];
  /** Reads the Content-Security-Policy violations seen so far (blocked URIs). */
  violations(): Promise<string[]>;
}

/**
 * Opens a blank page in a fresh headless Chromium, runs `use` on it, and
 * closes the browser and removes its profile afterwards.
 * @param viewport The window's size.
 * @param use What to do with the page.
 * @returns What `use` returns.
 */
export async function withPage<T>(
  viewport: { width: number; height: number },
  use: (page: Page, log: PageLog) => Promise<T>,
): Promise<T> {
  const profile = await Deno.makeTempDir({ prefix: "rocks-chromium-" });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--no-first-run",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const log: PageLog = {
      requests: [],
      errors: [],
      violations: () =>
        page.evaluate(() => (globalThis as unknown as { __violations: string[] }).__violations),
    };
    context.on("request", (r) => log.requests.push(r.url()));
    page.on("console", (m) => {
      if (m.type() === "error") log.errors.push(m.text());
    });
    page.on("pageerror", (e) => log.errors.push(String(e)));
    await page.addInitScript(() => {
      const seen: string[] = [];
      (globalThis as unknown as { __violations: string[] }).__violations = seen;
      document.addEventListener(
        "securitypolicyviolation",
        (e) => seen.push(e.blockedURI || e.violatedDirective),
      );
    });
    return await use(page, log);
  } finally {
    await context.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
