// The UI, driven in Debian's headless Chromium through playwright-core.
// Run by tests/dev_smoke.sh against `make dev`'s stack: BASE_URL and RESET_TOKEN come
// from there. Screenshots of each state go to target/ui-screens/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { launch, openPage as openWatchedPage, pageErrors, waitFor } from "./browser.mjs";

const BASE = process.env.BASE_URL ?? "http://localhost:9000";
const TOKEN = process.env.RESET_TOKEN ?? "";
// A second UI function over the same nodes, whose grid read is slowed on purpose.
const SLOW_BASE = process.env.SLOW_UI_URL ?? "";
const SLOW_READ_MS = Number(process.env.SLOW_READ_MS ?? "3000");
const SHOTS = new URL("../../target/ui-screens/", import.meta.url).pathname;
let browser;
let page;

const active = () => page.locator("#grid [data-node]").count();
// Every n in the store, from `GET /grid` (n goes as differences from the previous cell's).
const storedIndexes = async () => {
  const grid = await (await fetch(`${BASE}/grid`)).json();
  let n = 0;
  return grid.n.map((step) => (n += step));
};
const cell = (n) => page.locator(`#grid [data-n="${n}"]`);
const shot = (name) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });

const openPage = (context) => openWatchedPage(context, BASE);

async function resetWith(token) {
  await page.fill("#token-input", token);
  page.once("dialog", (d) => d.accept());
  await page.click("#reset-button");
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launch();
  page = await openPage(await browser.newContext({ viewport: { width: 1400, height: 1000 } }));
  await resetWith(TOKEN);
  await waitFor("an empty grid", async () => (await active()) === 0);
});

after(async () => {
  await browser?.close();
});

test("the page renders 10,000 cells and hydrates", async () => {
  assert.equal(await page.locator("#grid [data-n]").count(), 10000);
  const tti = await page.evaluate(() => performance.getEntriesByName("hydrated")[0]?.startTime);
  assert.ok(tti > 0, "the page marks when it is interactive");
  console.log(`time to interactive: ${tti.toFixed(0)} ms`);
  await shot("01-loaded");
});

test("computing n = 100 from the input shows 541 and fills its cell", async () => {
  await page.fill("#n-input", "100");
  await page.click("#compute-button");
  await page.waitForFunction(() => document.querySelector("#result-prime")?.textContent === "541");
  await waitFor("cell 100 to fill", async () => (await cell(100).getAttribute("data-node")) !== null);
  assert.equal(await page.textContent("#result-source"), "computed");
  assert.ok((await page.textContent("#result-node")).length > 0);
  await page.click("#compute-button");
  await waitFor("the second answer, from the cache", async () => (await page.textContent("#result-source")) === "cache hit");
  assert.equal(await page.textContent("#result-prime"), "541");
  await shot("02-computed-100");
});

test("clicking an empty cell computes it, clicking it again evicts it", async () => {
  assert.equal(await cell(5000).getAttribute("data-node"), null);
  await cell(5000).click();
  await waitFor("cell 5000 to fill", async () => (await cell(5000).getAttribute("data-node")) !== null);
  assert.equal(await page.textContent("#result-prime"), "48611");
  await shot("03-clicked-5000");
  await page.fill("#token-input", TOKEN);
  await cell(5000).click();
  await waitFor("cell 5000 to empty", async () => (await cell(5000).getAttribute("data-node")) === null);
  assert.ok(!(await storedIndexes()).includes(5000), "the store no longer holds 5000");
  await shot("04-evicted-5000");
});

test("the keyboard moves through the grid and computes the focused cell", async () => {
  // The grid's one tab stop is the cell last clicked (5000); Home and Page Up lead to n = 1.
  await page.locator("#grid [tabindex='0']").focus();
  assert.equal(await page.locator("#grid [tabindex]").count(), 1, "the grid is one tab stop");
  await page.keyboard.press("Home");
  for (let i = 0; i < 10; i++) await page.keyboard.press("PageUp");
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("data-n")), "1");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowDown");
  const focused = await page.evaluate(() => document.activeElement?.getAttribute("data-n"));
  assert.equal(focused, "102");
  await page.keyboard.press("Enter");
  await waitFor("cell 102 to fill", async () => (await cell(102).getAttribute("data-node")) !== null);
  assert.equal(await page.textContent("#result-prime"), "557");
});

