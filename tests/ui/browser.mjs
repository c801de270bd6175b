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

// cargo lambda watch (1.9.2) itself answers a few requests with a bare 500 problem
// document, and very rarely never answers, while the same router served by axum
// directly answers every one: see the README's known limits. Those faults are told
// apart by their body, logged, and cost at most one reload of a page; every 4xx or 5xx
// that a PrimeScaler function sends still fails the suite.
const EMULATOR_FAULT = '"type":"https://httpstatuses.com/500"';
const emulatorFaults = [];

/** The JSON answer of `GET base + path`; asked again, up to three times in all, when
 * cargo lambda watch itself answered with its 500 fault or never answered (see above:
 * given up after 15 s; twice in a row was seen once in a smoke run), and failing with
 * the body on any other error. */
export async function getJson(base, path) {
  for (let attempt = 1; ; attempt++) {
    let response;
    try {
      response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(15000) });
    } catch (error) {
      if (attempt < 3 && error.name === "TimeoutError") {
        console.log(`# cargo lambda watch never answered: GET ${path}`);
        continue;
      }
      throw error;
    }
    const body = await response.text();
    if (response.ok) return JSON.parse(body);
    if (attempt < 3 && response.status === 500 && body.includes(EMULATOR_FAULT)) {
      console.log(`# cargo lambda watch fault: GET ${path}`);
      continue;
    }
    throw new Error(`GET ${path}: ${response.status} ${body}`);
  }
}

/** A new page of `context` at `base`, hydrated, with its errors going to `pageErrors`. */
export async function openPage(context, base) {
  const opened = await context.newPage();
  opened.on("pageerror", (e) => pageErrors.push(String(e)));
  // Failed requests are judged by their responses below; the one expected failure is
  // the reset with a wrong token.
  opened.on("console", (m) => m.type() === "error" && !m.text().startsWith("Failed to load resource") && pageErrors.push(m.text()));
  opened.on("response", async (r) => {
    const refusedReset = r.request().method() === "DELETE" && r.status() === 403;
    if (r.status() < 400 || refusedReset) return;
    const what = `${r.status()} ${r.request().method()} ${r.url()}`;
    const body = await r.text().catch(() => "");
    // No PrimeScaler function answers 500 for an asset (it sends 200, 304 or 404), so a
    // 500 there is the emulation's too, whatever its body (a script's may not be readable).
    const asset = new URL(r.url()).pathname.startsWith("/pkg/");
    if (r.status() === 500 && (body.includes(EMULATOR_FAULT) || asset)) {
      emulatorFaults.push(what);
      console.log(`# cargo lambda watch fault: ${what}`);
    } else {
      pageErrors.push(what);
    }
  });
  for (let attempt = 1; ; attempt++) {
    const faultsBefore = emulatorFaults.length;
    try {
      await opened.goto(base, { timeout: 20000 });
      await opened.waitForSelector("html[data-hydrated]", { timeout: 20000 });
      return opened;
    } catch (error) {
      const timedOut = error.name === "TimeoutError";
      if (attempt === 2 || (!timedOut && emulatorFaults.length === faultsBefore)) throw error;
      console.log(`# reloading the page after: ${error.message.split("\n")[0]}`);
    }
  }
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
