// Pub/sub over server-sent events with the official @upstash/redis client:
// its Subscriber (redis.subscribe / redis.psubscribe, on("subscribe"),
// on("message"), on("pmessage"), unsubscribe) unchanged, on a dedicated
// (logical DB) database and on a shared (key-prefix) one. Each mode also
// checks that another database publishing on the same channel name is
// never heard, that a read-only token may subscribe but not publish, and
// that unsubscribing frees the channel (PUBLISH then reaches nobody).
//
// Environment (set by tests/e2e/test_pubsub.sh; without it this file
// registers no test):
//   TOLLGATE_URL
//   TOLLGATE_PS_DEDICATED_TOKEN, TOLLGATE_PS_DEDICATED_RO_TOKEN
//   TOLLGATE_PS_SHARED_TOKEN, TOLLGATE_PS_SHARED_RO_TOKEN
//   TOLLGATE_PS_OTHER_TOKEN     a third database (the neighbour)
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Redis } from "@upstash/redis";

const ENV = ["TOLLGATE_URL", "TOLLGATE_PS_DEDICATED_TOKEN", "TOLLGATE_PS_DEDICATED_RO_TOKEN",
  "TOLLGATE_PS_SHARED_TOKEN", "TOLLGATE_PS_SHARED_RO_TOKEN", "TOLLGATE_PS_OTHER_TOKEN"];
if (ENV.every((name) => process.env[name])) suite();

// Resolves with the first value f returns that is not undefined, polling.
function until(f, what, ms = 10000) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = async () => {
      try {
        const v = await f();
        if (v !== undefined) return resolve(v);
      } catch (e) {
        return reject(e);
      }
      if (Date.now() - t0 > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

function suite() {
  const URL_ = process.env.TOLLGATE_URL.replace(/\/$/, "");
  const client = (token) => new Redis({ url: URL_, token });
  const other = client(process.env.TOLLGATE_PS_OTHER_TOKEN);

  for (const mode of ["dedicated", "shared"]) {
    const M = mode.toUpperCase();
    const rw = client(process.env[`TOLLGATE_PS_${M}_TOKEN`]);
    const ro = client(process.env[`TOLLGATE_PS_${M}_RO_TOKEN`]);

    test(`${mode}: subscribe, on("subscribe"), on("message"), unsubscribe`, async () => {
      const ch = `news-${randomBytes(4).toString("hex")}`;
      const sub = rw.subscribe([ch]);
      const got = [];
      let count;
      sub.on("subscribe", (n) => { count = n; });
      sub.on("message", (m) => got.push(m));
      await until(() => count, "the subscribe event");
      assert.equal(count, 1);
      // The neighbour publishes on the same name first: never heard.
      assert.equal(await other.publish(ch, "from-the-neighbour"), 0);
      assert.equal(await rw.publish(ch, { hello: "world", n: 1 }), 1);
      assert.equal(await rw.publish(ch, "plain text, with commas"), 1);
      await until(() => (got.length >= 2 ? true : undefined), "two messages");
      assert.deepEqual(got[0], { channel: ch, message: { hello: "world", n: 1 } });
      assert.deepEqual(got[1], { channel: ch, message: "plain text, with commas" });
      assert.equal(got.length, 2);
      await sub.unsubscribe();
      // The disconnect frees the channel in Redis: nobody hears it now.
      await until(async () => ((await rw.publish(ch, "gone")) === 0 ? true : undefined),
        "the channel to be released");
    });

    test(`${mode}: psubscribe, on("pmessage")`, async () => {
      const tag = randomBytes(4).toString("hex");
      const sub = rw.psubscribe([`ev-${tag}-*`]);
      const got = [];
      let count;
      sub.on("psubscribe", (n) => { count = n; });
      sub.on("pmessage", (m) => got.push(m));
      await until(() => count, "the psubscribe event");
      assert.equal(await other.publish(`ev-${tag}-x`, "neighbour"), 0);
      assert.equal(await rw.publish(`ev-${tag}-a`, 42), 1);
      await until(() => (got.length ? true : undefined), "a pmessage");
      assert.deepEqual(got, [{ pattern: `ev-${tag}-*`, channel: `ev-${tag}-a`, message: 42 }]);
      await sub.unsubscribe();
      await until(async () => ((await rw.publish(`ev-${tag}-a`, 1)) === 0 ? true : undefined),
        "the pattern to be released");
    });

    test(`${mode}: a read-only token subscribes but may not publish`, async () => {
      const ch = `ro-${randomBytes(4).toString("hex")}`;
      const sub = ro.subscribe([ch]);
      const got = [];
      let count;
      sub.on("subscribe", (n) => { count = n; });
      sub.on("message", (m) => got.push(m));
      await until(() => count, "the subscribe event");
      await assert.rejects(ro.publish(ch, "nope"), /not allowed|read-only|NOPERM/i);
      assert.equal(await rw.publish(ch, "yes"), 1);
      await until(() => (got.length ? true : undefined), "the message");
      assert.deepEqual(got, [{ channel: ch, message: "yes" }]);
      await sub.unsubscribe();
    });
  }
}
