// The control plane as a new operator uses it, with only the README and
// openapi.yaml: a plan, tenants, databases and tokens made through the
// admin API; traffic from the official client; the tenant's usage series,
// quota view, per-token usage, bill and the invoicing export; a second
// tenant that sees none of it; validation errors; pages; tenant deletion.
// Every control-plane response is validated against openapi.yaml
// (openapi_check.mjs).
//
// Environment (set by tests/e2e/test_control_plane.sh):
//   TOLLGATE_URL          the gateway, e.g. http://127.0.0.1:18080
//   TOLLGATE_ADMIN_TOKEN  an admin token (tollgate admin-token create)
import { test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";
import { env, gatewayUrl } from "./env.mjs";
import { eventually } from "./eventually.mjs";
import { openapiChecker } from "./openapi_check.mjs";

const URL_ = gatewayUrl();
const ADMIN = env("TOLLGATE_ADMIN_TOKEN", import.meta.url);
const check = openapiChecker();
let checked = 0;

// One control-plane call: the answer validated against openapi.yaml.
async function api(method, path, token, body, raw) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) payload = JSON.stringify(body);
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(URL_ + path, { method, headers, body: payload });
  const text = await res.text();
  check(method, path.split("?")[0], res.status, res.headers.get("content-type"), text);
  checked++;
  const type = res.headers.get("content-type") || "";
  return { status: res.status, type, body: type.includes("json") && text ? JSON.parse(text) : text };
}
const admin = (m, p, b, raw) => api(m, p, ADMIN, b, raw);

const expectProblem = (r, status, typeSlug, detailRe) => {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.type, /^application\/problem\+json/);
  if (typeSlug) assert.equal(r.body.type, `urn:tollgate:problem:${typeSlug}`);
  if (detailRe) assert.match(r.body.detail, detailRe);
};

const S = {}; // what the steps make, in order
const suffix = Date.now().toString(36);

test("admin: plan, tenants, databases and tokens through the API", async () => {
  let r = await admin("POST", "/v1/admin/plans", {
    id: `e2e-${suffix}`, name: "E2E", included_commands: 0, command_price_micros: 1000000,
    command_price_per: 1000, daily_commands: 100000, commands_per_second: 5000,
  });
  assert.equal(r.status, 201);
  assert.equal(r.body.daily_commands, 100000);
  assert.equal(r.body.monthly_commands, null);
  S.plan = r.body.id;
  r = await admin("PATCH", `/v1/admin/plans/${S.plan}`, { monthly_commands: 1000000 });
  assert.equal(r.status, 200);
  assert.equal(r.body.monthly_commands, 1000000);
  expectProblem(await admin("POST", "/v1/admin/plans", { id: S.plan, name: "again" }), 409, "conflict");

  for (const who of ["a", "b"]) {
    r = await admin("POST", "/v1/admin/tenants", { name: `tenant-${who}` });
    assert.equal(r.status, 201);
    assert.match(r.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    S[who] = { tenant: r.body.id };
  }
  r = await admin("PUT", `/v1/admin/tenants/${S.a.tenant}/plan`, { plan_id: S.plan });
  assert.equal(r.status, 200);
  assert.equal(r.body.plan_id, S.plan);
  r = await admin("PATCH", `/v1/admin/tenants/${S.a.tenant}`, { budget_micros: 900000000 });
  assert.equal(r.body.budget_micros, 900000000);

  for (const who of ["a", "b"]) {
    r = await admin("POST", "/v1/admin/databases", { tenant_id: S[who].tenant, name: "main" });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    S[who].db = r.body.id;
    S[who].rest = r.body.rest_url;
    r = await admin("POST", `/v1/admin/databases/${S[who].db}/tokens`, { scope: "rw", ttl_s: 3600 });
    assert.equal(r.status, 201);
    S[who].token = r.body.token;
    S[who].jti = r.body.jti;
    r = await admin("POST", `/v1/admin/tenants/${S[who].tenant}/tenant-tokens`, { ttl_s: 600 });
    assert.equal(r.status, 201);
    S[who].tt = r.body.token;
  }
  r = await admin("GET", `/v1/admin/databases/${S.a.db}`);
  assert.equal(r.body.plan_id, S.plan);
  assert.equal(r.body.limits.daily_commands, 100000);
  r = await admin("GET", `/v1/admin/databases/${S.a.db}/tokens`);
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.items[0].jti, S.a.jti);
  assert.equal(r.body.items[0].token, undefined, "a token is never shown again");
});

