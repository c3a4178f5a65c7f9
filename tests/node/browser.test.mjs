// A real browser calling tollgate from another origin (CORS), as a web page
// using the Upstash REST API directly with fetch() does.
//
// Needs Debian's chromium at /usr/bin/chromium (apt-get install chromium);
// driven with playwright-core (no browser download). Without chromium the
// test fails, it does not skip.
//
// Environment (set by the harness, tests/e2e/test_clients.sh):
//   TOLLGATE_URL       e.g. http://127.0.0.1:18080
//   TOLLGATE_TOKEN     read-write token for database A
//   TOLLGATE_RO_TOKEN  read-only token for database A
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { env, gatewayUrl } from "./env.mjs";

const need = (name) => env(name, import.meta.url);
const URL_ = gatewayUrl();
const TOKEN = need("TOLLGATE_TOKEN");
const RO_TOKEN = need("TOLLGATE_RO_TOKEN");

const CHROMIUM = "/usr/bin/chromium";
const TIMEOUT_MS = 30_000;
const P = `tgtest:${randomBytes(6).toString("hex")}:browser:`; // per-run key prefix
const b64 = (s) => Buffer.from(s, "utf8").toString("base64");

after(async () => {
  // Clean up with plain fetch from node (no CORS involved).
  let cursor = "0";
  do {
    const res = await fetch(URL_ + "/", {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify(["scan", cursor, "match", `${P}*`, "count", "500"]),
    });
    const { result } = await res.json();
    const [next, keys] = result;
    if (keys.length) {
      await fetch(URL_ + "/", {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify(["del", ...keys]),
      });
    }
    cursor = String(next);
  } while (cursor !== "0");
});

// A page on another origin: a node http server on its own free loopback port.
// It records what it is asked, to prove the API calls did not go through it.
async function startPageServer() {
  const hits = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    if (req.url === "/" || req.url === "/index.html") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      res.end('<!doctype html><html><head><title>tollgate cors</title></head><body>page</body></html>');
    } else {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found");
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  return { server, hits, origin: `http://127.0.0.1:${port}` };
}

