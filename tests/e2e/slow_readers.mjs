// slow_readers.mjs PORT PID TOKEN PATH N OTHER_TOKEN SECONDS
// Opens N connections that each ask GET PATH (with TOKEN) and never read
// the answer; meanwhile another tenant (OTHER_TOKEN) sends GET /get/small
// one after another, and the gateway's VmRSS (/proc/PID/status) is
// sampled every 100 ms. After SECONDS, prints one JSON line:
// {peak_rss_mb, end_rss_mb, other: {n, p50_ms, p99_ms, max_ms, statuses}}.
// The slow connections stay open (unread) until the end.
import net from 'node:net';
import fs from 'node:fs';

const [port, pid, token, path, n, other, secs] = process.argv.slice(2);
const rss = () => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch { return 0; }
};
let peak = 0;
const sampler = setInterval(() => { peak = Math.max(peak, rss()); }, 100);
const socks = [];
for (let i = 0; i < Number(n); i++) {
  const s = net.connect(Number(port), '127.0.0.1');
  s.on('connect', () => {
    s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    s.pause(); // never read: the answer piles up in the gateway
  });
  s.on('error', () => {});
  socks.push(s);
}
const lat = [], statuses = {};
const T0 = performance.now();
const end = Date.now() + Number(secs) * 1000;
await new Promise((r) => setTimeout(r, 300));
while (Date.now() < end) {
  const t0 = performance.now();
  try {
    const res = await fetch(`http://127.0.0.1:${port}/get/small`,
      { headers: { Authorization: `Bearer ${other}` } });
    await res.text();
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
  } catch (e) {
    statuses.error = (statuses.error ?? 0) + 1;
  }
  lat.push(performance.now() - t0);
  if (process.env.SR_TRACE) console.error(`${(t0 - T0).toFixed(0)} ${(performance.now() - t0).toFixed(1)}`);
  await new Promise((r) => setTimeout(r, 20));
}
clearInterval(sampler);
peak = Math.max(peak, rss());
const endRss = rss();
lat.sort((a, b) => a - b);
const q = (p) => lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : 0;
console.log(JSON.stringify({
  peak_rss_mb: Math.round(peak), end_rss_mb: Math.round(endRss),
  other: { n: lat.length, p50_ms: +q(0.5).toFixed(1), p99_ms: +q(0.99).toFixed(1),
           max_ms: +(lat[lat.length - 1] ?? 0).toFixed(1), statuses },
}));
for (const s of socks) s.destroy();
process.exit(0);