const SETS = 6, GETS = 4;

test("traffic from @upstash/redis shows in usage, quota, per-token usage, bill and export", async () => {
  const redis = new Redis({ url: S.a.rest, token: S.a.token });
  for (let i = 0; i < SETS; i++) assert.equal(await redis.set(`cp:${i}`, `v${i}`), "OK");
  for (let i = 0; i < GETS; i++) assert.equal(await redis.get(`cp:${i}`), `v${i}`);
  const made = SETS + GETS;
  const tt = S.a.tt;

  let r = await api("GET", "/v1/databases", tt);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items.map((d) => d.id), [S.a.db]);
  assert.equal(r.body.items[0].redis_url, undefined, "a tenant does not see the backend");
  r = await api("GET", `/v1/databases/${S.a.db}`, tt);
  assert.equal(r.body.rest_url, S.a.rest);

  const now = Math.floor(Date.now() / 1000);
  const range = `from=${now - 3600}&to=${now + 120}`;
  const usage = await eventually(async () => {
    const u = await api("GET", `/v1/databases/${S.a.db}/usage?${range}&step=minute`, tt);
    assert.equal(u.status, 200, JSON.stringify(u.body));
    return u.body.buckets.reduce((a, b) => a + b.requests, 0) >= made && u.body;
  }, "the usage series has the requests");
  assert.equal(usage.buckets.reduce((a, b) => a + b.commands, 0), made);
  assert.ok(usage.top_commands.some((c) => c.name.toLowerCase() === "set" && c.count === SETS),
    JSON.stringify(usage.top_commands));
  assert.ok(usage.latency_us.p50 !== null);
  r = await api("GET", `/v1/databases/${S.a.db}/usage?from=${now - 3600}&to=${now + 120}&step=hour`, tt);
  assert.equal(r.status, 200);

  r = await api("GET", `/v1/databases/${S.a.db}/quota`, tt);
  assert.equal(r.status, 200);
  assert.equal(r.body.limits.daily_commands.limit, 100000);
  // Exactly this test's commands (the database's only traffic), though the
  // first ones came before the live engine had loaded the database.
  assert.equal(r.body.limits.daily_commands.used, made, JSON.stringify(r.body.limits.daily_commands));
  assert.equal(r.body.limits.monthly_commands.used, made);
  assert.equal(r.body.limits.daily_commands.remaining, 100000 - r.body.limits.daily_commands.used);
  assert.ok(r.body.limits.daily_commands.reset_s > 0);

  const per = await eventually(async () => {
    const t = await api("GET", `/v1/databases/${S.a.db}/usage/tokens?${range}`, tt);
    assert.equal(t.status, 200);
    const mine = t.body.tokens.find((x) => x.jti === S.a.jti);
    return mine && mine.requests >= made && mine;
  }, "per-token usage has the requests");
  assert.ok(per.cost_micros > 0, JSON.stringify(per));

  r = await api("GET", "/v1/billing/current", tt);
  assert.equal(r.status, 200);
  assert.equal(r.body.tenant_id, S.a.tenant);
  assert.equal(r.body.budget_micros, 900000000);
  assert.ok(r.body.lines.some((l) => l.database_id === S.a.db), JSON.stringify(r.body));
  assert.ok(r.body.total_micros > 0);

  const period = new Date().toISOString().slice(0, 7);
  r = await admin("GET", `/v1/admin/usage?period=${period}`);
  assert.equal(r.status, 200);
  assert.ok(JSON.stringify(r.body).includes(S.a.db), "the export has the database");
  r = await admin("GET", `/admin/usage?period=${period}&format=csv`);
  assert.equal(r.status, 200);
  assert.match(r.type, /^text\/csv/);
  assert.ok(r.body.includes(S.a.db));
});

test("a second tenant, a data-plane token and the wrong role see none of it", async () => {
  const b = S.b.tt;
  for (const p of [`/v1/databases/${S.a.db}`, `/v1/databases/${S.a.db}/usage`,
                   `/v1/databases/${S.a.db}/usage/tokens`, `/v1/databases/${S.a.db}/quota`,
                   `/v1/databases/${S.a.db}/tokens`])
    expectProblem(await api("GET", p, b), 404, "not-found");
  expectProblem(await api("POST", `/v1/databases/${S.a.db}/tokens`, b, {}), 404, "not-found");
  expectProblem(await api("DELETE", `/v1/tokens/${S.a.jti}`, b), 404, "not-found");
  let r = await api("GET", "/v1/databases", b);
  assert.deepEqual(r.body.items.map((d) => d.id), [S.b.db]);
  expectProblem(await api("GET", "/v1/admin/tenants", b), 403, "forbidden");
  expectProblem(await api("GET", "/v1/databases", ADMIN), 403, "forbidden");
  expectProblem(await api("GET", "/v1/databases", S.a.token), 401, "unauthorized");
  expectProblem(await api("GET", "/v1/admin/tenants", S.a.token), 401, "unauthorized");
  expectProblem(await api("GET", "/v1/admin/tenants"), 401, "unauthorized");
  r = await fetch(`${URL_}/get/cp:0`, { headers: { Authorization: `Bearer ${b}` } });
  assert.equal(r.status, 401, "a tenant token is no data-plane token");
});