test("bulk 1..200 reaches 100% and leaves 200 cells active", async () => {
  await page.fill("#bulk-k", "200");
  await page.fill("#bulk-concurrency", "16");
  await page.click("#bulk-range");
  await waitFor("the bulk run to finish", async () => /^100% · 200 of 200 · 0 failed/.test(await page.textContent("#bulk-status")), 60000);
  assert.equal(await page.getAttribute("#bulk-progress", "value"), "200");
  await waitFor("200 active cells", async () => (await active()) === 200);
  await shot("05-bulk-200");
});

test("another session's change appears within 2 s while the grid is changing", async () => {
  const other = await openPage(await browser.newContext());
  assert.equal(await other.locator("#grid [data-node]").count(), 200, "the second page starts from the same grid");
  // Tag every cell element of the second page, to see below that an update repaints
  // cells in place instead of rebuilding the grid.
  await other.evaluate(() => document.querySelectorAll("#grid [data-n]").forEach((c) => { c.seen = true; }));
  // The grid is changing: a first change, which both pages pick up (a page that has sat
  // idle may take up to its stated interval for this one), brings both to polling every
  // second.
  assert.equal((await (await fetch(`${BASE}/primes/9997`)).json()).prime, 104711);
  await waitFor("cell 9997 on both pages", async () =>
    (await cell(9997).getAttribute("data-node")) !== null &&
    (await other.locator('#grid [data-n="9997"]').getAttribute("data-node")) !== null, 20000);
  // The first page may have backed off again while the second caught up: a second
  // change, which both now see within a couple of seconds, brings both back together.
  assert.equal((await (await fetch(`${BASE}/primes/9996`)).json()).prime, 104707);
  await waitFor("cell 9996 on both pages", async () =>
    (await cell(9996).getAttribute("data-node")) !== null &&
    (await other.locator('#grid [data-n="9996"]').getAttribute("data-node")) !== null, 10000);
  const every = async (p) => Number(await p.getAttribute("#live-status", "data-every-ms"));
  await waitFor("both pages polling every second", async () =>
    (await every(page)) === 1000 && (await every(other)) === 1000, 5000);
  const answer = await (await fetch(`${BASE}/primes/9999`)).json();
  assert.equal(answer.prime, 104723);
  const changedAt = Date.now();
  await waitFor("cell 9999 on both pages", async () =>
    (await cell(9999).getAttribute("data-node")) !== null &&
    (await other.locator('#grid [data-n="9999"]').getAttribute("data-node")) !== null, 2000);
  console.log(`another session's change shown after ${Date.now() - changedAt} ms`);
  const kept = await other.evaluate(() => [...document.querySelectorAll("#grid [data-n]")].filter((c) => c.seen).length);
  assert.equal(kept, 10000, "the update kept every cell element");
  await other.close();
});

test("reset needs the token, then empties the grid", async () => {
  const before = await active();
  assert.ok(before > 0);
  await resetWith("wrong-token");
  await page.waitForSelector("#notice .notice-error");
  assert.match(await page.textContent("#notice"), /Reset refused/);
  assert.equal(await active(), before, "a refused reset changes nothing");
  await resetWith(TOKEN);
  await waitFor("an empty grid", async () => (await active()) === 0);
  // The page empties at once; GET /grid may still answer, for up to half a second, a
  // read that began before the reset (the UI function shares its last read that long).
  await waitFor("an empty store", async () => (await storedIndexes()).length === 0, 3000);
  await shot("06-reset");
});

test("bad input gets a message and changes nothing", async () => {
  for (const [raw, message] of [["abc", /whole number/], ["0", /at least 1/], ["", /missing/]]) {
    await page.fill("#n-input", raw);
    await page.click("#compute-button");
    await waitFor(`a message for ${JSON.stringify(raw)}`, async () => message.test(await page.textContent("#n-error")));
    assert.equal(await page.getAttribute("#n-input", "aria-invalid"), "true");
  }
  assert.equal(await active(), 0);
  await shot("07-bad-input");
});

