// Makes one request with each token of a file (one per line), CONC at a
// time, so the gateway has verified and cached every one.
// Usage: node use_tokens.mjs URL TOKENS_FILE CONC
import { readFileSync } from "node:fs";

const [url, file, conc] = [process.argv[2], process.argv[3], Number(process.argv[4] || 50)];
const tokens = readFileSync(file, "utf8").split("\n").filter(Boolean);
let next = 0, ok = 0, bad = 0;
async function worker() {
  while (next < tokens.length) {
    const t = tokens[next++];
    const r = await fetch(url, { headers: { Authorization: `Bearer ${t}` } });
    await r.arrayBuffer();
    if (r.status === 200) ok++; else bad++;
  }
}
await Promise.all(Array.from({ length: conc }, worker));
console.log(`ok ${ok} failed ${bad}`);
process.exit(bad ? 1 : 0);