test("a tenant issues, lists and revokes its own token", async () => {
  const tt = S.a.tt;
  let r = await api("POST", `/v1/databases/${S.a.db}/tokens`, tt, { scope: "ro", ttl_s: 600 });
  assert.equal(r.status, 201);
  const { token, jti } = r.body;
  const ro = new Redis({ url: S.a.rest, token });
  assert.equal(await ro.get("cp:1"), "v1");
  r = await api("GET", `/v1/databases/${S.a.db}/tokens`, tt);
  assert.ok(r.body.items.some((t) => t.jti === jti && t.scope === "ro"));
  expectProblem(await api("DELETE", `/v1/databases/${S.b.db}/tokens/${jti}`, tt), 404, "not-found");
  r = await api("DELETE", `/v1/databases/${S.a.db}/tokens/${jti}`, tt);
  assert.equal(r.status, 204);
  expectProblem(await api("DELETE", `/v1/tokens/${jti}`, tt), 404, "not-found"); // revoked already
  await eventually(async () =>
    (await fetch(`${URL_}/get/cp:1`, { headers: { Authorization: `Bearer ${token}` } })).status === 401,
    "the revoked token is refused");
  r = await api("GET", `/v1/databases/${S.a.db}/tokens`, tt);
  assert.ok(r.body.items.find((t) => t.jti === jti).revoked_at);
});

test("invalid input: 400 naming the field, unknown fields refused", async () => {
  expectProblem(await admin("POST", "/v1/admin/tenants", {}), 400, "invalid-field", /^name: required/);
  expectProblem(await admin("POST", "/v1/admin/tenants", { name: "x", colour: "red" }), 400,
    "unknown-field", /^colour: unknown field/);
  expectProblem(await admin("POST", "/v1/admin/tenants", undefined, "{not json"), 400, "invalid-json");
  expectProblem(await admin("POST", "/v1/admin/tenants", undefined, "[1]"), 400, "unknown-field",
    /JSON object/);
  expectProblem(await admin("POST", `/v1/admin/databases/${S.a.db}/tokens`, { ttl_s: "1h" }), 400,
    "invalid-field", /^ttl_s: /);
  expectProblem(await admin("POST", `/v1/admin/databases/${S.a.db}/tokens`, { scope: "admin" }), 400,
    "invalid-field", /^scope: /);
  expectProblem(await admin("POST", "/v1/admin/databases", { tenant_id: S.a.tenant, name: "x",
    isolation: "vm" }), 400, "invalid-field", /^isolation: /);
  expectProblem(await admin("PATCH", `/v1/admin/plans/${S.plan}`, { daily_commands: -5 }), 400,
    "invalid-field", /^daily_commands: /);
  expectProblem(await admin("GET", "/v1/admin/tenants?limit=0"), 400, "invalid-field", /^limit: /);
  expectProblem(await admin("GET", "/v1/admin/tenants?page=2"), 400, "unknown-field",
    /^page: unknown query parameter/);
  expectProblem(await admin("GET", "/v1/admin/usage?period=2026-13x"), 400, "invalid-field", /^period: /);
  expectProblem(await api("GET", `/v1/databases/${S.a.db}/usage?step=week`, S.a.tt), 400,
    "invalid-field", /^step: /);
  expectProblem(await api("GET", `/v1/databases/${S.a.db}/usage?from=10&to=5`, S.a.tt), 400,
    "invalid-field", /^from: /);
  expectProblem(await admin("GET", "/v1/admin/tenants/tn_nope"), 404, "not-found");
  // An unknown endpoint (not in openapi.yaml, so not validated): a problem too.
  const nothing = await fetch(`${URL_}/v1/admin/nothing`, { headers: { Authorization: `Bearer ${ADMIN}` } });
  assert.equal(nothing.status, 404);
  assert.equal((await nothing.json()).type, "urn:tollgate:problem:not-found");
  const wrong = await fetch(`${URL_}/v1/admin/plans`, { method: "DELETE", headers: { Authorization: `Bearer ${ADMIN}` } });
  assert.equal(wrong.status, 405);
  assert.match(wrong.headers.get("allow"), /^GET, POST/);
  assert.equal((await wrong.json()).type, "urn:tollgate:problem:method-not-allowed");
});

