// End-to-end tests of tollgate with the other npm clients users point at an
// Upstash REST endpoint unchanged: @vercel/kv and @upstash/ratelimit.
//
// Environment (set by the harness, tests/e2e/test_clients.sh):
//   TOLLGATE_URL       e.g. http://127.0.0.1:18080
//   TOLLGATE_TOKEN     read-write token for database A
//   TOLLGATE_RO_TOKEN  read-only token for database A
// Run: node --test tests/node/
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Redis } from "@upstash/redis";
import { createClient } from "@vercel/kv";
import { Ratelimit } from "@upstash/ratelimit";
import { env, gatewayUrl } from "./env.mjs";

const need = (name) => env(name, import.meta.url);
const URL_ = gatewayUrl();
const TOKEN = need("TOLLGATE_TOKEN");
const RO_TOKEN = need("TOLLGATE_RO_TOKEN");

const P = `tgtest:${randomBytes(6).toString("hex")}:`; // per-run key prefix
const k = (name) => P + name;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Plain @upstash/redis client, used to look behind the other clients' backs and to clean up.
const redis = new Redis({ url: URL_, token: TOKEN });
const kv = createClient({ url: URL_, token: TOKEN });

async function keysUnder(prefix) {
  const out = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, { match: `${prefix}*`, count: 500 });
    out.push(...keys);
    cursor = String(next);
  } while (cursor !== "0");
  return out.sort();
}

after(async () => {
  const keys = await keysUnder(P);
  for (let i = 0; i < keys.length; i += 200) await redis.del(...keys.slice(i, i + 200));
});

// ---------------------------------------------------------------- @vercel/kv

test("@vercel/kv: createClient set/get of objects, arrays, numbers; mget", async () => {
  const obj = { name: "tollgate", n: 42, nested: { list: [1, "two", null, true] }, utf8: "héllo ✓" };
  assert.equal(await kv.get(k("kv:obj")), null);
  assert.equal(await kv.set(k("kv:obj"), obj), "OK");
  assert.deepEqual(await kv.get(k("kv:obj")), obj);
  assert.equal(await kv.set(k("kv:arr"), [1, 2, 3]), "OK");
  assert.deepEqual(await kv.get(k("kv:arr")), [1, 2, 3]);
  assert.equal(await kv.set(k("kv:num"), 7), "OK");
  assert.equal(await kv.get(k("kv:num")), 7);
  assert.equal(await kv.set(k("kv:str"), "plain"), "OK");
  assert.equal(await kv.get(k("kv:str")), "plain");
  assert.deepEqual(await kv.mget(k("kv:obj"), k("kv:num"), k("kv:missing")), [obj, 7, null]);
  // What is stored on the server is the JSON text, as Vercel KV stores it.
  const rawClient = new Redis({ url: URL_, token: TOKEN, automaticDeserialization: false });
  assert.deepEqual(JSON.parse(await rawClient.get(k("kv:obj"))), obj);
  // set nx/xx and get after del
  assert.equal(await kv.set(k("kv:obj"), { other: 1 }, { nx: true }), null);
  assert.deepEqual(await kv.get(k("kv:obj")), obj);
  assert.equal(await kv.del(k("kv:obj")), 1);
  assert.equal(await kv.get(k("kv:obj")), null);
});

test("@vercel/kv: hset/hget/hgetall/hincrby", async () => {
  const h = k("kv:hash");
  assert.equal(await kv.hset(h, { name: "ada", age: 36, tags: ["x", "y"], meta: { a: 1 } }), 4);
  assert.deepEqual(await kv.hgetall(h), { name: "ada", age: 36, tags: ["x", "y"], meta: { a: 1 } });
  assert.equal(await kv.hget(h, "name"), "ada");
  assert.deepEqual(await kv.hget(h, "meta"), { a: 1 });
  assert.equal(await kv.hincrby(h, "age", 1), 37);
  assert.equal(await kv.hset(h, { name: "grace" }), 0);
  assert.deepEqual(await kv.hmget(h, "name", "age", "nope"), { name: "grace", age: 37, nope: null });
  assert.equal(await kv.hgetall(k("kv:nohash")), null);
});

