// Time to interactive of the page in headless Chromium, beside a reference: the same
// server-rendered HTML with its script removed (what the browser needs just to show
// the grid). Each load uses a fresh browser context, so nothing is cached.
// With CELLS, also the time until that many cells show a stored record (the grid shown,
// whether the page came with it or its first poll brought it).
// Usage: node tests/ui/tti.mjs BASE_URL RUNS [CELLS]  → prints one JSON object.
import { launch } from "./browser.mjs";

const [base, runsText, cellsText] = process.argv.slice(2);
const cells = Number(cellsText) || 0;
const runs = Math.min(Math.max(Number(runsText) || 5, 1), 50);
const browser = await launch();
const html = await (await fetch(`${base}/`)).text();
const staticHtml = html.replace(/<script type="module">[\s\S]*?<\/script>/, "");

const hydrated = [];
const afterFirstByte = [];
const shown = [];
const staticLoad = [];
let failed = 0;
for (let i = 0; i < runs; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${base}/`, { timeout: 60000 });
    await page.waitForFunction(() => document.documentElement.hasAttribute("data-hydrated"), null, { timeout: 60000 });
    const [at, firstByte] = await page.evaluate(() => [
      performance.getEntriesByName("hydrated")[0].startTime,
      performance.getEntriesByType("navigation")[0].responseStart,
    ]);
    hydrated.push(at);
    // The browser's share: from the page's first byte (the server has read every node by
    // then) to the end of hydration.
    afterFirstByte.push(at - firstByte);
    if (cells > 0) {
      await page.waitForFunction(
        (want) => document.querySelectorAll("#grid [data-node]").length >= want, cells, { timeout: 60000 });
      shown.push(await page.evaluate(() => performance.now()));
    }
  } catch (e) {
    failed += 1;
    console.error(`load ${i}: ${String(e).split("\n")[0]}`);
  }
  await context.close();

  const reference = await browser.newContext();
  const refPage = await reference.newPage();
  await refPage.route(`${base}/static-copy`, (route) =>
    route.fulfill({ status: 200, contentType: "text/html; charset=utf-8", body: staticHtml }));
  await refPage.goto(`${base}/static-copy`, { waitUntil: "load" });
  staticLoad.push(await refPage.evaluate(() => performance.getEntriesByType("navigation")[0].loadEventEnd));
  await reference.close();
}
await browser.close();
console.log(JSON.stringify({ hydrated, afterFirstByte, shown, staticLoad, failed }));
