// The teaching views on the page as it is (the benchmark fills the grid first): opening
// the ring view, opening "what if" (first in a page, then again), and switching to the
// served-from mode, each from the click to the next paint (the page's own performance
// measures), with every long animation frame (> 50 ms of main-thread work in one frame)
// the browser reported meanwhile. Each run is a fresh page.
// Usage: node tests/ui/views.mjs BASE_URL RUNS  → prints one JSON object.
import { launch, waitFor } from "./browser.mjs";

const [base, runsText] = process.argv.slice(2);
const runs = Math.min(Math.max(Number(runsText) || 5, 1), 20);
const browser = await launch();
const result = { ringOpen: [], whatIfFirst: [], whatIfAgain: [], whatIfDraw: [], servedOpen: [], longFrames: [], failed: 0 };
const measured = (page, name) =>
  page.evaluate((name) => performance.getEntriesByName(name).at(-1)?.duration ?? null, name);
const settle = () => new Promise((r) => setTimeout(r, 400));

// One page: its measures go to `result` only when every step completed. A load that the
// local Lambda emulation never answers (see the README's known limits) is counted as
// failed, and the run is made again, up to `runs` times more in all.
async function measurePage() {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  try {
    return await measureIn(await context.newPage());
  } finally {
    await context.close();
  }
}

async function measureIn(page) {
  const one = {};
  await page.goto(`${base}/`, { timeout: 30000 });
  await page.waitForFunction(() => document.documentElement.hasAttribute("data-hydrated"), null, { timeout: 30000 });
  await settle();
  await page.evaluate(() => {
    window.longFrames = [];
    new PerformanceObserver((list) => window.longFrames.push(...list.getEntries().map((e) => ({
      duration: e.duration, blocking: e.blockingDuration,
    })))).observe({ type: "long-animation-frame" });
  });

  await page.click("#ring-toggle");
  await page.waitForSelector("#ring-svg");
  await settle();
  one.ringOpen = await measured(page, "ring-open");

  for (const key of ["whatIfFirst", "whatIfAgain"]) {
    await page.fill("#what-if-name", "us-west-2");
    await page.click("#what-if-add");
    await waitFor("the what-if figures", async () => (await page.locator("#what-if-moved").count()) === 1);
    await settle();
    one[key] = await measured(page, "what-if-open");
    one[`${key}Draw`] = await measured(page, "overlay-draw");
    await page.click("#what-if-close");
    await settle();
  }

  await page.check("#grid-mode-served");
  await page.waitForSelector("#served-legend:not([hidden])");
  await settle();
  one.servedOpen = await measured(page, "grid-mode-served");
  one.longFrames = await page.evaluate(() => window.longFrames);
  return one;
}

for (let done = 0, tries = 0; done < runs && tries < 2 * runs; tries++) {
  let one;
  try {
    one = await measurePage();
  } catch (error) {
    result.failed += 1;
    console.error(`a page failed: ${String(error).split("\n")[0]}`);
    continue;
  }
  done += 1;
  for (const key of ["ringOpen", "whatIfFirst", "whatIfAgain", "servedOpen"]) result[key].push(one[key]);
  result.whatIfDraw.push(one.whatIfFirstDraw, one.whatIfAgainDraw);
  result.longFrames.push(...one.longFrames);
}
await browser.close();
console.log(JSON.stringify(result));
