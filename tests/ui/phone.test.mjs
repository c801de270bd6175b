// The page on a phone: Debian's headless Chromium as a 360×740 and a 390×844 phone
// (touch, device pixel ratio 3). The page is laid out no wider than the screen, the
// whole grid is on screen, every control is a finger's size, and n is computed by touch.
// Run by tests/dev_smoke.sh against `make dev`'s stack (BASE_URL). Screenshots go to
// target/ui-screens/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { launch, openPage, pageErrors, waitFor } from "./browser.mjs";

const BASE = process.env.BASE_URL ?? "http://localhost:9000";
const SHOTS = new URL("../../target/ui-screens/", import.meta.url).pathname;
// The usual smallest target a finger hits with confidence, in CSS px.
const FINGER = 44;
const PHONES = [
  { width: 360, height: 740 },
  { width: 390, height: 844 },
];
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launch();
});
after(() => browser?.close());

/** A page of a phone `width` × `height` CSS px: touch, device pixel ratio 3. */
async function phonePage({ width, height }) {
  const context = await browser.newContext({
    viewport: { width, height },
    deviceScaleFactor: 3,
    isMobile: true,
    hasTouch: true,
  });
  return openPage(context, BASE);
}

for (const phone of PHONES) {
  const size = `${phone.width}×${phone.height}`;

  test(`at ${size}, the page is no wider than the screen and the whole grid is on it`, async () => {
    const page = await phonePage(phone);
    const laid = await page.evaluate(() => {
      const grid = document.getElementById("grid").getBoundingClientRect();
      return {
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        grid: { left: grid.left, right: grid.right, width: grid.width, height: grid.height },
        cells: document.querySelectorAll("#grid [data-n]").length,
      };
    });
    assert.equal(laid.scrollWidth, laid.innerWidth, JSON.stringify(laid));
    assert.equal(laid.cells, 10000);
    assert.ok(laid.grid.left >= 0 && laid.grid.right <= laid.innerWidth, JSON.stringify(laid));
    assert.ok(laid.grid.height <= phone.height, JSON.stringify(laid));
    // Every cell, the last one too, inside the grid's box: none cut off.
    const last = await page.locator('#grid [data-n="10000"]').boundingBox();
    assert.ok(last.x + last.width <= laid.grid.right + 0.5, JSON.stringify({ last, laid }));
    await page.screenshot({ path: `${SHOTS}phone-${phone.width}.png`, fullPage: true });
    await page.context().close();
  });

  test(`at ${size}, every control is at least ${FINGER}×${FINGER} CSS px`, async () => {
    const page = await phonePage(phone);
    const small = await page.evaluate((finger) => {
      const controls = document.querySelectorAll(
        "button:not(.cell), input:not([type=hidden]), select, textarea, summary, a[href]",
      );
      return [...controls]
        .filter((c) => c.getClientRects().length > 0 && getComputedStyle(c).visibility !== "hidden")
        .map((c) => ({ id: c.id || c.textContent.trim().slice(0, 30), box: c.getBoundingClientRect() }))
        .filter(({ box }) => box.width < finger - 0.5 || box.height < finger - 0.5)
        .map(({ id, box }) => `${id}: ${box.width.toFixed(1)}×${box.height.toFixed(1)}`);
    }, FINGER);
    assert.deepEqual(small, []);
    await page.context().close();
  });

  test(`at ${size}, n is computed by touch`, async () => {
    const page = await phonePage(phone);
    const n = 600 + phone.width;
    await page.tap("#n-input");
    await page.fill("#n-input", String(n));
    await page.tap("#compute-button");
    await waitFor("the result", async () => (await page.locator("#result").textContent()).includes(String(n)));
    await waitFor(`n = ${n}'s cell`, async () =>
      (await page.locator(`#grid [data-n="${n}"][data-node]`).count()) === 1);
    await page.screenshot({ path: `${SHOTS}phone-${phone.width}-computed.png`, fullPage: true });
    await page.context().close();
  });
}

test("no page logged an error", () => {
  assert.deepEqual(pageErrors, []);
});
