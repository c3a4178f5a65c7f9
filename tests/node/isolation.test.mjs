// Tenant isolation with the official @upstash/redis client: two key-prefix
// databases in the same logical DB of one Redis (tests/e2e/test_isolation.sh
// creates them). The victim fills its database; the attacker, who knows the
// victim's database id, tries to read, write, count, enumerate and delete
// the victim's keys by plain and by full (prefixed) name. Also checks that
// the client works normally on a prefix database: commands, pipelines,
// transactions, auto-pipelining, KEYS/SCAN/DBSIZE/RANDOMKEY, scripts and
// @upstash/ratelimit.
//
// Environment (set by tests/e2e/test_isolation.sh; without it this file
// registers no test, and `node --test` over the directory, as
// tests/e2e/test_clients.sh runs it, lists only the file itself):
//   TOLLGATE_URL                 e.g. http://127.0.0.1:18080
//   TOLLGATE_ISO_VICTIM_TOKEN    read-write token for the victim's prefix database
//   TOLLGATE_ISO_ATTACKER_TOKEN  read-write token for the attacker's prefix database
//   TOLLGATE_ISO_VICTIM_DB       the victim's database id (its key prefix is "<id>:")
//   TOLLGATE_ISO_ATTACKER_DB     the attacker's database id
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Redis } from "@upstash/redis";
import { Ratelimit } from "@upstash/ratelimit";

const ENV = ["TOLLGATE_URL", "TOLLGATE_ISO_VICTIM_TOKEN", "TOLLGATE_ISO_ATTACKER_TOKEN",
  "TOLLGATE_ISO_VICTIM_DB", "TOLLGATE_ISO_ATTACKER_DB"];
if (ENV.every((name) => process.env[name])) suite();

