// slow_heads.mjs PORT N EVERY_MS FOR_MS: opens N connections to
// 127.0.0.1:PORT that send a request head one byte every EVERY_MS (never
// finishing it), for at most FOR_MS; prints JSON: how many connected, how
// many the server closed, how many within a second (refused at once),
// when (ms after opening, min and max), and how many were told 408.
import net from 'node:net';
const [port, n, every, forMs] = process.argv.slice(2).map(Number);
const head = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(4096);
const t0 = Date.now();
let connected = 0, closed = 0, early = 0, told408 = 0, first = Infinity, last = 0;
const socks = [];
await new Promise((done) => {
  let pending = n;
  for (let i = 0; i < n; i++) {
    const s = net.connect(port, '127.0.0.1');
    let pos = 0, data = '';
    s.on('connect', () => { connected++; if (--pending === 0) done(); });
    s.on('data', (d) => { data += d; });
    s.on('error', () => {});
    s.on('close', () => {
      closed++;
      const t = Date.now() - t0;
      first = Math.min(first, t); last = Math.max(last, t);
      if (t < 1000) early++;
      if (data.startsWith('HTTP/1.1 408')) told408++;
      clearInterval(s.timer);
      if (pending > 0 && --pending === 0) done();
    });
    s.timer = setInterval(() => { if (!s.destroyed) s.write(head[pos++ % head.length]); }, every);
    socks.push(s);
  }
});
await new Promise((r) => setTimeout(r, forMs));
for (const s of socks) { clearInterval(s.timer); s.destroy(); }
console.log(JSON.stringify({ connected, closed: Math.min(closed, n), closedEarly: early, told408,
  firstCloseMs: first === Infinity ? null : first, lastCloseMs: last }));
process.exit(0);
