// End-to-end tests of tollgate with the official @upstash/redis client.
//
// Environment (set by the harness):
//   TOLLGATE_URL       e.g. http://127.0.0.1:18080
//   TOLLGATE_TOKEN     read-write token for database A
//   TOLLGATE_RO_TOKEN  read-only token for database A
//   TOLLGATE_TOKEN_B   read-write token for database B (another logical Redis DB)
// Run: node --test tests/node/
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Redis } from "@upstash/redis";
import { env, gatewayUrl } from "./env.mjs";

const need = (name) => env(name, import.meta.url);
const URL_ = gatewayUrl();
const TOKEN = need("TOLLGATE_TOKEN");
const RO_TOKEN = need("TOLLGATE_RO_TOKEN");
const TOKEN_B = need("TOLLGATE_TOKEN_B");

// The client exactly as users create it (auto-pipelining and base64 are the defaults).
const client = (token) => new Redis({ url: URL_, token, enableAutoPipelining: true });
const redis = client(TOKEN);
const ro = client(RO_TOKEN);
const redisB = client(TOKEN_B);

const P = `tgtest:${randomBytes(6).toString("hex")}:`; // per-run key prefix
const k = (name) => P + name;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Raw HTTP access for what the client hides (status codes, headers, wire shapes).
// token: null sends no Authorization header.
async function raw(path, body, { token = TOKEN, headers = {}, method = "POST" } = {}) {
  const h = { "content-type": "application/json", ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  const res = await fetch(URL_ + path, {
    method,
    headers: h,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, json, text };
}

// assert.rejects with a regexp on the message, reporting the real message on mismatch.
const rejectsMatching = (promise, re) =>
  assert.rejects(promise, (err) => {
    assert.match(String(err?.message), re);
    return true;
  });

after(async () => {
  for (const r of [redis, redisB]) {
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, { match: `${P}*`, count: 500 });
      if (keys.length) await r.del(...keys);
      cursor = String(next);
    } while (cursor !== "0");
  }
});

test("strings: set/get/mset/mget/append/strlen/getrange, set ex/nx/xx", async () => {
  const a = k("str:a"), b = k("str:b"), c = k("str:c"), m1 = k("str:m1"), m2 = k("str:m2");
  assert.equal(await redis.get(a), null);
  assert.equal(await redis.set(a, "hello"), "OK");
  assert.equal(await redis.get(a), "hello");
  assert.equal(await redis.append(a, " world"), 11);
  assert.equal(await redis.strlen(a), 11);
  assert.equal(await redis.getrange(a, 0, 4), "hello");
  assert.equal(await redis.getrange(a, -5, -1), "world");
  assert.equal(await redis.set(a, "other", { nx: true }), null);
  assert.equal(await redis.get(a), "hello world");
  assert.equal(await redis.set(b, "other", { xx: true }), null);
  assert.equal(await redis.get(b), null);
  assert.equal(await redis.set(b, "fresh", { nx: true }), "OK");
  assert.equal(await redis.set(b, "newer", { get: true }), "fresh");
  assert.equal(await redis.set(c, "temp", { ex: 100 }), "OK");
  const ttl = await redis.ttl(c);
  assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
  assert.equal(await redis.mset({ [m1]: "one", [m2]: "two" }), "OK");
  assert.deepEqual(await redis.mget(m1, m2, k("str:missing")), ["one", "two", null]);
});

test("counters: incr/incrby/decr/decrby/incrbyfloat", async () => {
  const c = k("cnt:c"), f = k("cnt:f");
  assert.equal(await redis.incr(c), 1);
  assert.equal(await redis.incrby(c, 41), 42);
  assert.equal(await redis.decr(c), 41);
  assert.equal(await redis.decrby(c, 11), 30);
  assert.equal(await redis.get(c), 30);
  assert.equal(await redis.decr(k("cnt:neg")), -1);
  assert.equal(await redis.incrbyfloat(f, 1.5), 1.5);
  assert.equal(await redis.incrbyfloat(f, 0.25), 1.75);
  assert.equal(await redis.get(f), 1.75);
  await rejectsMatching(redis.incr(f), /ERR value is not an integer or out of range/);
});

