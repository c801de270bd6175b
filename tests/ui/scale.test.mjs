// "See it scale", driven in headless Chromium against `make dev`'s stack (run by
// tests/dev_smoke.sh after grid.test.mjs, all nodes up): the ring view, "what if" with a
// node added and one removed (the counts checked against GET /placement), the
// served-from mode, and the tour by keyboard alone. Screenshots go to target/ui-screens/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { getJson, launch, openPage, overlayColours, pageErrors, waitFor } from "./browser.mjs";

const BASE = process.env.BASE_URL ?? "http://localhost:9000";
const SHOTS = new URL("../../target/ui-screens/", import.meta.url).pathname;
const VIEWPORT = { viewport: { width: 1400, height: 1000 } };
// n's home under naive placement over `nodes` nodes, as the API computes it
// (primescaler_placement::what_if::mod_n_home: splitmix64's finaliser of n, mod N).
const modN = (n, nodes) => {
  const mask = (1n << 64n) - 1n;
  let z = (BigInt(n) + 0x9E3779B97F4A7C15n) & mask;
  z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & mask;
  z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & mask;
  return Number((z ^ (z >> 31n)) % BigInt(nodes));
};
let browser;
let page;

const cell = (n) => page.locator(`#grid [data-n="${n}"]`);
const shot = (name) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
const api = (path) => getJson(BASE, path);
const number = async (selector) => Number((await page.textContent(selector)).replaceAll(",", ""));
// How many cells the overlay draws in another colour than `veil`'s (a cell's index).
const marked = async (veil) => {
  const colours = await overlayColours(page);
  return colours.filter((c) => c !== colours[veil - 1]).length;
};
// The duration of the page's last performance measure `name`, in ms.
const measured = (name) =>
  page.evaluate((name) => performance.getEntriesByName(name).at(-1)?.duration ?? null, name);

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launch();
  page = await openPage(await browser.newContext(VIEWPORT), BASE);
  // Some cells to look at: n = 1..300, stored while every node is up.
  await page.fill("#bulk-k", "300");
  await page.click("#bulk-range");
  await waitFor("the bulk run", async () => /^100% · 300 of 300 · 0 failed/.test(await page.textContent("#bulk-status")), 60000);
});

after(async () => {
  await browser?.close();
});

test("the ring view draws every node's arcs and shares, and a cell's path ends at the home the API uses", async () => {
  const nodes = (await api("/nodes")).nodes.map((n) => n.node);
  await page.click("#ring-toggle");
  await page.waitForSelector("#ring-svg");
  assert.equal(await page.getAttribute("#ring-toggle", "aria-expanded"), "true");
  const ringNodes = await page.$$eval("#ring-svg [data-ring-node]", (ps) => ps.map((p) => p.dataset.ringNode));
  assert.deepEqual(ringNodes.sort(), [...nodes].sort());
  const shards = await page.$$eval("#ring-shares [data-shards]", (ls) => ls.map((l) => Number(l.dataset.shards)));
  assert.equal(shards.length, nodes.length);
  assert.equal(shards.reduce((a, b) => a + b, 0), 65536);
  for (const share of shards) assert.ok(Math.abs(share / 65536 - 1 / nodes.length) < 0.05, `share ${share}`);
  console.log(`ring-open: ${(await measured("ring-open"))?.toFixed(1)} ms of main-thread work to the next paint`);

  // Pointing at a cell tells its path; its home is the one GET /placement gives, and
  // the node the API stored it on (every node is up).
  const placement = await api(`/placement?nodes=${nodes.join(",")}`);
  for (const n of [7, 100, 250]) {
    await cell(n).hover();
    await page.waitForSelector(`#ring-path [data-path-n="${n}"]`);
    const home = await page.getAttribute("#ring-path [data-path-n]", "data-home");
    assert.equal(home, placement.nodes[placement.cells[n - 1]], `n = ${n}`);
    assert.equal((await api(`/primes/${n}`)).node, home, `n = ${n} is stored at its home`);
    assert.match(await page.textContent("#ring-path"), /held at its home/);
    assert.equal(await page.locator("#ring-needle").count(), 1);
  }
  await shot("10-ring-view");
});

