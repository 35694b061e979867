// Browser test of the resident pages: headless Debian chromium driven by
// playwright-core. Searches, opens a service, sees every validation
// error at once (bad phone, bad postcode, no consent; what was typed
// kept), submits a self and an on-behalf referral, gets references,
// opens the status page, and runs axe-core on every page: no serious
// or critical violations.
// usage: node tests/e2e/gateway.mjs GATEWAY_URL   (prints "ok - ..." lines)
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const axePath = require.resolve("axe-core/axe.min.js");
const base = process.argv[2];
const results = [];
const report = (ok, name) => { results.push(ok); console.log(`${ok ? "ok" : "not ok"} - ${name}`); };

async function axe(page, name) {
  await page.addScriptTag({ path: axePath });
  const r = await page.evaluate(async () => await window.axe.run(document, {
    runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"] },
  }));
  const bad = r.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  report(bad.length === 0, `axe: no serious or critical violations on ${name}` +
    (bad.length ? ` (${bad.map((v) => v.id).join(", ")})` : ""));
}

async function referralForm(page, kind) {
  await page.goto(`${base}/`);
  await page.fill("#q", "debt");
  await page.click("button[type=submit]");
  await page.click("text=Debt advice drop-in");
  await page.click(kind === "self" ? "text=Refer yourself" : "text=Refer someone else");
}

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const ctx = await browser.newContext({ bypassCSP: true }); // lets axe in
  const page = await ctx.newPage();

  await page.goto(`${base}/`);
  report((await page.title()).includes("Find local support"), "search page opens");
  await axe(page, "the search page");
  await page.fill("#q", "debt");
  await page.click("button[type=submit]");
  report(await page.isVisible("text=Debt advice drop-in"), "searching 'debt' lists the service");
  await axe(page, "the results page");
  await page.click("text=Debt advice drop-in");
  report(await page.isVisible("h1:has-text('Debt advice drop-in')"), "the service page opens");
  await axe(page, "the service page");

  await page.click("text=Refer yourself");
  report(await page.isVisible("h1:has-text('Refer yourself')"), "the self-referral form opens");
  await axe(page, "the referral form");
  await page.fill("#person_name", "Zelda Browser");
  await page.fill("#person_phone", "12345");
  await page.fill("#person_postcode", "KT1");
  await page.click("button:has-text('Send referral')");
  report(await page.isVisible(".govuk-error-summary:has-text('Enter a UK phone number')"),
    "a bad phone number shows the error summary");
  report(await page.isVisible(".govuk-error-summary:has-text('Enter a real postcode')") &&
    await page.isVisible(".govuk-error-summary:has-text('Tick the box')"),
    "every other error is in the summary at the same time (postcode, consent)");
  report(await page.locator(".govuk-error-summary__list li").count() === 3,
    "the summary lists exactly the three problems");
  report(await page.isVisible("#person_phone-error") && await page.isVisible("#person_postcode-error") &&
    await page.isVisible("#consent_share-error"), "each error is beside its field");
  report(await page.inputValue("#person_name") === "Zelda Browser" &&
    await page.inputValue("#person_phone") === "12345" && await page.inputValue("#person_postcode") === "KT1",
    "what was typed is kept");
  await axe(page, "the form with errors");
  await page.fill("#person_phone", "07700 900123");
  await page.fill("#person_postcode", "KT1 1EU");
  await page.check("#consent_share");
  await page.click("button:has-text('Send referral')");
  const ref = (await page.textContent("#reference").catch(() => "")) || "";
  report(/^SP-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$/.test(ref.trim()), `self referral gets a reference (${ref.trim()})`);
  await axe(page, "the confirmation page");

  await page.click("#status-link");
  let seen = false;
  for (let i = 0; i < 60 && !seen; i++) {
    seen = await page.isVisible("#status:has-text('Received')");
    if (!seen) { await page.waitForTimeout(500); await page.reload(); }
  }
  report(seen, "the status link shows Received");
  await axe(page, "the status page");

  await referralForm(page, "on_behalf");
  report(await page.isVisible("h1:has-text('Refer someone else')"), "the on-behalf form opens");
  await page.fill("#referrer_name", "Ann Helper");
  await page.fill("#referrer_relationship", "neighbour");
  await page.fill("#referrer_email", "ann@example.org");
  await page.fill("#person_name", "Bob Neighbour");
  await page.fill("#person_address", "1 High Street, Kingston");
  await page.check("#consent_share");
  await page.click("button:has-text('Send referral')");
  const ref2 = ((await page.textContent("#reference").catch(() => "")) || "").trim();
  report(/^SP-/.test(ref2) && ref2 !== ref.trim(), `on-behalf referral gets its own reference (${ref2})`);

  await page.goto(`${base}/privacy`);
  report(await page.isVisible("h1:has-text('Privacy')"), "the privacy page opens");
  await axe(page, "the privacy page");
} catch (e) {
  report(false, `browser run failed: ${String(e).split("\n")[0]}`);
} finally {
  await browser.close();
}
process.exit(results.every(Boolean) ? 0 : 1);