test("hashes: hset object/hget/hgetall/hincrby/hdel/hkeys", async () => {
  const h = k("hash:h");
  assert.equal(await redis.hset(h, { name: "ada", age: 36, tags: ["x", "y"] }), 3);
  assert.equal(await redis.hget(h, "name"), "ada");
  assert.equal(await redis.hget(h, "age"), 36);
  assert.equal(await redis.hget(h, "missing"), null);
  assert.deepEqual(await redis.hgetall(h), { name: "ada", age: 36, tags: ["x", "y"] });
  assert.equal(await redis.hincrby(h, "age", 2), 38);
  assert.equal(await redis.hexists(h, "tags"), 1);
  assert.equal(await redis.hdel(h, "tags", "nope"), 1);
  assert.deepEqual((await redis.hkeys(h)).sort(), ["age", "name"]);
  assert.equal(await redis.hlen(h), 2);
  assert.equal(await redis.hgetall(k("hash:missing")), null);
});

test("lists: lpush/rpush/lrange/lpop/llen", async () => {
  const l = k("list:l");
  assert.equal(await redis.lpush(l, "a", "b"), 2);
  assert.equal(await redis.rpush(l, "c", "d"), 4);
  assert.deepEqual(await redis.lrange(l, 0, -1), ["b", "a", "c", "d"]);
  assert.deepEqual(await redis.lrange(l, 1, 2), ["a", "c"]);
  assert.equal(await redis.lpop(l), "b");
  assert.equal(await redis.rpop(l), "d");
  assert.equal(await redis.llen(l), 2);
  assert.equal(await redis.lpop(k("list:missing")), null);
});

test("sets: sadd/smembers/sismember/srem/scard", async () => {
  const s = k("set:s");
  assert.equal(await redis.sadd(s, "a", "b", "c"), 3);
  assert.equal(await redis.sadd(s, "a"), 0);
  assert.deepEqual((await redis.smembers(s)).sort(), ["a", "b", "c"]);
  assert.equal(await redis.sismember(s, "b"), 1);
  assert.equal(await redis.sismember(s, "z"), 0);
  assert.equal(await redis.srem(s, "b", "z"), 1);
  assert.equal(await redis.scard(s), 2);
});

test("sorted sets: zadd/zrange withScores/zscore/zincrby/zrank", async () => {
  const z = k("zset:z");
  const added = await redis.zadd(z, { score: 1, member: "a" }, { score: 2, member: "b" }, { score: 3, member: "c" });
  assert.equal(added, 3);
  assert.deepEqual(await redis.zrange(z, 0, -1), ["a", "b", "c"]);
  assert.deepEqual(await redis.zrange(z, 0, -1, { withScores: true }), ["a", 1, "b", 2, "c", 3]);
  assert.equal(await redis.zscore(z, "b"), 2);
  assert.equal(await redis.zscore(z, "nope"), null);
  assert.equal(await redis.zincrby(z, 1.5, "a"), 2.5);
  assert.equal(await redis.zrank(z, "a"), 1);
  assert.equal(await redis.zrank(z, "c"), 2);
  assert.deepEqual(await redis.zrange(z, 0, -1, { withScores: true }), ["b", 2, "a", 2.5, "c", 3]);
  assert.equal(await redis.zcard(z), 3);
});

test("expiry: expire/ttl/pttl/persist, set px", async () => {
  const e = k("exp:e"), p = k("exp:p");
  assert.equal(await redis.ttl(k("exp:missing")), -2);
  await redis.set(e, "v");
  assert.equal(await redis.ttl(e), -1);
  assert.equal(await redis.expire(e, 100), 1);
  const ttl = await redis.ttl(e);
  assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
  const pttl = await redis.pttl(e);
  assert.ok(pttl > 90_000 && pttl <= 100_000, `pttl ${pttl}`);
  assert.equal(await redis.persist(e), 1);
  assert.equal(await redis.ttl(e), -1);
  assert.equal(await redis.set(p, "short", { px: 400 }), "OK");
  const ppttl = await redis.pttl(p);
  assert.ok(ppttl > 0 && ppttl <= 400, `pttl ${ppttl}`);
  await sleep(700);
  assert.equal(await redis.get(p), null);
  assert.equal(await redis.exists(p), 0);
});

