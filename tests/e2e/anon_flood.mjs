// tests/e2e/anon_flood.mjs - a bounded flood of unauthenticated requests,
// with a normal authenticated client alongside, for test_anonymous.sh.
// Usage: node anon_flood.mjs URL N CONCURRENCY BAD_TOKEN GOOD_TOKEN GOOD_N
// Sends N POST / with BAD_TOKEN from CONCURRENCY loops, while one loop
// sends GOOD_N requests with GOOD_TOKEN, and prints one JSON line:
// {bad: {status: count}, good: {status: count}, ms, retryAfter, body429}.
const [url, n, concurrency, bad, good, goodN] = process.argv.slice(2);
const out = { bad: {}, good: {}, ms: 0, retryAfter: null, body429: null };
let left = Number(n);
const t0 = Date.now();

async function send(token, tally) {
  const r = await fetch(`${url}/`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}` },
    body: '["get","k"]',
  });
  const body = await r.text();
  tally[r.status] = (tally[r.status] || 0) + 1;
  if (r.status === 429 && out.body429 === null) {
    out.body429 = body;
    out.retryAfter = r.headers.get("retry-after");
  }
}

async function badLoop() {
  while (left > 0) {
    left--;
    await send(bad, out.bad);
  }
}

async function goodLoop() {
  for (let i = 0; i < Number(goodN); i++) await send(good, out.good);
}

await Promise.all([goodLoop(), ...Array.from({ length: Number(concurrency) }, badLoop)]);
out.ms = Date.now() - t0;
console.log(JSON.stringify(out));
