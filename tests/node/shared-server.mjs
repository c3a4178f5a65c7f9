// @upstash/ratelimit on a Redis server other databases share, with
// shared_scripts = approved and approved_scripts = tools/approved-scripts.txt
// (issue 10, finding 2): the client's scripts run, by EVAL and by EVALSHA,
// for a dedicated database and for a prefix one, while a writing script
// nobody approved is refused. Not a *.test.mjs: test_clients.sh runs those
// against another set-up; tests/e2e/test_scripts.sh runs this one.
//
// Environment:
//   TOLLGATE_URL               the gateway (shared_scripts = approved)
//   TOLLGATE_DEDICATED_TOKEN   a dedicated database on the shared server
//   TOLLGATE_PREFIX_TOKEN      a prefix database on the same server
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Redis } from "@upstash/redis";
import { Ratelimit } from "@upstash/ratelimit";
import { env, gatewayUrl } from "./env.mjs";

const URL_ = gatewayUrl();
const tokens = {
  dedicated: env("TOLLGATE_DEDICATED_TOKEN", import.meta.url),
  prefix: env("TOLLGATE_PREFIX_TOKEN", import.meta.url),
};
const run = randomBytes(4).toString("hex");

const algorithms = {
  fixedWindow: () => Ratelimit.fixedWindow(2, "60 s"),
  slidingWindow: () => Ratelimit.slidingWindow(2, "60 s"),
  tokenBucket: () => Ratelimit.tokenBucket(2, "60 s", 2),
};

for (const [db, token] of Object.entries(tokens)) {
  for (const [name, limiter] of Object.entries(algorithms)) {
    test(`${db} database, shared server: @upstash/ratelimit ${name} runs its approved scripts`, async () => {
      const rl = new Ratelimit({
        redis: new Redis({ url: URL_, token }),
        limiter: limiter(),
        prefix: `rl:${run}:${name}`,
        ephemeralCache: false,
        analytics: false,
        timeout: 0, // a refused script must surface, not pass as a timeout
      });
      const got = [];
      for (let i = 0; i < 3; i++) got.push(await rl.limit("alice"));
      assert.deepEqual(got.map((r) => [r.success, r.remaining, r.reason]),
                       [[true, 1, undefined], [true, 0, undefined], [false, 0, undefined]]);
      assert.equal((await rl.getRemaining("alice")).remaining, 0);
      // The reset script (SCAN + DEL inside Lua) is approved too; a prefix
      // database's Redis user may not SCAN the shared keyspace from a
      // script (README, Isolation), so it runs on the dedicated one only.
      if (db === "dedicated") {
        await rl.resetUsedTokens("alice");
        assert.equal((await rl.limit("alice")).success, true, "allowed again after the reset");
      }
    });
  }

  test(`${db} database, shared server: a writing script nobody approved is refused`, async () => {
    const redis = new Redis({ url: URL_, token });
    await assert.rejects(redis.eval("return redis.call('set', KEYS[1], 'x')", [`w:${run}`], []),
                         /shared_scripts = approved/);
    assert.equal(await redis.get(`w:${run}`), null);
    assert.equal(await redis.evalRo("return 7", [], []), 7, "EVAL_RO still runs");
  });
}
