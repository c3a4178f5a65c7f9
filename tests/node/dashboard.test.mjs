// The tenant dashboard (/dashboard) in a real browser: Debian's chromium
// driven by playwright-core. Signs in with a tenant token in the URL
// fragment, checks that the usage chart shows the requests this test made,
// creates a token (usable on the data plane at once), revokes it (refused
// then), and saves a screenshot. Every tenant API answer, the test's own
// and those the page received, is validated against openapi.yaml
// (openapi_check.mjs).
//
// Environment (set by tests/e2e/test_dashboard.sh):
//   TOLLGATE_URL            e.g. http://127.0.0.1:18080
//   TOLLGATE_TENANT_TOKEN   a tenant token (role tenant) of the tenant owning:
//   TOLLGATE_DB             a database id, fresh (no traffic but this test's)
//   TOLLGATE_TOKEN          a read-write data-plane token of that database
//   TOLLGATE_SHOT_DIR       where the screenshot goes (dashboard.png)
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { env, gatewayUrl } from "./env.mjs";
import { eventually } from "./eventually.mjs";
import { openapiChecker } from "./openapi_check.mjs";

const need = (name) => env(name, import.meta.url);
const URL_ = gatewayUrl();
const TENANT_TOKEN = need("TOLLGATE_TENANT_TOKEN");
const DB = need("TOLLGATE_DB");
const TOKEN = need("TOLLGATE_TOKEN");
const SHOT_DIR = need("TOLLGATE_SHOT_DIR");
const CHROMIUM = "/usr/bin/chromium";
const TIMEOUT_MS = 30_000;
const SETS = 7, GETS = 5; // the requests this test makes

const dataPlane = (token, path) =>
  fetch(URL_ + path, { headers: { Authorization: `Bearer ${token}` } });
const check = openapiChecker();
const tenantApi = async (path) => {
  const res = await fetch(URL_ + path, { headers: { Authorization: `Bearer ${TENANT_TOKEN}` } });
  const text = await res.text();
  check("GET", path.split("?")[0], res.status, res.headers.get("content-type"), text);
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  return JSON.parse(text);
};
const jwtClaims = (t) => JSON.parse(Buffer.from(t.split(".")[1], "base64url").toString());

test("dashboard: sign in, chart of this test's requests, create and revoke a token", async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  for (let i = 0; i < SETS; i++) assert.equal((await dataPlane(TOKEN, `/set/dash:${i}/v${i}`)).status, 200);
  for (let i = 0; i < GETS; i++) assert.equal((await dataPlane(TOKEN, `/get/dash:${i}`)).status, 200);
  const made = SETS + GETS;
  const from = Math.floor(Date.now() / 1000) - 3600, to = Math.floor(Date.now() / 1000) + 60;
  const usagePath = `/v1/databases/${encodeURIComponent(DB)}/usage?from=${from}&to=${to}&step=minute`;
  const sum = (u) => u.buckets.reduce((a, b) => a + b.requests, 0);
  await eventually(async () => sum(await tenantApi(usagePath)) >= made, "the meter has the requests");

  const userDataDir = mkdtempSync(join(tmpdir(), "tollgate-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM, headless: true, timeout: TIMEOUT_MS,
      viewport: { width: 1280, height: 1400 },
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync"],
    });
    context.setDefaultTimeout(TIMEOUT_MS);
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = [], urls = [];
    page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("request", (r) => urls.push(r.url()));
    page.on("dialog", (d) => d.accept());
    const answers = [];   // the page's tenant API calls, validated
    page.on("response", (r) => {
      const u = new URL(r.url());
      if (!u.pathname.startsWith("/v1/")) return;
      const method = r.request().method();
      answers.push(r.text().then(
        (text) => { check(method, u.pathname, r.status(), r.headers()["content-type"], text); return `${method} ${u.pathname}`; },
        () => `${method} ${u.pathname} (no body)`));
    });

    // Sign in through the fragment: the token never goes into a URL sent.
    const resp = await page.goto(`${URL_}/dashboard#token=${encodeURIComponent(TENANT_TOKEN)}`);
    assert.equal(resp?.status(), 200);
    await page.waitForSelector("#app:not([hidden])");
    assert.equal(await page.evaluate(() => location.hash), "", "the fragment is dropped");
    await page.waitForSelector(`#databases button[data-id="${DB}"]`);
    await page.click(`#databases button[data-id="${DB}"]`);

    // The chart: uPlot drew it, with the requests this test made.
    await page.waitForSelector("#chart-traffic .uplot canvas");
    const shown = await eventually(async () => {
      const n = Number(await page.getAttribute("#chart-traffic", "data-requests"));
      return n >= made ? n : (await page.click("#refresh"), 0);
    }, "the chart counts the requests");
    assert.equal(shown, made, "the chart shows exactly this test's requests");
    assert.equal((await page.textContent("#sum-requests")).trim(), String(made));
    const inked = await page.evaluate(() => {
      const c = document.querySelector("#chart-traffic canvas");
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
      return n;
    });
    assert.ok(inked > 500, `the chart's canvas is drawn on (${inked} pixels)`);
    assert.match(await page.textContent("#top"), /SET/);

    // Create a token: shown once, works at once.
    await page.selectOption("#token-scope", "rw");
    await page.click("#token-create");
    await page.waitForSelector("#new-token:not([hidden])");
    const created = (await page.textContent("#new-token-value")).trim();
    const { jti } = jwtClaims(created);
    assert.equal((await dataPlane(created, "/get/dash:0")).status, 200, "the new token works");
    await page.click("#new-token-done");
    assert.equal((await page.textContent("#new-token-value")).trim(), "", "shown once");
    const row = `#tokens tr[data-jti="${jti}"]`;
    await page.waitForSelector(`${row} button.revoke`);

    // Revoke it: the row says so and the data plane refuses the token.
    await page.click(`${row} button.revoke`);
    await page.waitForSelector(`${row}.revoked`);
    await eventually(async () => (await dataPlane(created, "/get/dash:0")).status === 401,
      "the revoked token is refused");

    mkdirSync(SHOT_DIR, { recursive: true });
    const shot = join(SHOT_DIR, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, "the screenshot was saved");
    console.log(`# screenshot: ${shot}`);

    const validated = await Promise.all(answers);
    for (const want of ["GET /v1/databases", "POST /v1/databases/", "DELETE /v1/tokens/", "GET /v1/billing/current"])
      assert.ok(validated.some((v) => v.startsWith(want)), `the page called ${want}... (${validated.join(", ")})`);
    assert.deepEqual(problems, [], "no script error and no CSP violation");
    assert.ok(!urls.some((u) => /[?&]token=/.test(u)), "no token in any URL requested");
    assert.ok(urls.every((u) => u.startsWith(URL_)), "nothing loaded from another origin");
  } finally {
    if (context) await context.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  }
});
