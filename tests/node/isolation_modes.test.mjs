// The isolation modes with the official @upstash/redis client (issue 14,
// item 2): COPY and MEMORY USAGE on a dbindex and a prefix database (COPY's
// DB option refused), and on a database that owns its whole Redis
// (isolation server) the functions API, FCALL, SCRIPT FLUSH, FLUSHALL,
// INFO, MEMORY STATS and DBSIZE, administration still refused.
//
// Environment (set by tests/e2e/test_isolation_modes.sh; without it this
// file registers no test):
//   TOLLGATE_URL              e.g. http://127.0.0.1:18080
//   TOLLGATE_TOKEN_DBINDEX    read-write token for a dbindex database
//   TOLLGATE_TOKEN_PREFIX     read-write token for a prefix database
//   TOLLGATE_TOKEN_SERVER     read-write token for a server database
import { test } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "@upstash/redis";

const ENV = ["TOLLGATE_URL", "TOLLGATE_TOKEN_DBINDEX", "TOLLGATE_TOKEN_PREFIX",
  "TOLLGATE_TOKEN_SERVER"];
if (ENV.every((name) => process.env[name])) suite();

function suite() {
  const url = process.env.TOLLGATE_URL.replace(/\/$/, "");
  const client = (token) => new Redis({ url, token, retry: false, enableTelemetry: false });
  const modes = { dbindex: client(process.env.TOLLGATE_TOKEN_DBINDEX),
    prefix: client(process.env.TOLLGATE_TOKEN_PREFIX) };
  const server = client(process.env.TOLLGATE_TOKEN_SERVER);
  // A refusal: the client rejects with the gateway's error text.
  const refused = (p, re = /not allowed/) => assert.rejects(p, (e) => {
    assert.match(String(e.message), re);
    return true;
  });

  for (const [mode, r] of Object.entries(modes)) {
    test(`${mode}: COPY within the database, MEMORY USAGE; COPY DB refused`, async () => {
      await r.set("node:src", "hello");
      await r.del("node:dst");
      assert.equal(await r.exec(["copy", "node:src", "node:dst"]), 1);
      assert.equal(await r.get("node:dst"), "hello");
      assert.equal(await r.exec(["copy", "node:src", "node:dst"]), 0);
      assert.equal(await r.exec(["copy", "node:src", "node:dst", "replace"]), 1);
      await refused(r.exec(["copy", "node:src", "node:x", "db", "5"]), /DB option/);
      assert.equal(await r.exists("node:x"), 0);
      const n = await r.exec(["memory", "usage", "node:src"]);
      assert.ok(Number.isInteger(n) && n > 0, `MEMORY USAGE: ${n}`);
      assert.equal(await r.exec(["memory", "usage", "node:none"]), null);
    });

    test(`${mode}: server-wide commands and administration refused`, async () => {
      await refused(r.functions.list());
      await refused(r.functions.load({ code: "#!lua name=x\nredis.register_function('f', function() return 1 end)" }));
      await refused(r.scriptFlush());
      await refused(r.exec(["info"]));
      await refused(r.exec(["memory", "stats"]));
      for (const cmd of [["config", "set", "maxmemory", "1"], ["shutdown"], ["acl", "whoami"],
        ["module", "list"], ["debug", "sleep", "0"], ["replicaof", "no", "one"]])
        await refused(r.exec(cmd));
    });
  }

  test("server: functions, FCALL / FCALL_RO through the client", async () => {
    await server.functions.flush();
    const code = "#!lua name=nodelib\n" +
      "redis.register_function('hello', function(keys, args) return 'hi ' .. args[1] end)\n" +
      "redis.register_function{function_name = 'getro', callback = function(keys, args) " +
      "return redis.call('GET', keys[1]) end, flags = {'no-writes'}}";
    assert.equal(await server.functions.load({ code }), "nodelib");
    assert.equal(await server.functions.load({ code, replace: true }), "nodelib");
    assert.equal(await server.functions.call("hello", [], ["you"]), "hi you");
    await server.set("fkey", "fval");
    assert.equal(await server.functions.callRo("getro", ["fkey"]), "fval");
    const libs = await server.functions.list();
    assert.deepEqual(libs.map((l) => l.libraryName), ["nodelib"]);
    assert.deepEqual(libs[0].functions.map((f) => f.name).sort(), ["getro", "hello"]);
    const stats = await server.functions.stats();
    assert.ok(stats && typeof stats === "object", JSON.stringify(stats));
    assert.equal(await server.functions.delete("nodelib"), "OK");
    assert.deepEqual(await server.functions.list(), []);
    await server.functions.load({ code });
    assert.equal(await server.functions.flush(), "OK");
    assert.deepEqual(await server.functions.list(), []);
  });

  test("server: SCRIPT FLUSH, FLUSHALL, DBSIZE, INFO, MEMORY STATS, COPY", async () => {
    assert.equal(await server.flushall(), "OK");
    const sha = await server.scriptLoad("return 42");
    assert.equal(await server.evalsha(sha, [], []), 42);
    assert.equal(await server.scriptFlush(), "OK");
    assert.deepEqual(await server.scriptExists(sha), [0]);
    await server.set("a", "1");
    await server.set("b", "2");
    assert.equal(await server.exec(["copy", "a", "c"]), 1);
    await refused(server.exec(["copy", "a", "d", "db", "1"]), /DB option/);
    assert.equal(await server.dbsize(), 3);
    const info = await server.exec(["info"]);
    assert.match(info, /# Memory/);
    assert.doesNotMatch(info, /# Server|executable|config_file/);
    assert.match(await server.exec(["info", "keyspace"]), /db0:keys=3/);
    await refused(server.exec(["info", "server"]), /section 'server'/);
    const mem = await server.exec(["memory", "stats"]);
    assert.ok(Array.isArray(mem) && mem.includes("peak.allocated"), JSON.stringify(mem).slice(0, 200));
    assert.ok((await server.exec(["memory", "usage", "a"])) > 0);
    assert.equal(await server.flushall(), "OK");
    assert.equal(await server.dbsize(), 0);
  });

  test("server: administration stays refused", async () => {
    for (const cmd of [["config", "set", "maxmemory", "1"], ["config", "get", "*"], ["shutdown"],
      ["acl", "whoami"], ["acl", "setuser", "x"], ["module", "list"], ["debug", "sleep", "0"],
      ["replicaof", "no", "one"], ["client", "list"], ["select", "1"], ["script", "kill"],
      ["save"], ["monitor"], ["memory", "doctor"]])
      await refused(server.exec(cmd));
    assert.equal(await server.ping(), "PONG");
  });
}