test("pagination: every tenant once, page by page", async () => {
  for (let i = 0; i < 3; i++) assert.equal((await admin("POST", "/v1/admin/tenants", { name: `page-${i}` })).status, 201);
  const all = (await admin("GET", "/v1/admin/tenants?limit=100")).body.items.map((t) => t.id);
  assert.ok(all.length >= 5);
  const seen = [];
  let cursor = null, pages = 0;
  do {
    const r = await admin("GET", `/v1/admin/tenants?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
    assert.ok(r.body.items.length <= 2);
    seen.push(...r.body.items.map((t) => t.id));
    cursor = r.body.next_cursor;
    pages++;
  } while (cursor && pages < 100);
  assert.deepEqual(seen, all);
  assert.ok(pages >= 3);
  const d = await admin("GET", `/v1/admin/databases?tenant_id=${S.b.tenant}&limit=1`);
  assert.deepEqual(d.body.items.map((x) => x.id), [S.b.db]);
});

test("a tenant token can be revoked alone, by the API and the CLI's store", async () => {
  let r = await admin("POST", `/v1/admin/tenants/${S.b.tenant}/tenant-tokens`, { ttl_s: 600 });
  assert.equal(r.status, 201);
  const spare = r.body;
  assert.match(spare.jti, /^[0-9a-f]{24}$/);
  assert.equal((await api("GET", "/v1/databases", spare.token)).status, 200);
  r = await admin("GET", `/v1/admin/tenants/${S.b.tenant}/tenant-tokens`);
  assert.equal(r.status, 200);
  assert.ok(r.body.items.some((t) => t.jti === spare.jti && t.revoked_at === null));
  assert.ok(r.body.items.every((t) => t.token === undefined), "a token is never shown again");
  assert.equal((await admin("DELETE", `/v1/admin/tenant-tokens/${spare.jti}`)).status, 204);
  expectProblem(await api("GET", "/v1/databases", spare.token), 401, "unauthorized", /revoked/);
  // The tenant's other token still works; an unknown jti is a 404.
  assert.equal((await api("GET", "/v1/databases", S.b.tt)).status, 200);
  expectProblem(await admin("DELETE", "/v1/admin/tenant-tokens/0123456789abcdef01234567"), 404, "not-found");
  r = await admin("GET", `/v1/admin/tenants/${S.b.tenant}/tenant-tokens`);
  assert.ok(r.body.items.some((t) => t.jti === spare.jti && t.revoked_at !== null));
});

test("deleting a tenant: its tokens are refused, its tenant token at once", async () => {
  const redis = new Redis({ url: S.a.rest, token: S.a.token });
  assert.equal(await redis.get("cp:2"), "v2");
  assert.equal((await admin("DELETE", `/v1/admin/tenants/${S.a.tenant}`)).status, 204);
  expectProblem(await api("GET", "/v1/databases", S.a.tt), 401, "unauthorized");
  await eventually(async () =>
    (await fetch(`${URL_}/get/cp:2`, { headers: { Authorization: `Bearer ${S.a.token}` } })).status === 401,
    "the deleted tenant's data-plane token is refused", 5000);
  expectProblem(await admin("GET", `/v1/admin/tenants/${S.a.tenant}`), 404, "not-found");
  // The other tenant is untouched.
  assert.equal((await api("GET", "/v1/databases", S.b.tt)).status, 200);
  // Its database can still be deleted, data and all.
  const del = await admin("DELETE", `/v1/admin/databases/${S.a.db}`);
  assert.equal(del.status, 202);
  assert.equal(del.body.id, S.a.db);
  assert.equal(del.body.data, "removal scheduled");
  // Repeated while its data is there: 202; once removed: 404.
  await eventually(async () => (await admin("DELETE", `/v1/admin/databases/${S.a.db}`)).status === 404,
    "the deleted database's data removed");
  expectProblem(await admin("GET", `/v1/admin/databases/${S.a.db}`), 404, "not-found");
  assert.ok(checked > 60, `validated ${checked} responses`);
});
