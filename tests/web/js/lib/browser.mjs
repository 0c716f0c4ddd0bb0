// Debian's Chromium, headless, driven by playwright-core; a fresh profile each run
// and nothing that reaches the network on its own.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Skip, onCleanup, requireFromTestModules } from "./harness.mjs";

export const CHROMIUM = process.env.LMRT_CHROMIUM || "/usr/bin/chromium";

export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Skip(`no Chromium at ${CHROMIUM} (scripts/install-deps.sh installs it)`);
  const { chromium } = requireFromTestModules("playwright-core");
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "lmrt-chromium-"));
  // playwright passes the profile folder as --user-data-dir.
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  onCleanup(async () => {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  });
  return browser;
}

// A new tab that fails the test on any script error the page itself raises.
export async function openPage(browser, url, viewport = { width: 1100, height: 760 }) {
  const page = await browser.newPage();
  page.setDefaultTimeout(15_000);
  await page.setViewportSize(viewport);
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.assertNoScriptErrors = () => {
    if (errors.length) throw new Error(`the page raised: ${errors.join("; ")}`);
  };
  await page.goto(url);
  return page;
}