test("@vercel/kv: incr/incrby/decr", async () => {
  const c = k("kv:counter");
  assert.equal(await kv.incr(c), 1);
  assert.equal(await kv.incr(c), 2);
  assert.equal(await kv.incrby(c, 40), 42);
  assert.equal(await kv.decr(c), 41);
  assert.equal(await kv.get(c), 41);
});

test("@vercel/kv: kv.pipeline() and kv.multi()", async () => {
  const p = kv.pipeline();
  p.set(k("kv:p:a"), { v: 1 });
  p.get(k("kv:p:a"));
  p.incr(k("kv:p:n"));
  p.incr(k("kv:p:n"));
  p.hset(k("kv:p:h"), { f: "x" });
  p.hgetall(k("kv:p:h"));
  p.get(k("kv:p:missing"));
  assert.deepEqual(await p.exec(), ["OK", { v: 1 }, 1, 2, 1, { f: "x" }, null]);

  // A failing command in a pipeline rejects exec() with the Redis error text.
  const bad = kv.pipeline();
  bad.set(k("kv:p:s"), "text");
  bad.incr(k("kv:p:s"));
  await assert.rejects(bad.exec(), (err) => {
    assert.match(String(err?.message), /not an integer/);
    return true;
  });

  const tx = kv.multi();
  tx.set(k("kv:tx"), 10);
  tx.incrby(k("kv:tx"), 5);
  tx.get(k("kv:tx"));
  assert.deepEqual(await tx.exec(), ["OK", 15, 15]);
});

test("@vercel/kv: expiry with set(k, v, { ex }) and { px }, ttl/pttl/expire", async () => {
  const e = k("kv:exp"), e2 = k("kv:exp2"), e3 = k("kv:exp3");
  assert.equal(await kv.set(e, { short: true }, { ex: 1 }), "OK");
  const ttl = await kv.ttl(e);
  assert.ok(ttl === 1 || ttl === 0, `ttl after ex:1 was ${ttl}`);
  assert.equal(await kv.set(e2, "long", { ex: 100 }), "OK");
  const ttl2 = await kv.ttl(e2);
  assert.ok(ttl2 > 90 && ttl2 <= 100, `ttl after ex:100 was ${ttl2}`);
  assert.equal(await kv.set(e3, "x", { px: 300 }), "OK");
  const pttl = await kv.pttl(e3);
  assert.ok(pttl > 0 && pttl <= 300, `pttl after px:300 was ${pttl}`);
  assert.equal(await kv.ttl(k("kv:exp-missing")), -2);
  assert.equal(await kv.set(k("kv:noexp"), 1), "OK");
  assert.equal(await kv.ttl(k("kv:noexp")), -1);
  assert.equal(await kv.expire(k("kv:noexp"), 50), 1);
  assert.ok((await kv.ttl(k("kv:noexp"))) > 40);

  await sleep(1300);
  assert.equal(await kv.get(e), null);
  assert.equal(await kv.exists(e), 0);
  assert.equal(await kv.get(e3), null);
  assert.equal(await kv.get(e2), "long");
});

test("@vercel/kv: scanIterator / hscanIterator walk every key exactly once", async () => {
  assert.equal(typeof kv.scanIterator, "function", "@vercel/kv has scanIterator");
  const sp = k("kv:scan:");
  const want = [];
  const p = kv.pipeline();
  for (let i = 0; i < 150; i++) {
    want.push(`${sp}${i}`);
    p.set(`${sp}${i}`, i);
  }
  await p.exec();
  const seen = [];
  for await (const key of kv.scanIterator({ match: `${sp}*`, count: 20 })) seen.push(key);
  assert.equal(new Set(seen).size, seen.length, "no duplicates on an unchanging keyspace");
  assert.deepEqual(seen.sort(), want.sort());

  const h = k("kv:scan-hash");
  const fields = {};
  for (let i = 0; i < 40; i++) fields[`f${i}`] = `v${i}`;
  await kv.hset(h, fields);
  const items = [];
  for await (const item of kv.hscanIterator(h, { count: 10 })) items.push(item);
  const got = {};
  for (let i = 0; i < items.length; i += 2) got[items[i]] = items[i + 1];
  assert.deepEqual(got, fields);
});