test("an idle page backs off, says so, and still shows a change within the interval it states", { timeout: 120000 }, async () => {
  // GIVEN a page on a grid that stands still, on a clock the test moves: the page's
  // timers, Date and performance are Playwright's, so its own schedule is what runs,
  // but the minute it takes to play out passes in seconds. Each step runs the timers of
  // the next 250 ms, then waits for the requests they started to be answered.
  // (The old real-time version of this test took 65 s of every `make test`.)
  const context = await browser.newContext();
  await context.clock.install();
  const idle = await openPage(context);
  // (Paused a little ahead: the clock runs on while this reads it.)
  let now = (await idle.evaluate(() => Date.now())) + 2000;
  await context.clock.pauseAt(now);
  const requests = [];
  const inFlight = new Set();
  idle.on("request", (r) => {
    inFlight.add(r);
    requests.push([now, r.method(), new URL(r.url()).pathname]);
  });
  idle.on("requestfinished", (r) => inFlight.delete(r));
  idle.on("requestfailed", (r) => inFlight.delete(r));
  const step = async () => {
    now += 250;
    await context.clock.runFor(250);
    // An answer takes milliseconds here. One that never comes (see browser.mjs) is left
    // to the page's own deadline, on its clock, after 2 s of waiting.
    const until = Date.now() + 2000;
    while (inFlight.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    // the answer's handling (microtasks and the DOM), before the next step's timers
    await new Promise((r) => setTimeout(r, 10));
  };
  const every = async () => Number(await idle.getAttribute("#live-status", "data-every-ms"));
  const advanceUntil = async (what, check, ms) => {
    const from = now;
    while (!(await check())) {
      if (now - from >= ms) throw new Error(`${what}: not within ${ms} ms of the page's clock`);
      await step();
    }
    return now - from;
  };
  // WHEN it has found nothing new for a while, THEN it polls every 15 s, and says so
  await advanceUntil("the idle interval", async () => (await every()) === 15000, 40000);
  assert.match(await idle.textContent("#live-status"), /every 15 s/);
  // AND over the next 30 s it asks for nothing but the grid, at most 3 times
  const from = now;
  while (now - from < 30000) await step();
  const idleRequests = requests.filter(([at]) => at > from && at <= from + 30000);
  console.log(`idle page: ${idleRequests.length} requests in 30 s (${idleRequests.length * 2} a minute)`);
  assert.ok(idleRequests.every(([, method, path]) => method === "GET" && path === "/grid"), JSON.stringify(idleRequests));
  assert.ok(idleRequests.length >= 1 && idleRequests.length <= 3, JSON.stringify(idleRequests));
  // WHEN another session changes the grid, THEN the idle page shows it within the
  // interval it states (and a little more for the read and the paint)
  const answer = await (await fetch(`${BASE}/primes/9998`)).json();
  assert.equal(answer.prime, 104717);
  const shownAfter = await advanceUntil("cell 9998 on the idle page", async () =>
    (await idle.locator('#grid [data-n="9998"]').getAttribute("data-node")) !== null, 15000 + 3500);
  console.log(`idle page showed the change after ${shownAfter} ms of its clock`);
  // AND then it is live again
  await advanceUntil("the live interval", async () => (await every()) === 1000, 2000);
  await idle.screenshot({ path: `${SHOTS}08-idle-page-caught-up.png`, fullPage: true });
  await context.close();
});

test("the first paint does not wait for a slow grid read", { skip: !SLOW_BASE }, async () => {
  // GIVEN a UI function whose grid read takes GRID_READ_DELAY_MS (3 s)
  const context = await browser.newContext();
  const slow = await context.newPage();
  slow.on("pageerror", (e) => pageErrors.push(String(e)));
  // WHEN the page is opened
  const started = Date.now();
  await slow.goto(SLOW_BASE, { waitUntil: "commit", timeout: 20000 });
  await slow.waitForSelector("#grid [data-n='10000']", { state: "attached", timeout: 20000 });
  const paintedAt = Date.now() - started;
  // THEN it is painted, with the grid still to come, before the read finishes
  // The paint entry is recorded once the frame is painted, which may follow the markup
  // by a frame: wait for it, for as long as the read takes at most.
  const paint = await slow
    .waitForFunction(
      () => performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? null,
      null,
      { timeout: SLOW_READ_MS },
    )
    .then((handle) => handle.jsonValue())
    .catch(() => null);
  assert.ok(paint !== null && paint < SLOW_READ_MS, `first paint at ${paint} ms`);
  assert.ok(paintedAt < SLOW_READ_MS, `the grid's markup was there after ${paintedAt} ms`);
  assert.match(await slow.textContent("#live-status"), /Loading the grid/);
  await slow.screenshot({ path: `${SHOTS}09-first-paint-before-the-grid.png`, fullPage: true });
  // AND the grid arrives with the read
  await slow.waitForSelector("html[data-hydrated]", { timeout: 20000 });
  await waitFor("the grid after the slow read", async () =>
    !/Loading/.test(await slow.textContent("#live-status")), SLOW_READ_MS + 1500);
  console.log(`first paint ${paint.toFixed(0)} ms; the grid read takes ${SLOW_READ_MS} ms`);
  await context.close();
});

test("the page logged no errors", () => {
  assert.deepEqual(pageErrors, []);
});