async function withBrowserPage(fn) {
  if (!existsSync(CHROMIUM)) {
    assert.fail(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); ` +
        "the browser CORS test needs it",
    );
  }
  const userDataDir = mkdtempSync(join(tmpdir(), "tollgate-chromium-"));
  const page_ = await startPageServer();
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      timeout: TIMEOUT_MS,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    context.setDefaultTimeout(TIMEOUT_MS);
    const page = context.pages()[0] ?? (await context.newPage());
    const consoleLines = [];
    page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    const resp = await page.goto(page_.origin + "/", { timeout: TIMEOUT_MS });
    assert.equal(resp?.status(), 200, "the page loaded");
    assert.notEqual(new URL(page.url()).origin, new URL(URL_).origin, "page and API are different origins");
    return await fn({ page, origin: page_.origin, hits: page_.hits, consoleLines });
  } finally {
    if (context) await context.close().catch(() => {});
    await new Promise((r) => page_.server.close(() => r()));
    page_.server.closeAllConnections?.();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

// Runs in the page: one API call with fetch, everything JS may see of the answer.
// Never rejects: a CORS failure comes back as { error }.
async function callInPage(page, args) {
  return page.evaluate(async ({ url, token, path, method, body, encoding }) => {
    const headers = { Authorization: "Bearer " + token };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (encoding) headers["Upstash-Encoding"] = encoding;
    try {
      const res = await fetch(url + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return {
        status: res.status,
        text,
        syncToken: res.headers.get("upstash-sync-token"),
        contentType: res.headers.get("content-type"),
      };
    } catch (e) {
      return { error: String(e) };
    }
  }, args);
}

test("browser: cross-origin fetch with preflight (set, get, sync token, errors)", { timeout: 120_000 }, async () => {
  const key = `${P}k1`;
  await withBrowserPage(async ({ page, origin, hits, consoleLines }) => {
    // Watch the wire through DevTools: it reports the preflights too.
    const seen = [];
    const preflights = [];
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    cdp.on("Network.requestWillBeSent", (e) => {
      if (e.request.url.startsWith(URL_)) seen.push(`${e.request.method} ${e.request.url.slice(URL_.length)}`);
    });
    cdp.on("Network.responseReceived", (e) => {
      if (e.type === "Preflight" && e.response.url.startsWith(URL_)) {
        const headers = {};
        for (const [name, v] of Object.entries(e.response.headers)) headers[name.toLowerCase()] = v;
        preflights.push({ status: e.response.status, headers });
      }
    });
    const ctx = (what, r) =>
      `${what}: ${JSON.stringify(r)}\nconsole: ${consoleLines.join("\n")}`;

    // 1. POST / with a JSON command, bearer token and base64: needs a preflight.
    const set = await callInPage(page, {
      url: URL_, token: TOKEN, path: "/", method: "POST",
      body: ["set", key, "v"], encoding: "base64",
    });
    assert.equal(set.error, undefined, ctx("set from the page", set));
    assert.equal(set.status, 200, ctx("set", set));
    assert.deepEqual(JSON.parse(set.text), { result: b64("OK") }, ctx("set", set));
    assert.match(String(set.syncToken), /^\d+$/, ctx("upstash-sync-token readable from JS", set));

    // 2. GET of the key, path form, base64 and then plain.
    const get = await callInPage(page, {
      url: URL_, token: TOKEN, path: "/get/" + encodeURIComponent(key), method: "GET", encoding: "base64",
    });
    assert.equal(get.error, undefined, ctx("get from the page", get));
    assert.equal(get.status, 200, ctx("get", get));
    assert.deepEqual(JSON.parse(get.text), { result: b64("v") }, ctx("get", get));
    assert.match(String(get.syncToken), /^\d+$/, ctx("get sync token", get));
    assert.ok(BigInt(get.syncToken) >= BigInt(set.syncToken), ctx("sync token never goes back", { set, get }));

    const getPlain = await callInPage(page, {
      url: URL_, token: TOKEN, path: "/get/" + encodeURIComponent(key), method: "GET",
    });
    assert.equal(getPlain.status, 200, ctx("plain get", getPlain));
    assert.deepEqual(JSON.parse(getPlain.text), { result: "v" });

    // 3. A second write moves the sync token forward, as seen by the page.
    const set2 = await callInPage(page, {
      url: URL_, token: TOKEN, path: "/", method: "POST", body: ["set", key, "w"],
    });
    assert.equal(set2.status, 200, ctx("second set", set2));
    assert.ok(BigInt(set2.syncToken) > BigInt(set.syncToken), ctx("sync token increased after a write", { set, set2 }));

    // 4. Pipeline and multi-exec from the page.
    const pipe = await callInPage(page, {
      url: URL_, token: TOKEN, path: "/pipeline", method: "POST",
      body: [["incr", `${P}n`], ["incr", `${P}n`], ["get", key]],
    });
    assert.equal(pipe.status, 200, ctx("pipeline", pipe));
    assert.deepEqual(JSON.parse(pipe.text), [{ result: 1 }, { result: 2 }, { result: "w" }]);
    const multi = await callInPage(page, {
      url: URL_, token: TOKEN, path: "/multi-exec", method: "POST",
      body: [["set", `${P}m`, "1"], ["get", `${P}m`]],
    });
    assert.equal(multi.status, 200, ctx("multi-exec", multi));
    assert.deepEqual(JSON.parse(multi.text), [{ result: "OK" }, { result: "1" }]);

    // 5. Errors are readable by the page too (CORS headers on error responses).
    const unauth = await callInPage(page, {
      url: URL_, token: "not-a-token", path: "/", method: "POST", body: ["get", key],
    });
    assert.equal(unauth.error, undefined, ctx("401 readable cross-origin", unauth));
    assert.equal(unauth.status, 401, ctx("bad token", unauth));
    assert.equal(typeof JSON.parse(unauth.text).error, "string");
    const ro = await callInPage(page, {
      url: URL_, token: RO_TOKEN, path: "/", method: "POST", body: ["set", key, "x"],
    });
    assert.equal(ro.error, undefined, ctx("403 readable cross-origin", ro));
    assert.equal(ro.status, 403, ctx("read-only write", ro));
    const roGet = await callInPage(page, {
      url: URL_, token: RO_TOKEN, path: "/", method: "POST", body: ["get", key],
    });
    assert.equal(roGet.status, 200, ctx("read-only get", roGet));
    assert.deepEqual(JSON.parse(roGet.text), { result: "w" });
    const redisErr = await callInPage(page, {
      url: URL_, token: TOKEN, path: "/", method: "POST", body: ["incr", key],
    });
    assert.equal(redisErr.status, 400, ctx("redis error", redisErr));
    assert.match(JSON.parse(redisErr.text).error, /not an integer/);

    // The browser really preflighted the cross-origin POST (tollgate answered it),
    // and all API traffic went to tollgate, none to the page's own server.
    assert.ok(seen.includes("OPTIONS /"), `preflight sent: ${JSON.stringify(seen)}`);
    assert.ok(seen.includes("POST /"), `requests seen: ${JSON.stringify(seen)}`);
    assert.ok(preflights.length >= 1, `preflight responses: ${JSON.stringify(preflights)} (requests ${JSON.stringify(seen)})`);
    const pf = preflights[0];
    assert.ok(pf.status === 204 || pf.status === 200, `preflight answer: ${JSON.stringify(pf)}`);
    assert.ok(["*", origin].includes(pf.headers["access-control-allow-origin"]), `preflight answer: ${JSON.stringify(pf)}`);
    assert.match(pf.headers["access-control-allow-headers"] ?? "", /authorization/i, `preflight answer: ${JSON.stringify(pf)}`);
    await cdp.detach().catch(() => {});
    assert.deepEqual(hits.filter((h) => !/^GET \/(favicon\.ico)?$/.test(h)), [], `page server hits: ${hits}`);
  });
});

test("browser: preflight answered by tollgate allows the page's headers", { timeout: 60_000 }, async () => {
  // The same preflight a browser sends, sent from node so its headers can be read
  // (a page cannot see a preflight's response).
  const res = await fetch(URL_ + "/", {
    method: "OPTIONS",
    headers: {
      Origin: "http://127.0.0.1:1",
      "Access-Control-Request-Method": "POST",
      "Access-Control-Request-Headers": "authorization,content-type,upstash-encoding",
    },
  });
  const h = Object.fromEntries(res.headers);
  assert.ok(res.status === 204 || res.status === 200, `preflight status ${res.status} ${JSON.stringify(h)}`);
  assert.ok(["*", "http://127.0.0.1:1"].includes(h["access-control-allow-origin"]), JSON.stringify(h));
  assert.match(h["access-control-allow-methods"] ?? "", /POST/);
  const allowed = (h["access-control-allow-headers"] ?? "").toLowerCase();
  for (const name of ["authorization", "content-type", "upstash-encoding"]) {
    assert.ok(allowed.includes(name), `${name} allowed: ${JSON.stringify(h)}`);
  }
});
