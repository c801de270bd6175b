// The page's bulk fill in headless Chromium: "Compute 1..K" at a given concurrency, from
// a fresh page, timed from the click to the last answer (the page's own figure).
// Usage: node tests/ui/bulk.mjs BASE_URL K CONCURRENCY  → prints one JSON object.
import { launch } from "./browser.mjs";

const [base, kText, concurrencyText] = process.argv.slice(2);
const k = Math.min(Math.max(Number(kText) || 1000, 1), 10000);
const concurrency = Math.min(Math.max(Number(concurrencyText) || 16, 1), 64);
const browser = await launch();
const page = await (await browser.newContext()).newPage();
await page.goto(`${base}/`, { timeout: 60000 });
await page.waitForSelector("html[data-hydrated]", { timeout: 60000 });
await page.fill("#bulk-k", String(k));
await page.fill("#bulk-concurrency", String(concurrency));
const started = Date.now();
await page.click("#bulk-range");
await page.waitForFunction((k) => new RegExp(`^100% · ${k} of ${k}`).test(document.querySelector("#bulk-status")?.textContent ?? ""),
  k, { timeout: 300000, polling: 100 });
const seconds = (Date.now() - started) / 1000;
const status = await page.textContent("#bulk-status");
const failed = Number(/(\d+) failed/.exec(status)?.[1] ?? "-1");
await browser.close();
console.log(JSON.stringify({ k, concurrency, seconds, perSecond: k / seconds, failed, status }));