test("@vercel/kv: the read-only token reads and cannot write", async () => {
  await kv.set(k("kv:ro"), { r: 1 });
  const ro = createClient({ url: URL_, token: RO_TOKEN });
  assert.deepEqual(await ro.get(k("kv:ro")), { r: 1 });
  await assert.rejects(ro.set(k("kv:ro"), { r: 2 }));
  assert.deepEqual(await kv.get(k("kv:ro")), { r: 1 });
});

// ------------------------------------------------------- @upstash/ratelimit

const WINDOW_MS = 10_000;

// Keep the whole sequence of one test inside one 10 s window: the fixed and
// sliding windows are aligned on multiples of the window (client clock).
async function awayFromWindowEdge() {
  const into = Date.now() % WINDOW_MS;
  if (into > WINDOW_MS - 3000) await sleep(WINDOW_MS - into + 50);
}

// A Redis client that counts the scripting calls @upstash/ratelimit makes through it:
// it sends EVALSHA with the SHA-1 it ships and falls back to EVAL on NOSCRIPT.
function countingRedis(token = TOKEN) {
  const counts = { evalsha: 0, noscript: 0, eval: 0 };
  const base = new Redis({ url: URL_, token });
  const proxy = new Proxy(base, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (prop === "evalsha") {
        return async (...args) => {
          counts.evalsha++;
          try {
            return await v.apply(target, args);
          } catch (err) {
            if (String(err?.message).includes("NOSCRIPT")) counts.noscript++;
            throw err;
          }
        };
      }
      if (prop === "eval") {
        return (...args) => {
          counts.eval++;
          return v.apply(target, args);
        };
      }
      return v;
    },
  });
  return { redis: proxy, counts };
}

// @upstash/ratelimit (2.2.0, pinned here) starts its scripts with Upstash's own shebang flag
// `#!lua flags=allow-key-locking` (lock only the keys in KEYS). An Upstash-compatible
// endpoint must accept it, and cache the script under the SHA-1 of the exact text the
// client sent, or EVALSHA never hits.
test("scripts with Upstash's allow-key-locking shebang flag: EVAL, SCRIPT LOAD, EVALSHA by the client's SHA-1", async () => {
  const body = `redis.call("INCRBY", KEYS[1], ARGV[1])\nreturn redis.call("GET", KEYS[1])`;
  const script = `#!lua flags=allow-key-locking\n${body}`;
  const sha = createHash("sha1").update(script).digest("hex");
  const key = k("lock:n");
  assert.equal(await redis.eval(script, [key], ["2"]), 2);
  assert.equal(await redis.evalsha(sha, [key], ["3"]), 5, "EVALSHA by the SHA-1 of the text sent to EVAL");
  assert.equal(await redis.scriptLoad(script), sha, "SCRIPT LOAD answers the SHA-1 of the text sent");
  assert.deepEqual(await redis.scriptExists(sha), [1]);
  assert.equal(await redis.evalsha(sha, [key], ["1"]), 6);
  // Other flags next to it keep their meaning: no-writes is still enforced by Redis.
  const ro = `#!lua flags=allow-key-locking,no-writes\nreturn redis.call("INCR", KEYS[1])`;
  await assert.rejects(redis.eval(ro, [key], []), (err) => {
    assert.match(String(err?.message), /Write commands are not allowed from read-only scripts/);
    return true;
  });
  assert.equal(await redis.get(key), 6);
});

const algorithms = {
  slidingWindow: () => Ratelimit.slidingWindow(5, "10 s"),
  fixedWindow: () => Ratelimit.fixedWindow(5, "10 s"),
  tokenBucket: () => Ratelimit.tokenBucket(5, "10 s", 5),
};

