// quota_client.mjs - @upstash/redis against a rate-limited database: INCR
// until the gateway refuses, then print the client's error message (or
// "never refused"). Used by tests/e2e/test_quotas.sh. Env: U, T.
import { Redis } from "@upstash/redis";

const redis = new Redis({ url: process.env.U, token: process.env.T, retry: false });
let refused = null;
for (let i = 0; i < 8; i++) {
  try {
    await redis.incr("viaclient");
  } catch (e) {
    refused = String(e.message || e);
    break;
  }
}
console.log(refused ?? "never refused");
