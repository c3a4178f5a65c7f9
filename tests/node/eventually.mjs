// Polling shared by the node tests that wait for the gateway to catch up
// (the meter commits in batches; a revocation reaches the workers within a
// second). No timing is asserted: the wait only bounds how long a broken
// gateway is waited for.
import assert from "node:assert/strict";

// Calls fn every 100 ms until it returns a truthy value, and returns that
// value; fails the test naming `what` after `ms` milliseconds.
export async function eventually(fn, what, ms = 15_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`still not true after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