test("what if a node joins: only the cells that move onto it are marked, counted as GET /placement counts them", async () => {
  const current = (await api("/nodes")).nodes.map((n) => n.node);
  const proposed = [...current, "us-west-2"];
  const added = current.length;
  const expected = await api(`/placement?nodes=${proposed.join(",")}`);
  await page.fill("#what-if-name", "us-west-2");
  await page.click("#what-if-add");
  await waitFor("the what-if figures", async () => (await page.locator("#what-if-moved").count()) === 1);
  assert.equal(await page.isChecked("#grid-mode-what-if"), true, "the grid shows the what-if");
  assert.equal(await number("#what-if-moved"), expected.moved);
  assert.equal(await number("#what-if-moved-mod-n"), expected.moved_mod_n);
  assert.equal(await number("#what-if-ideal"), Math.floor(10000 / proposed.length));
  assert.equal(expected.cells.filter((c) => c === added).length, expected.moved, "all onto the new node");
  // The overlay marks exactly the cells that move, all in the new node's colour and shape.
  const moving = expected.cells.flatMap((c, i) => (c === added ? [i + 1] : []));
  const staying = expected.cells.findIndex((c) => c !== added) + 1;
  await waitFor("the overlay", async () => (await marked(staying)) === expected.moved);
  const colours = await overlayColours(page);
  assert.equal(new Set(moving.map((n) => colours[n - 1])).size, 1, "one colour for the new node");
  assert.notEqual(colours[moving[0] - 1], colours[staying - 1]);
  console.log(`what-if: ${expected.moved} of 10,000 cells move on the ring, ${expected.moved_mod_n} under mod N; ` +
    `opened in ${(await measured("what-if-open"))?.toFixed(1)} ms to the next paint (overlay drawn in ${(await measured("overlay-draw"))?.toFixed(1)} ms)`);
  // The ring view shows the proposed node set.
  await waitFor("the proposed ring", async () => (await page.locator("#ring-svg [data-ring-node]").count()) === proposed.length);
  await shot("11-what-if-add");

  // hash(n) mod N, in the same view: nearly every cell moves.
  await page.check("#what-if-by-mod-n");
  const stayingModN = Array.from({ length: 10000 }, (_, i) => i + 1).find(
    (n) => expected.current[modN(n, expected.current.length)] === expected.nodes[modN(n, expected.nodes.length)]);
  await waitFor("the mod-N overlay", async () => (await marked(stayingModN)) === expected.moved_mod_n);
  assert.ok(expected.moved_mod_n > 2 * expected.moved);
  await shot("12-what-if-mod-n");
  await page.check("#what-if-by-ring");
  await waitFor("the ring overlay again", async () => (await marked(staying)) === expected.moved);
});

test("what if a node leaves: exactly its cells move, and the least possible is that count", async () => {
  await page.click("#what-if-close");
  await waitFor("the real cluster", async () => await page.isChecked("#grid-mode-nodes"));
  const current = (await api("/nodes")).nodes.map((n) => n.node);
  const gone = current[1];
  const kept = current.filter((n) => n !== gone);
  const before = await api(`/placement?nodes=${current.join(",")}`);
  const expected = await api(`/placement?nodes=${kept.join(",")}`);
  const itsCells = before.cells.filter((c) => c === 1).length;
  await page.click(`#what-if-nodes button[aria-label="Remove ${gone}"]`);
  await waitFor("the what-if figures", async () => (await page.locator("#what-if-moved").count()) === 1);
  assert.equal(await number("#what-if-moved"), expected.moved);
  assert.equal(expected.moved, itsCells);
  assert.equal(await number("#what-if-ideal"), itsCells);
  assert.equal(await number("#what-if-moved-mod-n"), expected.moved_mod_n);
  const staying = before.cells.findIndex((c) => c !== 1) + 1;
  await waitFor("the overlay", async () => (await marked(staying)) === itsCells);
  await shot("13-what-if-remove");
  await page.click("#what-if-close");
  // The running cluster never changed.
  assert.deepEqual((await api("/nodes")).nodes.map((n) => n.node), current);
});

test("what if ten nodes: every node keeps a style of its own, in the list, the ring and the grid", async () => {
  const current = (await api("/nodes")).nodes.map((n) => n.node);
  const more = ["us-west-2", "eu-central-1", "ap-northeast-1", "sa-east-1", "ca-central-1", "ap-south-1", "eu-north-1"];
  const ten = [...current, ...more].slice(0, 10);
  for (const name of ten.slice(current.length)) {
    await page.fill("#what-if-name", name);
    await page.click("#what-if-add");
    await waitFor(`${name} proposed`, async () => (await page.locator(`[data-what-if-node="${name}"]`).count()) === 1);
  }
  const swatches = await page.$$eval("#what-if-nodes .swatch", (ss) => ss.map((s) => s.className));
  assert.equal(new Set(swatches).size, 10, swatches.join(" / "));
  // Each its own colour, as the stylesheet paints it.
  const painted = await page.$$eval("#what-if-nodes .swatch", (ss) => ss.map((s) => getComputedStyle(s).backgroundColor));
  assert.equal(new Set(painted).size, 10, painted.join(" / "));
  await waitFor("the ring of ten", async () => (await page.locator("#ring-svg [data-ring-node]").count()) === 10);
  const arcs = await page.$$eval("#ring-svg [data-ring-node]", (ps) => ps.map((p) => p.getAttribute("class")));
  assert.equal(new Set(arcs).size, 10, arcs.join(" / "));
  const expected = await api(`/placement?nodes=${ten.join(",")}`);
  assert.equal(await number("#what-if-moved"), expected.moved);
  await shot("13b-what-if-ten-nodes");
  await page.click("#what-if-close");
});

