// tests/e2e/load.mjs - a small load generator for test_metering.sh.
// Usage: node load.mjs URL TOKEN DURATION_MS CONCURRENCY OUT_FILE
// Sends /pipeline requests of two commands from CONCURRENCY loops until
// DURATION_MS passes or the server goes away, and writes one line per
// answered request: `<status> <Date.now() when the answer was read>`.
import { writeFileSync } from "node:fs";

const [url, token, durationMs, concurrency, out] = process.argv.slice(2);
const lines = [];
let stop = false;
setTimeout(() => { stop = true; }, Number(durationMs)).unref();

async function loop(i) {
  while (!stop) {
    try {
      const r = await fetch(`${url}/pipeline`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
        body: JSON.stringify([["incr", `load:${i}`], ["get", `load:${i}`]]),
      });
      await r.text();
      lines.push(`${r.status} ${Date.now()}`);
    } catch {
      return; // the server went away
    }
  }
}

await Promise.all(Array.from({ length: Number(concurrency) }, (_, i) => loop(i)));
writeFileSync(out, lines.join("\n") + (lines.length ? "\n" : ""));