test("scan with match and count iterates to cursor 0 and sees every key", async () => {
  const keys = Array.from({ length: 57 }, (_, i) => k(`scan:${i}`));
  assert.equal(await redis.mset(Object.fromEntries(keys.map((x) => [x, "1"]))), "OK");
  await redis.set(k("noscan:1"), "1");
  const seen = new Set();
  let cursor = "0";
  let rounds = 0;
  do {
    const [next, batch] = await redis.scan(cursor, { match: k("scan:*"), count: 10 });
    assert.ok(Array.isArray(batch));
    for (const key of batch) seen.add(key);
    cursor = String(next);
    rounds++;
  } while (cursor !== "0" && rounds < 10_000);
  assert.equal(cursor, "0");
  assert.ok(rounds > 1, "count 10 over 57+ keys should take several rounds");
  assert.deepEqual([...seen].sort(), [...keys].sort());
});

test("explicit pipeline: results in order, per-entry errors", async () => {
  const s = k("pipe:s"), n = k("pipe:n"), h = k("pipe:h"), bad = k("pipe:bad");
  const res = await redis.pipeline()
    .set(s, "a").append(s, "b").get(s)
    .incr(n).incrby(n, 5)
    .hset(h, { f: "v" }).hget(h, "f")
    .get(k("pipe:missing"))
    .exec();
  assert.deepEqual(res, ["OK", 2, "ab", 1, 6, 1, "v", null]);

  // Default exec() throws on the first failed entry, naming its position and command.
  await rejectsMatching(
    redis.pipeline().set(bad, "x").incr(bad).set(bad, "after").exec(),
    /Command 2 \[ incr \] failed: ERR value is not an integer/,
  );
  // Non-atomic: the commands after the failure still ran.
  assert.equal(await redis.get(bad), "after");
  const kept = await redis.pipeline().set(bad, "y").incr(bad).get(bad).exec({ keepErrors: true });
  assert.equal(kept[0].result, "OK");
  assert.match(kept[1].error, /^ERR value is not an integer/);
  assert.equal(kept[1].result, undefined);
  assert.equal(kept[2].result, "y");
});

test("auto-pipelining: Promise.all of many commands is batched", async () => {
  const N = 300;
  const keys = Array.from({ length: N }, (_, i) => k(`ap:${i}`));
  const before = redis.pipelineCounter;
  const sets = await Promise.all(keys.map((key, i) => redis.set(key, `v${i}`)));
  assert.equal(redis.pipelineCounter, before + 1, "300 writes in one tick -> one /pipeline");
  assert.ok(sets.every((r) => r === "OK"));

  const [gets, incrs] = await Promise.all([
    Promise.all(keys.map((key) => redis.get(key))),
    Promise.all(keys.map((_, i) => redis.incr(k(`apc:${i % 3}`)))),
  ]);
  assert.deepEqual(gets, keys.map((_, i) => `v${i}`));
  assert.deepEqual(incrs, keys.map((_, i) => Math.floor(i / 3) + 1));
  assert.deepEqual(await redis.mget(k("apc:0"), k("apc:1"), k("apc:2")), [100, 100, 100]);

  // One failing command rejects only its own promise.
  const x = k("ap:err");
  const [s1, s2, s3] = await Promise.allSettled([redis.set(x, "text"), redis.incr(x), redis.append(x, "!")]);
  assert.equal(s1.value, "OK");
  assert.equal(s2.status, "rejected");
  assert.match(s2.reason.message, /ERR value is not an integer/);
  assert.equal(s3.value, 5);
});

test("multi-exec: atomic transaction", async () => {
  const a = k("multi:a");
  assert.deepEqual(await redis.multi().set(a, "1").incr(a).incrby(a, 10).get(a).exec(), ["OK", 2, 12, 12]);
  // Concurrent transactions never interleave: each sees its two incrs back to back.
  const c = k("multi:c");
  const all = await Promise.all(Array.from({ length: 25 }, () => redis.multi().incr(c).incr(c).get(c).exec()));
  for (const [x, y, z] of all) {
    assert.equal(y, x + 1);
    assert.equal(z, y);
  }
  assert.equal(await redis.get(c), 50);
});