function suite() {
  const URL_ = process.env.TOLLGATE_URL.replace(/\/$/, "");
  const V_TOKEN = process.env.TOLLGATE_ISO_VICTIM_TOKEN;
  const A_TOKEN = process.env.TOLLGATE_ISO_ATTACKER_TOKEN;
  const V_DB = process.env.TOLLGATE_ISO_VICTIM_DB;
  const A_DB = process.env.TOLLGATE_ISO_ATTACKER_DB;
  const VP = `${V_DB}:`; // the victim's key prefix
  const RAND = randomBytes(6).toString("hex");
  const KN = `secretV-${RAND}`; // the victim's key names (guessed by the attacker)
  const VM = `valV-${RAND}`; // the victim's values (never sent by the attacker)

  const client = (token, opts = {}) => new Redis({ url: URL_, token, enableAutoPipelining: true, ...opts });
  const victim = client(V_TOKEN);
  const attacker = client(A_TOKEN);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // Raw HTTP as the attacker, for status codes.
  async function raw(path, body, token = A_TOKEN) {
    const res = await fetch(URL_ + path, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, json, text };
  }

  // Everything the attacker receives is kept and searched for the victim's
  // data: keep() for replies to requests that name nothing of the victim's,
  // keepEcho() for replies that may echo the victim's names the attacker sent.
  const seen = [];
  const seenEcho = [];
  const keep = (x) => { seen.push(JSON.stringify(x) ?? String(x)); return x; };
  const keepEcho = (x) => { seenEcho.push(JSON.stringify(x) ?? String(x)); return x; };
  const assertNoVictimData = (what) => {
    for (const s of [...seen, ...seenEcho]) {
      assert.ok(!s.includes(VM), `${what}: the attacker received a victim value: ${s.slice(0, 300)}`);
      assert.ok(!s.includes(`${A_DB}:`), `${what}: the attacker saw its own prefix: ${s.slice(0, 300)}`);
    }
    for (const s of seen) {
      assert.ok(!s.includes(RAND), `${what}: the attacker received a victim key name: ${s.slice(0, 300)}`);
      assert.ok(!s.includes(V_DB), `${what}: the attacker received the victim's id: ${s.slice(0, 300)}`);
    }
  };
  const rejectsMatching = (promise, re) =>
    assert.rejects(promise, (err) => {
      assert.match(String(err?.message), re);
      keepEcho(String(err?.message).split(", command was:")[0]);
      return true;
    });
  const NOPERM = /NOPERM|permission|can.t access|can.t publish/i;

  async function scanAll(r, opts) {
    const out = new Set();
    let cursor = "0";
    let rounds = 0;
    do {
      const [next, keys] = await r.scan(cursor, opts);
      keys.forEach((x) => out.add(x));
      cursor = String(next);
      rounds++;
    } while (cursor !== "0" && rounds < 10_000);
    assert.equal(cursor, "0");
    return [...out].sort();
  }

  // The victim's data, and what it must still read back at the end.
  const V_KEYS = {
    str: `${KN}:str`, json: `${KN}:json`, hash: `${KN}:hash`, list: `${KN}:list`,
    set: `${KN}:set`, zset: `${KN}:zset`, stream: `${KN}:stream`, same: "same-name", counter: "counter",
  };
  async function victimView() {
    return {
      str: await victim.get(V_KEYS.str),
      json: await victim.get(V_KEYS.json),
      hash: await victim.hgetall(V_KEYS.hash),
      list: await victim.lrange(V_KEYS.list, 0, -1),
      set: (await victim.smembers(V_KEYS.set)).sort(),
      zset: await victim.zrange(V_KEYS.zset, 0, -1, { withScores: true }),
      stream: await victim.xrange(V_KEYS.stream, "-", "+"),
      same: await victim.get(V_KEYS.same),
      counter: await victim.get(V_KEYS.counter),
      keys: (await victim.keys("*")).sort(),
      dbsize: await victim.dbsize(),
    };
  }
  let victimBefore;

  before(async () => {
    await victim.flushdb();
    await attacker.flushdb();
    await victim.set(V_KEYS.str, `${VM}-str`);
    await victim.set(V_KEYS.json, { secret: `${VM}-json`, n: 1 });
    await victim.hset(V_KEYS.hash, { [`${VM}-field`]: `${VM}-h`, f2: `${VM}-h2` });
    await victim.rpush(V_KEYS.list, `${VM}-l1`, `${VM}-l2`);
    await victim.sadd(V_KEYS.set, `${VM}-s1`, `${VM}-s2`);
    await victim.zadd(V_KEYS.zset, { score: 1, member: `${VM}-z1` }, { score: 2, member: `${VM}-z2` });
    await victim.xadd(V_KEYS.stream, "1-1", { f: `${VM}-x1` });
    await victim.xgroup(V_KEYS.stream, { type: "CREATE", group: "g", id: "0" });
    await victim.set(V_KEYS.same, `${VM}-same`);
    await victim.set(V_KEYS.counter, 41);
    victimBefore = await victimView();
    assert.equal(victimBefore.dbsize, 9, JSON.stringify(victimBefore));
  });

  test("prefix database: the client's commands, pipeline, multi and auto-pipelining work", async () => {
    const r = attacker;
    assert.equal(await r.set("s", "v"), "OK");
    assert.equal(await r.get("s"), "v");
    assert.equal(await r.set("obj", { a: [1, "two"] }), "OK");
    assert.deepEqual(await r.get("obj"), { a: [1, "two"] });
    assert.deepEqual(await r.mget("s", "obj", "missing"), ["v", { a: [1, "two"] }, null]);
    assert.equal(await r.incrby("n", 5), 5);
    assert.equal(await r.hset("h", { x: 1, y: "z" }), 2);
    assert.deepEqual(await r.hgetall("h"), { x: 1, y: "z" });
    assert.equal(await r.rpush("l", "a", "b", "c"), 3);
    assert.deepEqual(await r.lrange("l", 0, -1), ["a", "b", "c"]);
    assert.equal(await r.sadd("st", "m"), 1);
    assert.deepEqual(await r.smembers("st"), ["m"]);
    assert.equal(await r.zadd("z", { score: 3, member: "q" }), 1);
    assert.deepEqual(await r.zrange("z", 0, -1, { withScores: true }), ["q", 3]);
    assert.equal(await r.xadd("x", "5-1", { k: "v" }), "5-1");
    assert.equal(await r.expire("s", 100), 1);
    assert.ok((await r.ttl("s")) > 90);
    assert.equal(await r.exists("s", "h", "missing"), 2);
    assert.equal(await r.type("z"), "zset");
    assert.equal(await r.rename("n", "n2"), "OK");
    assert.equal(await r.get("n2"), 5);
    assert.deepEqual(await r.pipeline().set("p", "1").incr("p").get("p").del("p").exec(), ["OK", 2, 2, 1]);
    assert.deepEqual(await r.multi().set("m", "1").incr("m").get("m").exec(), ["OK", 2, 2]);
    const before = r.pipelineCounter;
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => r.set(`ap:${i}`, i)));
    assert.ok(many.every((x) => x === "OK"));
    assert.equal(r.pipelineCounter, before + 1, "50 writes in one tick -> one /pipeline");
    assert.deepEqual(await Promise.all(Array.from({ length: 50 }, (_, i) => r.get(`ap:${i}`))),
      Array.from({ length: 50 }, (_, i) => i));
    assert.equal(await r.dbsize(), 59); // s obj n2 h l st z x m + 50 ap:*
  });

  test("prefix database: keys, scan (match/count/type), dbsize, randomkey: own keys, plain names", async () => {
    const r = attacker;
    assert.equal(await r.flushdb(), "OK");
    assert.equal(await r.dbsize(), 0);
    assert.equal(await r.randomkey(), null);
    assert.deepEqual(await r.keys("*"), []);
    const names = Array.from({ length: 40 }, (_, i) => `k:${i}`);
    await r.mset(Object.fromEntries(names.map((n) => [n, "1"])));
    await r.hset("h:1", { f: 1 });
    await r.set("same-name", "attacker-own");
    const all = [...names, "h:1", "same-name"].sort();
    assert.deepEqual(keep(await r.keys("*")).sort(), all);
    assert.deepEqual(keep(await r.keys("k:1*")).sort(), names.filter((n) => n.startsWith("k:1")).sort());
    assert.deepEqual(keep(await r.keys(`${VP}*`)), []);
    assert.deepEqual(keep(await r.keys("db_*")), []);
    assert.deepEqual(keep(await r.keys("*secretV*")), []);
    assert.equal(await r.dbsize(), 42);
    assert.deepEqual(keep(await scanAll(r, { count: 5 })), all);
    assert.deepEqual(keep(await scanAll(r, { match: "*", count: 7 })), all);
    assert.deepEqual(keep(await scanAll(r, { match: "h:*", count: 100 })), ["h:1"]);
    assert.deepEqual(keep(await scanAll(r, { type: "hash", count: 100 })), ["h:1"]);
    assert.deepEqual(keep(await scanAll(r, { match: `${VP}*`, count: 100 })), []);
    assert.deepEqual(keep(await scanAll(r, { match: `*${RAND}*`, count: 100 })), []);
    for (let i = 0; i < 20; i++) assert.ok(all.includes(keep(await r.randomkey())));
    assert.equal(await r.get("same-name"), "attacker-own");
    assert.equal(await victim.get("same-name"), `${VM}-same`);
    assertNoVictimData("enumeration");
  });

  test("prefix database: lmpop, zmpop, xread, xreadgroup name keys without the prefix", async () => {
    const r = attacker;
    await r.rpush("q:list", "one", "two");
    assert.deepEqual(await r.lmpop(2, ["q:none", "q:list"], "LEFT"), ["q:list", ["one"]]);
    await r.zadd("q:z", { score: 1, member: "a" });
    assert.deepEqual(await r.exec(["zmpop", "1", "q:z", "MIN"]), ["q:z", [["a", 1]]]);
    await r.xadd("q:s", "1-1", { f: "v" });
    assert.deepEqual(await r.xread("q:s", "0-0"), [["q:s", [["1-1", ["f", "v"]]]]]);
    await r.xgroup("q:s", { type: "CREATE", group: "g", id: "0" });
    assert.deepEqual(await r.xreadgroup("g", "c", "q:s", ">"), [["q:s", [["1-1", ["f", "v"]]]]]);
    assert.deepEqual(await r.xread(["q:s", "q:none"], ["0-0", "0-0"]), [["q:s", [["1-1", ["f", "v"]]]]]);
  });

  test("prefix database: eval, evalsha and createScript with declared keys", async () => {
    const r = attacker;
    assert.deepEqual(
      await r.eval("redis.call('SET', KEYS[1], ARGV[1]) return {redis.call('GET', KEYS[1]), #KEYS}", ["lua:k"], ["v"]),
      ["v", 1]);
    assert.equal(await r.get("lua:k"), "v");
    const script = r.createScript(`return redis.call('INCRBY', KEYS[1], ARGV[1]) -- ${RAND}`);
    assert.equal(await script.exec(["lua:n"], ["2"]), 2); // EVALSHA, NOSCRIPT, then EVAL
    assert.equal(await script.exec(["lua:n"], ["3"]), 5);
    assert.equal(await r.get("lua:n"), 5);
  });

  test("attacker reads nothing of the victim's, by plain or by full name", async () => {
    const r = attacker;
    for (const name of Object.values(V_KEYS).filter((n) => n !== "same-name")) {
      for (const key of [name, VP + name]) {
        assert.equal(keepEcho(await r.get(key)), null, key);
        assert.equal(keepEcho(await r.exists(key)), 0, key);
        assert.equal(keepEcho(await r.type(key)), "none", key);
        assert.equal(keepEcho(await r.ttl(key)), -2, key);
        assert.equal(keepEcho(await r.strlen(key)), 0, key);
      }
    }
    for (const key of [V_KEYS.hash, VP + V_KEYS.hash]) {
      assert.equal(keep(await r.hgetall(key)), null);
      assert.equal(keep(await r.hlen(key)), 0);
      assert.deepEqual(keep(await r.hkeys(key)), []);
    }
    for (const key of [V_KEYS.list, VP + V_KEYS.list]) {
      assert.deepEqual(keep(await r.lrange(key, 0, -1)), []);
      assert.equal(keep(await r.lpop(key)), null);
    }
    for (const key of [V_KEYS.set, VP + V_KEYS.set]) {
      assert.deepEqual(keep(await r.smembers(key)), []);
      assert.equal(keep(await r.scard(key)), 0);
    }
    for (const key of [V_KEYS.zset, VP + V_KEYS.zset]) {
      assert.deepEqual(keep(await r.zrange(key, 0, -1)), []);
      assert.equal(keep(await r.zcard(key)), 0);
    }
    for (const key of [V_KEYS.stream, VP + V_KEYS.stream]) {
      assert.deepEqual(keep(await r.xrange(key, "-", "+")), {});
      assert.equal(keepEcho(await r.xread(key, "0-0")), null);
      assert.equal(keep(await r.xlen(key)), 0);
      await rejectsMatching(r.xreadgroup("g", "c", key, ">"), /NOGROUP/);
    }
    const full = Object.values(V_KEYS).map((n) => VP + n);
    assert.deepEqual(keep(await r.mget(...full)), full.map(() => null));
    assert.equal(keep(await r.exists(...full)), 0);
    const piped = keep(await r.pipeline().get(VP + V_KEYS.str).hgetall(VP + V_KEYS.hash)
      .smembers(V_KEYS.set).dbsize().exec());
    assert.deepEqual(piped, [null, null, [], await r.dbsize()]);
    const tx = keep(await r.multi().get(VP + V_KEYS.str).exists(...full).exec());
    assert.deepEqual(tx, [null, 0]);
    // Scripts: declared keys are the attacker's own; undeclared names are Redis ACL errors.
    assert.equal(keep(await r.eval("return redis.call('GET', KEYS[1])", [VP + V_KEYS.str], [])), null);
    await rejectsMatching(r.eval("return redis.call('GET', ARGV[1])", [], [VP + V_KEYS.str]), NOPERM);
    await rejectsMatching(r.eval(`return redis.call('HGETALL', '${VP}${V_KEYS.hash}')`, [], []), NOPERM);
    await rejectsMatching(r.eval("return redis.call('KEYS', '*')", [], []), /./);
    await rejectsMatching(r.eval("return redis.call('SCAN', '0', 'MATCH', ARGV[1])", [], [`${VP}*`]), /./);
    await rejectsMatching(r.eval("return redis.call('DBSIZE')", [], []), /./);
    await rejectsMatching(r.eval("return redis.call('RANDOMKEY')", [], []), /./);
    assertNoVictimData("reads");
  });

  test("attacker's writes with the victim's names stay in the attacker's database", async () => {
    const r = attacker;
    const before = await r.dbsize();
    assert.equal(await r.set(VP + V_KEYS.str, "pwned"), "OK");
    assert.equal(await r.set(V_KEYS.str, "pwned"), "OK");
    assert.equal(await r.hset(VP + V_KEYS.hash, { f2: "pwned" }), 1);
    assert.equal(await r.rpush(VP + V_KEYS.list, "pwned"), 1);
    assert.equal(await r.sadd(V_KEYS.set, "pwned"), 1);
    assert.equal(await r.zadd(VP + V_KEYS.zset, { score: 9, member: "pwned" }), 1);
    assert.equal(await r.incr(VP + V_KEYS.counter), 1);
    assert.equal(await r.incr(V_KEYS.counter), 1);
    assert.equal(await r.rename(VP + V_KEYS.str, VP + V_KEYS.json), "OK");
    await rejectsMatching(r.rename(VP + V_KEYS.stream, "mine"), /no such key/);
    assert.equal(await r.lmove(VP + V_KEYS.list, V_KEYS.list, "left", "right"), "pwned");
    assert.equal(await r.smove(V_KEYS.set, VP + V_KEYS.set, "pwned"), 1);
    assert.equal(await r.zunionstore(VP + V_KEYS.zset, 1, [VP + V_KEYS.zset]), 1);
    assert.equal(await r.sinterstore(VP + V_KEYS.set, VP + V_KEYS.set, VP + V_KEYS.set), 1);
    assert.equal(await r.expire(VP + V_KEYS.same, 1), 0);
    assert.equal(await r.persist(VP + V_KEYS.hash), 0);
    assert.equal(await r.dbsize(), before + 8);
    const names = keepEcho(await r.keys(`${VP}*`)).sort();
    assert.deepEqual(names, [V_KEYS.counter, V_KEYS.hash, V_KEYS.json, V_KEYS.set, V_KEYS.zset].map((n) => VP + n).sort());
    assert.equal(await r.del(...Object.values(V_KEYS).map((n) => VP + n)), 5);
    assert.equal(await r.unlink(V_KEYS.str, V_KEYS.list, V_KEYS.counter, V_KEYS.set), 3); // its own copies
    assert.equal(await r.dbsize(), before);
    assert.deepEqual(await victimView(), victimBefore);
  });

  test("refusals through the client and in transactions are 400 JSON errors", async () => {
    const r = attacker;
    await rejectsMatching(r.multi().set("t", "1").keys("*").exec(), /./);
    await rejectsMatching(r.multi().dbsize().exec(), /./);
    await rejectsMatching(r.multi().flushdb().exec(), /./);
    assert.equal(await r.exists("t"), 0, "a refused transaction runs nothing");
    for (const cmd of [["copy", "k:1", VP + V_KEYS.str, "db", "0"], ["move", "k:1", "1"], ["select", "1"], ["swapdb", "0", "1"],
      ["info"], ["pubsub", "channels"], ["client", "list"], ["function", "list"], ["script", "flush"],
      ["sort", "q:list", "by", `${VP}*`], ["sort", "q:list", "alpha", "get", "#"], ["scan", "0", "withtype"],
      ["scan", "0", "novalues"]]) {
      const res = await raw("/", cmd);
      (JSON.stringify(cmd).includes(V_DB) ? keepEcho : keep)(res.text);
      assert.equal(res.status, 400, `${cmd.join(" ")}: ${res.status} ${res.text}`);
      assert.equal(typeof res.json?.error, "string", `${cmd.join(" ")}: ${res.text}`);
    }
    for (const cmd of [["keys", "*"], ["scan", "0"], ["randomkey"], ["dbsize"], ["flushdb"], ["flushall"]]) {
      const res = await raw("/multi-exec", [["set", "t", "1"], cmd]);
      keep(res.text);
      assert.equal(res.status, 400, `multi-exec ${cmd[0]}: ${res.status} ${res.text}`);
      assert.equal(typeof res.json?.error, "string");
    }
    assert.equal(await r.exists("t"), 0);
    const p = await raw("/pipeline", [["keys", "k:3*"], ["dbsize"], ["randomkey"], ["copy", "k:1", "x", "db", "1"]]);
    keep(p.text);
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.json[0].result.sort(), ["k:3", "k:30", "k:31", "k:32", "k:33", "k:34", "k:35", "k:36", "k:37", "k:38", "k:39"]);
    assert.equal(typeof p.json[1].result, "number");
    assert.equal(typeof p.json[2].result, "string");
    assert.equal(typeof p.json[3].error, "string");
    assertNoVictimData("refusals");
  });

  test("concurrent requests of two tenants never receive each other's replies", async () => {
    const N = 400;
    await victim.mset(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`c:${i}`, `${VM}-c${i}`])));
    await attacker.mset(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`c:${i}`, `mine-${i}`])));
    const plainV = client(V_TOKEN, { enableAutoPipelining: false });
    const plainA = client(A_TOKEN, { enableAutoPipelining: false });
    const jobs = [];
    for (let i = 0; i < N; i++) {
      const k = `c:${i % 50}`;
      jobs.push(victim.get(k).then((v) => assert.equal(v, `${VM}-c${i % 50}`)));
      jobs.push(attacker.get(k).then((v) => assert.equal(keep(v), `mine-${i % 50}`)));
      if (i % 4 === 0) {
        jobs.push(plainV.get(k).then((v) => assert.equal(v, `${VM}-c${i % 50}`)));
        jobs.push(plainA.get(k).then((v) => assert.equal(keep(v), `mine-${i % 50}`)));
        jobs.push(raw("/pipeline", [["get", k], ["keys", "c:4*"]]).then((res) => {
          keep(res.text);
          assert.equal(res.json?.[0]?.result, `mine-${i % 50}`, res.text);
          assert.deepEqual(res.json[1].result.sort(), ["c:4", "c:40", "c:41", "c:42", "c:43", "c:44", "c:45", "c:46", "c:47", "c:48", "c:49"]);
        }));
        jobs.push(raw("/", ["keys", "c:1*"], V_TOKEN).then((res) => assert.equal(res.json?.result?.length, 11, res.text)));
      }
    }
    await Promise.all(jobs);
    assert.equal(await victim.del(...Array.from({ length: 50 }, (_, i) => `c:${i}`)), 50);
    assertNoVictimData("concurrency");
  });

  test("@upstash/ratelimit: one identifier in two prefix databases has two budgets", async () => {
    const WINDOW_MS = 60_000;
    const into = Date.now() % WINDOW_MS;
    if (into > WINDOW_MS - 3000) await sleep(WINDOW_MS - into + 50);
    const limiter = (redis) => new Ratelimit({
      redis, limiter: Ratelimit.fixedWindow(3, "60 s"), prefix: "rl", ephemeralCache: false, analytics: false, timeout: 0,
    });
    const rv = limiter(victim);
    const ra = limiter(attacker);
    const v = [];
    for (let i = 0; i < 4; i++) v.push(await rv.limit("alice"));
    assert.deepEqual(v.map((x) => x.success), [true, true, true, false]);
    assert.deepEqual(v.map((x) => x.remaining), [2, 1, 0, 0]);
    const a = [];
    for (let i = 0; i < 4; i++) a.push(await ra.limit("alice"));
    assert.deepEqual(a.map((x) => x.success), [true, true, true, false], "the attacker's budget is its own");
    assert.equal((await rv.limit("alice")).success, false, "the victim's budget is untouched");
    assert.equal((await rv.getRemaining("alice")).remaining, 0);
    const vk = (await victim.keys("rl:*")).filter((x) => x.includes("alice"));
    assert.equal(vk.length, 1, `victim's limiter keys: ${vk}`);
    await victim.del(...vk);
  });

  test("attacker's FLUSHDB and FLUSHALL empty only the attacker's database", async () => {
    const r = attacker;
    assert.ok((await r.dbsize()) > 0);
    assert.equal(await r.flushdb(), "OK");
    assert.equal(await r.dbsize(), 0);
    assert.deepEqual(await victimView(), victimBefore);
    await r.set("again", "1");
    assert.equal(await r.flushall(), "OK");
    assert.equal(await r.dbsize(), 0);
    assert.deepEqual(await r.keys("*"), []);
    assert.equal(await r.randomkey(), null);
    assert.deepEqual(await victimView(), victimBefore);
    assertNoVictimData("the whole run");
  });
}