test("served from: cells stored at their home, and this page's own hits and computations", async () => {
  await page.check("#grid-mode-served");
  await waitFor("the legend", async () => await page.isVisible("#served-legend"));
  const cached = await page.locator("#grid [data-node]").count();
  await waitFor("every cached cell counted", async () => (await number("#served-home")) + (await number("#served-successor")) === cached);
  // Every node is up and nothing was ever failed over here: all at home, drawn alike
  // (n = 1 is cached, n = 9,000 is not).
  assert.equal(await number("#served-successor"), 0);
  const colours = await overlayColours(page);
  const home = colours[0];
  assert.notEqual(home, colours[9000 - 1]);
  assert.equal(colours.filter((c) => c === home).length, cached);
  // A hit, then a computation, by this page: each gets its ring.
  await page.fill("#n-input", "42");
  await page.click("#compute-button");
  await waitFor("the hit on 42", async () => (await page.textContent("#result-source")) === "cache hit");
  await page.fill("#n-input", "4243");
  await page.click("#compute-button");
  await waitFor("4243 computed", async () => (await page.textContent("#result-prime")) === "40483");
  await waitFor("the page's own requests counted", async () => (await number("#served-hits")) >= 1 && (await number("#served-computed")) >= 1);
  const [edges, centres] = [await overlayColours(page, true), await overlayColours(page)];
  // n = 41 was computed by this page's bulk run, 42 then asked again (a hit), 4243
  // computed just now: each has a ring unlike its fill; the two computations' alike,
  // the hit's another.
  for (const n of [41, 42, 4243]) assert.notEqual(edges[n - 1], centres[n - 1], `n = ${n} has a ring`);
  assert.equal(edges[4243 - 1], edges[41 - 1], "a computation's ring");
  assert.notEqual(edges[42 - 1], edges[41 - 1], "a hit's ring, not a computation's");
  assert.equal(edges[4244 - 1], centres[4244 - 1], "no ring on a cell the page did not ask for");
  await shot("14-served-from");
  await page.check("#grid-mode-nodes");
});

test("the tour runs from start to end by keyboard alone, and is not offered again", async () => {
  const context = await browser.newContext(VIEWPORT);
  const tour = await openPage(context, BASE);
  await tour.waitForSelector("#tour-offer");
  // Tab to the offer's Start button.
  for (let i = 0; i < 40 && (await tour.evaluate(() => document.activeElement?.id)) !== "tour-start"; i++) {
    await tour.keyboard.press("Tab");
  }
  assert.equal(await tour.evaluate(() => document.activeElement?.id), "tour-start");
  await tour.keyboard.press("Enter");
  const targets = ["bulk", "ring", "what-if", "nodes", "grid-mode"];
  for (const [i, target] of targets.entries()) {
    await waitFor(`step ${i + 1}`, async () => (await tour.textContent("#tour-progress")) === `Tour: step ${i + 1} of 5`);
    await waitFor(`step ${i + 1} focused`, async () => (await tour.evaluate(() => document.activeElement?.id)) === "tour-step-title");
    const outlined = await tour.$$eval("[data-tour-target]", (es) => es.map((e) => e.id));
    assert.deepEqual(outlined, [target]);
    await tour.screenshot({ path: `${SHOTS}15-tour-step-${i + 1}.png`, fullPage: true });
    // From the step's title, Tab reaches Next (Back is disabled on the first step).
    await tour.keyboard.press("Tab");
    if (i > 0) await tour.keyboard.press("Tab");
    assert.equal(await tour.evaluate(() => document.activeElement?.id), "tour-next");
    await tour.keyboard.press("Enter");
  }
  await waitFor("the tour to close", async () => (await tour.locator("#tour").count()) === 0);
  assert.equal(await tour.locator("[data-tour-target]").count(), 0);
  // Remembered: a reload offers it no more; the header's button starts it again, and
  // Escape closes it.
  await tour.reload();
  await tour.waitForSelector("html[data-tour-checked]");
  assert.equal(await tour.locator("#tour-offer").count(), 0);
  await tour.focus("#tour-button");
  await tour.keyboard.press("Enter");
  await waitFor("the tour again", async () => (await tour.locator("#tour").count()) === 1);
  await waitFor("its title focused", async () => (await tour.evaluate(() => document.activeElement?.id)) === "tour-step-title");
  await tour.keyboard.press("Escape");
  await waitFor("the tour closed by Escape", async () => (await tour.locator("#tour").count()) === 0);
  await waitFor("the focus back on the Tour button", async () =>
    (await tour.evaluate(() => document.activeElement?.id)) === "tour-button", 2000);
  await context.close();
});

test("the page logged no errors", () => {
  assert.deepEqual(pageErrors, []);
});