test("multi-exec: runtime error is a per-entry error; queue-time error aborts all", async () => {
  const a = k("multi:err");
  await rejectsMatching(
    redis.multi().set(a, "abc").incr(a).get(a).exec(),
    /Command 2 \[ incr \] failed: ERR value is not an integer or out of range/,
  );
  const kept = await redis.multi().set(a, "abc").incr(a).append(a, "d").exec({ keepErrors: true });
  assert.deepEqual(kept.map((e) => e.result), ["OK", undefined, 4]);
  assert.match(kept[1].error, /^ERR value is not an integer/);
  assert.equal(await redis.get(a), "abcd"); // Redis does not roll back

  // A transaction discarded as a whole (wrong arity at queue time -> EXECABORT) is HTTP 400.
  const d = k("multi:discarded");
  const r = await raw("/multi-exec", [["set", d, "v"], ["set"]]);
  assert.equal(r.status, 400, r.text);
  assert.equal(typeof r.json?.error, "string", r.text);
  assert.equal(await redis.get(d), null);
});

test("scripts: EVAL, EVALSHA, NOSCRIPT then fallback via createScript", async () => {
  const key = k("lua:k");
  const res = await redis.eval(
    "redis.call('SET', KEYS[1], ARGV[1]) return {redis.call('GET', KEYS[1]), 42}", [key], ["val"]);
  assert.deepEqual(res, ["val", 42]);

  const body = `return ARGV[1] -- ${P}`; // unique per run, so surely not cached yet
  const sha = createHash("sha1").update(body).digest("hex");
  await rejectsMatching(redis.evalsha(sha, [], ["x"]), /NOSCRIPT No matching script/);
  const r = await raw("/", ["evalsha", sha, 0]);
  assert.equal(r.status, 400);
  assert.match(r.json?.error ?? "", /^NOSCRIPT No matching script/);

  const script = redis.createScript(body);
  assert.equal(await script.exec([], ["hello"]), "hello"); // EVALSHA fails, falls back to EVAL
  assert.equal(await redis.evalsha(sha, [], ["again"]), "again"); // now cached
  assert.equal(await script.evalsha([], ["third"]), "third");
  await rejectsMatching(redis.eval("return redis.call('INCR', KEYS[1])", [key], []), /not an integer/);
});

function randomText(n, seed) {
  let s = seed >>> 0; // mulberry32
  const rnd = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const ranges = [[0x00, 0x7f], [0x80, 0x7ff], [0x800, 0xd7ff], [0xe000, 0xfffd], [0x10000, 0x10ffff]];
  const parts = ["x"]; // not JSON, not a BOM: the client would otherwise parse/strip it
  let len = 1;
  while (len < n) {
    const [lo, hi] = ranges[Math.floor(rnd() * ranges.length)];
    const ch = String.fromCodePoint(lo + Math.floor(rnd() * (hi - lo + 1)));
    parts.push(ch);
    len += ch.length;
  }
  return parts.join("");
}

test("binary-ish values round-trip exactly", async () => {
  const latin = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i)); // U+0000..U+00FF
  const emoji = "emoji 😀👍🏽🇫🇷 \u0000 nul, \u00ff, \ufffd, 𝄞, \r\n\t\"\\ end";
  const big = randomText(100_000, 0x7011);
  const tricky = "T0s="; // base64 of "OK"; the server must encode it like any string
  const cases = { latin, emoji, big, tricky, quote: "\"not json", space: "  padded  " };
  for (const [name, value] of Object.entries(cases)) {
    assert.equal(await redis.set(k(`bin:${name}`), value), "OK");
  }
  for (const [name, value] of Object.entries(cases)) {
    const got = await redis.get(k(`bin:${name}`));
    assert.ok(got === value, `${name}: value differs (got length ${got?.length}, want ${value.length})`);
    assert.equal(await redis.strlen(k(`bin:${name}`)), Buffer.byteLength(value, "utf8"), name);
  }
  assert.deepEqual(await redis.mget(k("bin:latin"), k("bin:emoji")), [latin, emoji]);
  await redis.hset(k("bin:h"), { [emoji]: latin });
  assert.deepEqual(await redis.hgetall(k("bin:h")), { [emoji]: latin });

  // Wire level: bytes that are not UTF-8 come back exact in base64 mode and as valid JSON without it.
  const bytes = Buffer.from([0, 255, 128, 10, 13, 0xc3, 0x28, 0xfe]);
  const lua = "return redis.call('SET', KEYS[1], string.char(0,255,128,10,13,195,40,254))";
  assert.equal(await redis.eval(lua, [k("bin:bytes")], []), "OK");
  const b64 = await raw("/", ["get", k("bin:bytes")], { headers: { "Upstash-Encoding": "base64" } });
  assert.equal(b64.status, 200, b64.text);
  assert.deepEqual(Buffer.from(b64.json.result, "base64"), bytes);
  const plain = await raw("/", ["get", k("bin:bytes")]);
  assert.equal(plain.status, 200);
  assert.equal(typeof plain.json?.result, "string", `not valid JSON: ${plain.text}`);
});

