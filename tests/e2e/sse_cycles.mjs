// sse_cycles.mjs PORT TOKEN N CONCURRENCY CHANNEL_PREFIX
// Subscribe/disconnect cycles: opens N streams (CONCURRENCY at a time),
// each POST /subscribe/<prefix><i % 50> on its own connection; waits for
// its `data: subscribe` event, then drops the connection (as the client
// unsubscribes). Prints one JSON line: {ok, failed, statuses}.
import net from 'node:net';

const [port, token, n, conc, prefix] = process.argv.slice(2);
let started = 0, ok = 0, failed = 0;
const statuses = {};
function one() {
  return new Promise((resolve) => {
    const i = started++;
    const s = net.connect(Number(port), '127.0.0.1');
    let got = '', done = false;
    const finish = (good) => {
      if (done) return;
      done = true;
      good ? ok++ : failed++;
      s.destroy();
      resolve();
    };
    s.setTimeout(10000, () => finish(false));
    s.on('connect', () => s.write(`POST /subscribe/${prefix}${i % 50} HTTP/1.1\r\nHost: x\r\n` +
      `Authorization: Bearer ${token}\r\nAccept: text/event-stream\r\n` +
      `Content-Type: application/json\r\nContent-Length: 2\r\n\r\n[]`));
    s.on('data', (d) => {
      got += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d+)/.exec(got);
      if (m) statuses[m[1]] = (statuses[m[1]] || 0) + (got.length === d.length ? 1 : 0);
      if (/data: subscribe,/.test(got)) finish(true);
      else if (m && m[1] !== '200') finish(false);
    });
    s.on('error', () => finish(false));
    s.on('close', () => finish(false));
  });
}
async function worker() {
  while (started < Number(n)) await one();
}
await Promise.all(Array.from({ length: Number(conc) }, worker));
console.log(JSON.stringify({ ok, failed, statuses }));
