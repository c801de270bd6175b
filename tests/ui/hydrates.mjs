// The page at BASE_URL is served, hydrates in headless Chromium, and computes n = 7 from
// its form into its grid, with no error logged (`make test-cloud`, under sam local).
import { launch, openPage, pageErrors, waitFor } from "./browser.mjs";

const base = process.env.BASE_URL;
const browser = await launch();
try {
  const page = await openPage(await browser.newContext(), base);
  const cells = await page.locator("#grid [data-n]").count();
  if (cells !== 10000) throw new Error(`the grid has ${cells} cells, not 10,000`);
  console.log("hydrated, with the grid's 10,000 cells");
  await page.fill("#n-input", "7");
  await page.click("#compute-button");
  await page.waitForFunction(() => document.querySelector("#result-prime")?.textContent === "17", null, { timeout: 20000 });
  await waitFor("cell 7 to fill", async () => (await page.locator('#grid [data-n="7"]').getAttribute("data-node")) !== null, 20000);
  console.log("n = 7, computed from the page's form, shows 17 and fills its cell");
  if (pageErrors.length) throw new Error(`the page logged: ${pageErrors.join("; ")}`);
} finally {
  await browser.close();
}