test("JSON values: the client serializes objects and parses them back", async () => {
  const obj = { a: 1, nested: { b: [1, "two", null, true] }, s: "x\u0000y", e: "😀" };
  await redis.set(k("json:obj"), obj);
  assert.deepEqual(await redis.get(k("json:obj")), obj);
  const stored = await raw("/", ["get", k("json:obj")]); // stored as JSON text
  assert.deepEqual(JSON.parse(stored.json.result), obj);
  await redis.set(k("json:arr"), [1, 2, 3]);
  assert.deepEqual(await redis.get(k("json:arr")), [1, 2, 3]);
  await redis.rpush(k("json:list"), { id: 1 }, { id: 2 });
  assert.deepEqual(await redis.lrange(k("json:list"), 0, -1), [{ id: 1 }, { id: 2 }]);
  await redis.hset(k("json:h"), { doc: { deep: { ok: true } } });
  assert.deepEqual(await redis.hget(k("json:h"), "doc"), { deep: { ok: true } });
});

test("upstash-sync-token changes on writes and is accepted back", async () => {
  const key = k("sync:k");
  const r1 = await raw("/", ["set", key, "1"]);
  const r2 = await raw("/", ["set", key, "2"]);
  const t1 = r1.headers.get("upstash-sync-token"), t2 = r2.headers.get("upstash-sync-token");
  assert.ok(t1 && t2, `missing header: ${t1} / ${t2}`);
  assert.notEqual(t1, t2);
  const r3 = await raw("/", ["get", key], { headers: { "upstash-sync-token": t2 } });
  assert.equal(r3.status, 200, r3.text);
  assert.equal(r3.json.result, "2");
  const r4 = await raw("/pipeline", [["get", key]], { headers: { "upstash-sync-token": "" } });
  assert.equal(r4.status, 200, r4.text);
  assert.ok(r4.headers.get("upstash-sync-token"), "pipeline response lacks the header");
  // The client stores the header and sends it back on the next request.
  await redis.set(key, "3");
  const c1 = redis.client.upstashSyncToken;
  assert.ok(c1, "client holds no sync token after a write");
  await redis.set(key, "4");
  assert.notEqual(redis.client.upstashSyncToken, c1);
  assert.equal(await redis.get(key), 4);
});

test("read-only token: reads succeed, writes are refused", async () => {
  const key = k("ro:k");
  await redis.set(key, "visible");
  assert.equal(await ro.get(key), "visible");
  assert.deepEqual(await Promise.all([ro.get(key), ro.exists(key), ro.strlen(key)]), ["visible", 1, 7]);
  await assert.rejects(ro.set(key, "nope"), (err) => {
    const msg = String(err.message).split(", command was:")[0];
    assert.match(msg, /\bset\b|read|denied|not allowed|forbidden|noperm|permission/i);
    return true;
  });
  await assert.rejects(ro.multi().get(key).del(key).exec());
  for (const cmd of [["set", key, "x"], ["del", key], ["scan", "0"],
    ["eval", "return redis.call('SET', KEYS[1], 'pwned')", 1, key]]) {
    const r = await raw("/", cmd, { token: RO_TOKEN });
    assert.equal(r.status, 403, `${cmd[0]} with a read-only token: ${r.status} ${r.text}`);
    assert.equal(typeof r.json?.error, "string");
  }
  const p = await raw("/pipeline", [["get", key], ["set", key, "x"]], { token: RO_TOKEN });
  if (p.status === 200) {
    assert.equal(p.json[0].result, "visible");
    assert.equal(typeof p.json[1].error, "string", p.text);
  } else {
    assert.equal(p.status, 403, p.text);
  }
  assert.equal(await redis.get(key), "visible");
});

test("database isolation: database B does not see database A", async () => {
  const key = k("iso:k");
  await redis.set(key, "A-value");
  assert.equal(await redisB.get(key), null);
  assert.equal(await redisB.exists(key), 0);
  await redisB.set(key, "B-value");
  assert.equal(await redis.get(key), "A-value");
  assert.equal(await redisB.get(key), "B-value");
  await redis.set(k("iso:only-a"), "1");
  const [, keysB] = await redisB.scan("0", { match: k("iso:only-a"), count: 100_000 });
  assert.deepEqual(keysB, []);
});

