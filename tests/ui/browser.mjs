// What every browser script of the UI suite shares: Debian's headless Chromium through
// playwright-core, a polling wait, and a page opened with its errors recorded.
import { chromium } from "../../ui/node_modules/playwright-core/index.mjs";

const CHROMIUM_ARGS = [
  "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-quic", "--no-first-run", "--disable-sync",
];

/** Debian's Chromium, headless. */
export function launch() {
  return chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
}

/** Polls `check` every 50 ms until it holds, failing after `timeoutMs`. */
export async function waitFor(what, check, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every error a page opened by `openPage` logged, or answer it got that a PrimeScaler
 * function should not send. The suite's last test checks that it is empty. */
export const pageErrors = [];

/** The JSON answer of `GET base + path`, failing with the body on any error. (Each
 * function instance under `make dev` passes its results on through a relay of its own,
 * as `cargo lambda watch` 1.9.2 lost some it did not get whole: docs/local.md. Nothing
 * is retried here, so the suite fails if that comes back.) */
export async function getJson(base, path) {
  const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(15000) });
  const body = await response.text();
  if (response.ok) return JSON.parse(body);
  throw new Error(`GET ${path}: ${response.status} ${body}`);
}

/** A new page of `context` at `base`, hydrated, with its errors going to `pageErrors`. */
export async function openPage(context, base) {
  const opened = await context.newPage();
  opened.on("pageerror", (e) => pageErrors.push(String(e)));
  // Failed requests are judged by their responses below; the one expected failure is
  // the reset with a wrong token.
  opened.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && pageErrors.push(m.text()));
  opened.on("response", (r) => {
    const refusedReset = r.request().method() === "DELETE" && r.status() === 403;
    if (r.status() < 400 || refusedReset) return;
    pageErrors.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  await opened.goto(base, { timeout: 20000 });
  await opened.waitForSelector("html[data-hydrated]", { timeout: 20000 });
  return opened;
}

/** The colour the grid's overlay canvas shows for each cell (index n - 1) as "r,g,b",
 * sampled at the cell's centre, or 1 px inside its left edge (`edge`), where a ring is. */
export function overlayColours(page, edge = false) {
  return page.evaluate((edge) => {
    const canvas = document.getElementById("grid-overlay");
    const image = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    const box = canvas.getBoundingClientRect();
    const ratio = canvas.width / box.width;
    return [...document.querySelectorAll("#grid [data-n]")].map((cell) => {
      const c = cell.getBoundingClientRect();
      const x = Math.floor(((edge ? c.left + 1 : c.left + c.width / 2) - box.left) * ratio);
      const y = Math.floor((c.top + c.height / 2 - box.top) * ratio);
      const i = (y * canvas.width + x) * 4;
      return `${image[i]},${image[i + 1]},${image[i + 2]}`;
    });
  }, edge);
}