for (const [name, limiter] of Object.entries(algorithms)) {
  test(`@upstash/ratelimit ${name}(5, 10 s): 5 allowed, 6th refused, identifiers independent`, async () => {
    const prefix = k(`rl:${name}`);
    const { redis: counted, counts } = countingRedis();
    const rl = new Ratelimit({
      redis: counted,
      limiter: limiter(),
      prefix,
      ephemeralCache: false, // every call really asks the server
      analytics: false,
      timeout: 0, // no optimistic "timeout" success: a server failure must surface
    });
    await awayFromWindowEdge();
    const t0 = Date.now();

    const results = [];
    for (let i = 0; i < 6; i++) results.push(await rl.limit("alice"));
    const summary = results.map((r) => `${r.success}/${r.remaining}/${r.limit}`).join(" ");
    for (let i = 0; i < 5; i++) {
      assert.equal(results[i].success, true, `call ${i + 1}: ${summary}`);
      assert.equal(results[i].remaining, 4 - i, `remaining after call ${i + 1}: ${summary}`);
      assert.equal(results[i].limit, 5);
      assert.equal(results[i].reason, undefined, `call ${i + 1} decided by the server`);
      assert.ok(results[i].reset > t0, `reset ${results[i].reset} is in the future`);
      await results[i].pending;
    }
    assert.equal(results[5].success, false, `6th call refused: ${summary}`);
    assert.equal(results[5].remaining, 0);
    assert.equal(results[5].limit, 5);
    assert.equal(results[5].reason, undefined);
    assert.equal((await rl.limit("alice")).success, false, "still refused");
    // Every call was a script run on the server; after the first EVAL the
    // script is cached and EVALSHA hits.
    assert.equal(counts.evalsha, 7, `scripting calls: ${JSON.stringify(counts)}`);
    assert.ok(counts.noscript <= 1 && counts.eval === counts.noscript, `scripting calls: ${JSON.stringify(counts)}`);

    // Another identifier has its own budget.
    const bob = await rl.limit("bob");
    assert.equal(bob.success, true);
    assert.equal(bob.remaining, 4);
    assert.equal(bob.limit, 5);

    // getRemaining reads without consuming (a script too).
    const left = await rl.getRemaining("bob");
    assert.equal(left.remaining, 4);
    assert.equal(left.limit, 5);
    assert.equal((await rl.getRemaining("alice")).remaining, 0);

    // The state lives in Redis under the prefix.
    const keys = await keysUnder(prefix);
    assert.ok(keys.some((key) => key.startsWith(`${prefix}:alice`)), `alice's key in ${keys}`);
    assert.ok(keys.some((key) => key.startsWith(`${prefix}:bob`)), `bob's key in ${keys}`);

    // resetUsedTokens runs the reset script (SCAN + DEL inside Lua).
    await rl.resetUsedTokens("alice");
    const again = await rl.limit("alice");
    assert.equal(again.success, true, "allowed again after resetUsedTokens");
    assert.equal(again.remaining, 4);
    assert.equal((await rl.limit("bob")).remaining, 3, "bob untouched by alice's reset");

    // A second limiter object (a fresh process, say) shares the same state.
    const rl2 = new Ratelimit({
      redis: new Redis({ url: URL_, token: TOKEN }),
      limiter: limiter(),
      prefix,
      ephemeralCache: false,
      analytics: false,
      timeout: 0,
    });
    assert.equal((await rl2.limit("bob")).remaining, 2);
  });
}

test("@upstash/ratelimit: weighted requests ({ rate })", async () => {
  const prefix = k("rl:rate");
  const rl = new Ratelimit({
    redis: new Redis({ url: URL_, token: TOKEN }),
    limiter: Ratelimit.fixedWindow(5, "10 s"),
    prefix,
    ephemeralCache: false,
    analytics: false,
    timeout: 0,
  });
  await awayFromWindowEdge();
  const a = await rl.limit("carol", { rate: 3 });
  assert.equal(a.success, true);
  assert.equal(a.remaining, 2);
  const b = await rl.limit("carol", { rate: 3 });
  assert.equal(b.success, false, "3 + 3 > 5");
  const c = await rl.limit("carol", { rate: 2 });
  // fixedWindow counts refused requests too (INCRBY happens before the check).
  assert.equal(c.success, false);
});

test("@upstash/ratelimit: a read-only token cannot consume (the script writes)", async () => {
  const rl = new Ratelimit({
    redis: new Redis({ url: URL_, token: RO_TOKEN }),
    limiter: Ratelimit.fixedWindow(5, "10 s"),
    prefix: k("rl:ro"),
    ephemeralCache: false,
    analytics: false,
    timeout: 0,
  });
  await assert.rejects(rl.limit("dave"), (err) => {
    assert.match(String(err?.message), /NOPERM|read-only/);
    return true;
  });
  assert.deepEqual(await keysUnder(k("rl:ro")), []);
});