test("database isolation: SELECT/MOVE/COPY DB/Lua SELECT cannot reach another database", async () => {
  const secret = `B-secret-${P}`, key = k("iso:secret");
  await redisB.set(key, secret);
  await redis.set(key, "A-own");
  for (const db of ["0", "1", "2", "3"]) {
    for (const cmd of [["select", db], ["move", key, db], ["copy", key, k("iso:copy"), "db", db]]) {
      const r = await raw("/", cmd);
      assert.ok(r.status === 400 || r.status === 403, `${cmd.join(" ")}: ${r.status} ${r.text}`);
    }
    const p = await raw("/pipeline", [["select", db], ["get", key]]);
    if (p.status === 200) {
      assert.equal(typeof p.json[0].error, "string", p.text);
      assert.equal(p.json[1].result, "A-own", p.text);
    }
    const m = await raw("/multi-exec", [["select", db], ["get", key]]);
    assert.ok(!m.text.includes(secret), `multi-exec SELECT ${db} leaked B: ${m.text}`);
  }
  assert.equal(await redis.get(key), "A-own");
  // A Lua script may call SELECT itself; it must not reach database B either.
  for (let db = 0; db < 16; db++) {
    const r = await raw("/", ["eval", "redis.call('SELECT', ARGV[1]) return redis.call('GET', KEYS[1])", 1, key, db]);
    assert.ok(!r.text.includes(secret), `EVAL with SELECT ${db} read database B: ${r.status} ${r.text}`);
  }
});

test("unknown command: HTTP 400 with Redis's error; the client throws it", async () => {
  const r = await raw("/", ["nosuchcmd", "x"]);
  assert.equal(r.status, 400, r.text);
  assert.match(r.json?.error ?? "", /^ERR unknown command/);
  await rejectsMatching(redis.exec(["nosuchcmd", "x"]), /ERR unknown command/);
  const p = await raw("/pipeline", [["nosuchcmd"], ["ping"]]);
  assert.equal(p.status, 200, p.text);
  assert.match(p.json[0].error, /^ERR unknown command/);
  assert.ok(!("result" in p.json[0]), "an entry has either result or error, never both");
  assert.equal(p.json[1].result, "PONG");
});

test("auth: missing or bad token is 401; ?_token= works", async () => {
  for (const token of [null, "not-a-jwt", `${TOKEN.slice(0, -4)}AAAA`]) {
    const r = await raw("/", ["get", k("auth:k")], { token });
    assert.equal(r.status, 401, `token ${token}: ${r.status} ${r.text}`);
    assert.equal(typeof r.json?.error, "string");
  }
  await assert.rejects(client("not-a-jwt").get(k("auth:k")), { name: "UpstashError" });
  const q = await raw(`/?_token=${encodeURIComponent(TOKEN)}`, ["echo", "hi"], { token: null });
  assert.equal(q.status, 200, q.text);
  assert.equal(q.json.result, "hi");
});

test("wire: base64 encodes every string, path form works", async () => {
  const key = k("wire:k");
  const b = await raw("/pipeline", [["set", key, "vé"], ["get", key], ["ping"], ["incr", k("wire:n")]],
    { headers: { "Upstash-Encoding": "base64" } });
  assert.equal(b.status, 200, b.text);
  const dec = (s) => Buffer.from(s, "base64").toString("utf8");
  assert.equal(dec(b.json[0].result), "OK");
  assert.equal(dec(b.json[1].result), "vé");
  assert.equal(b.json[2].result, "UE9ORw==");
  assert.equal(b.json[3].result, 1);
  const g = await raw(`/get/${encodeURIComponent(key)}`, undefined, { method: "GET" });
  assert.equal(g.status, 200, g.text);
  assert.equal(g.json.result, "vé");
  const s = await raw(`/set/${encodeURIComponent(k("wire:p"))}/path%20value?EX=100`, undefined, { method: "GET" });
  assert.equal(s.status, 200, s.text);
  assert.equal(await redis.get(k("wire:p")), "path value");
  assert.ok((await redis.ttl(k("wire:p"))) > 90);
});
