// big_body.mjs URL TOKEN BYTES N: POSTs a body of BYTES bytes N times with
// Node's fetch (the official client's transport) and prints one line per
// outcome: the status and error text, or the fetch error's code.
const [url, token, bytes, n] = process.argv.slice(2);
const body = 'x'.repeat(Number(bytes));
const seen = {};
for (let i = 0; i < Number(n); i++) {
  let key;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
      body,
    });
    const j = await res.json();
    key = `${res.status} ${String(j.error).split('.')[0]}`;
  } catch (e) {
    key = `error ${e.cause?.code ?? e.message}`;
  }
  seen[key] = (seen[key] ?? 0) + 1;
}
for (const [k, v] of Object.entries(seen)) console.log(`${v} ${k}`);
