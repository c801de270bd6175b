// The served-from mode with a node down, in headless Chromium (run by tests/dev_smoke.sh
// after it takes DOWN_NODE down and has asked for n = 1..60 again): the cells whose home
// is the down node were stored on their failover successors, and the page shows exactly
// those as failed over. The screenshot goes to target/ui-screens/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { getJson, launch, openPage, overlayColours, pageErrors, waitFor } from "./browser.mjs";

const BASE = process.env.BASE_URL ?? "http://localhost:9000";
const DOWN = process.env.DOWN_NODE ?? "eu-west-1";
const SHOTS = new URL("../../target/ui-screens/", import.meta.url).pathname;
let browser;
let page;

const api = (path) => getJson(BASE, path);
const number = async (selector) => Number((await page.textContent(selector)).replaceAll(",", ""));

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await launch();
  page = await openPage(await browser.newContext({ viewport: { width: 1400, height: 1000 } }), BASE);
});

after(async () => {
  await browser?.close();
});

test("with a node down, exactly the cells whose home it is show as failed over", async () => {
  // GIVEN the node down, as the page says
  await page.waitForSelector("#down-warning");
  assert.match(await page.textContent("#down-warning"), new RegExp(DOWN));
  const nodes = (await api("/nodes")).nodes.map((n) => n.node);
  const placement = await api(`/placement?nodes=${nodes.join(",")}`);
  const homeOf = (n) => placement.nodes[placement.cells[n - 1]];
  const expected = [];
  for (let n = 1; n <= 60; n++) if (homeOf(n) === DOWN) expected.push(n);
  assert.ok(expected.length > 0, `some of n = 1..60 live on ${DOWN}`);

  // WHEN the grid is coloured by where each answer came from, and the page asks for
  // n = 1..60 itself
  await page.check("#grid-mode-served");
  await page.fill("#bulk-k", "60");
  await page.click("#bulk-range");
  await waitFor("the bulk run", async () => /^100% · 60 of 60 · 0 failed/.test(await page.textContent("#bulk-status")), 60000);

  // THEN the failed-over cells are exactly those: drawn in one colour of their own,
  // unlike the cells at their home, and counted in the legend
  await waitFor("the failed-over cells counted", async () => (await number("#served-successor")) === expected.length, 10000);
  const colours = await overlayColours(page);
  const failedOver = colours[expected[0] - 1];
  const atHome = Array.from({ length: 60 }, (_, i) => i + 1).find((n) => !expected.includes(n) && homeOf(n) !== DOWN);
  assert.notEqual(failedOver, colours[atHome - 1]);
  const drawn = colours.flatMap((c, i) => (c === failedOver ? [i + 1] : []));
  assert.deepEqual(drawn, expected);
  // AND each was a hit for this page (its ring, and the counts: every n of 1..60 a hit,
  // none computed), answered by a node that is up
  assert.ok((await number("#served-hits")) >= 60);
  assert.equal(await number("#served-computed"), 0);
  const edges = await overlayColours(page, true);
  const hitRing = edges[expected[0] - 1];
  assert.notEqual(hitRing, failedOver);
  for (const n of expected) {
    assert.equal(edges[n - 1], hitRing, `n = ${n} has the hit's ring`);
    const answer = await api(`/primes/${n}`);
    assert.equal(answer.source, "cache", `n = ${n}`);
    assert.ok(answer.node && answer.node !== DOWN, `n = ${n} is held by ${answer.node}`);
  }
  console.log(`${expected.length} of n = 1..60 failed over from ${DOWN}`);
  await page.screenshot({ path: `${SHOTS}16-served-from-failover.png`, fullPage: true });
});

test("the page logged no errors", () => {
  assert.deepEqual(pageErrors, []);
});
