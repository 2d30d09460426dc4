/**
 * A real headless Chromium for the tests of the web pages (the server's
 * dashboard, the client's admin UI, cross-site attacks on the admin APIs).
 * Tests that need it are skipped (`ignore: !hasChromium`) where it is not
 * installed.
 *
 * @example
 * ```ts
 * import { hasChromium, launchChromium, openPage } from "./_browser.ts";
 * if (hasChromium) {
 *   const browser = await launchChromium();
 *   try {
 *     const page = await openPage(browser, "http://127.0.0.1:7500/", {
 *       username: "admin",
 *       password: "s3cret",
 *     });
 *     console.log(await page.title());
 *   } finally {
 *     await browser.close();
 *   }
 * }
 * ```
 *
 * @module
 */

import { type Browser, chromium, type Page } from "playwright-core";

/** Where the Chromium binary is expected. */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether {@linkcode CHROMIUM} is installed (browser tests are ignored when not). */
export const hasChromium: boolean = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/**
 * Launches headless Chromium without sandbox, GPU or its own network chatter (updates,
 * background requests), so that only the test's requests reach the servers; `extraArgs` are
 * added (e.g. `--host-resolver-rules=...`).
 *
 * @example
 * ```ts
 * import { launchChromium } from "./_browser.ts";
 * const browser = await launchChromium(["--host-resolver-rules=MAP *.test 127.0.0.1"]);
 * await browser.close();
 * ```
 */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      ...extraArgs,
    ],
  });
}

/** Options of {@linkcode openPage}. */
export interface OpenPageOptions {
  /** Basic auth user the browser answers with. */
  username: string;
  /** Basic auth password. */
  password: string;
  /** The window size; Playwright's default (1280x720) when left out. */
  viewport?: { width: number; height: number };
  /** Accept every `confirm()`/`alert()` the page shows (e.g. "remove from the store?"). */
  acceptDialogs?: boolean;
}

/**
 * A new browser context that knows the basic auth credentials, and a tab in it at `url`.
 *
 * @example
 * ```ts
 * import { launchChromium, openPage } from "./_browser.ts";
 * const browser = await launchChromium();
 * const page = await openPage(browser, "http://127.0.0.1:7400/", {
 *   username: "admin",
 *   password: "s3cret",
 *   viewport: { width: 1280, height: 900 },
 * });
 * await page.screenshot({ path: "/tmp/ui.png" });
 * await browser.close();
 * ```
 */
export async function openPage(
  browser: Browser,
  url: string,
  { username, password, viewport, acceptDialogs = false }: OpenPageOptions,
): Promise<Page> {
  const context = await browser.newContext({
    httpCredentials: { username, password },
    ...(viewport ? { viewport } : {}),
  });
  const page = await context.newPage();
  if (acceptDialogs) page.on("dialog", (d) => d.accept());
  await page.goto(url);
  return page;
}
