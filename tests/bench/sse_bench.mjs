// sse_bench.mjs PORT TOKEN STREAMS MESSAGES PID
// Fan-out: opens STREAMS server-sent-event streams (POST /subscribe/bench,
// one connection each, 200 opening at a time), waits until every one has
// its subscribe event, samples the gateway's RSS (/proc/PID/status), then
// publishes MESSAGES messages through the gateway, one every
// SSE_INTERVAL_MS (default 1000: 10,000 deliveries a second), and
// times each from just before its PUBLISH is sent to its arrival on each
// stream. Prints one JSON line: {streams, subscribed, rss_idle_kb,
// rss_streams_kb, delivered, expected, p50_ms, p99_ms, max_ms, open_s}.
// The latency includes this one-threaded client's own time to read every
// stream: a floor set by the client, not only by the gateway.
import net from 'node:net';
import fs from 'node:fs';
import http from 'node:http';

const [port, token, nStr, mStr, pid] = process.argv.slice(2);
const N = Number(nStr), M = Number(mStr);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const rssIdle = rss();
const sent = new Map();        // seq -> ms
const lat = [];
let subscribed = 0, delivered = 0, failed = 0;
const socks = [];

function open() {
  return new Promise((resolve) => {
    const s = net.connect(Number(port), '127.0.0.1');
    let buf = '', subbed = false;
    s.on('connect', () => s.write(`POST /subscribe/bench HTTP/1.1\r\nHost: x\r\n` +
      `Authorization: Bearer ${token}\r\nAccept: text/event-stream\r\nContent-Length: 2\r\n\r\n[]`));
    s.on('data', (d) => {
      const now = performance.now();
      buf += d.toString('latin1');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!subbed && line.startsWith('data: subscribe,')) {
          subbed = true;
          subscribed++;
          resolve();
        } else if (line.startsWith('data: message,bench,')) {
          const t0 = sent.get(Number(line.slice(20)));
          if (t0 !== undefined) { lat.push(now - t0); delivered++; }
        }
      }
    });
    s.on('error', () => { failed++; resolve(); });
    s.on('close', () => { if (!subbed) resolve(); });
    socks.push(s);
  });
}

const t0 = performance.now();
for (let i = 0; i < N; i += 200) {
  const batch = [];
  for (let j = i; j < Math.min(N, i + 200); j++) batch.push(open());
  await Promise.all(batch);
}
const openS = (performance.now() - t0) / 1000;
await new Promise((r) => setTimeout(r, 1000));
const rssStreams = rss();

// CPU seconds (user + system) of the gateway and of this client while
// the messages flow: which side bounds the latency.
const tgCpu = () => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;   // utime, stime in clock ticks
};
const cpu0 = tgCpu(), me0 = process.cpuUsage();
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function publish(seq) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: Number(port), method: 'POST', path: '/', agent,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', resolve);
    sent.set(seq, performance.now());
    req.end(JSON.stringify(['publish', 'bench', String(seq)]));
  });
}
for (let k = 0; k < M; k++) {
  await publish(k);
  await new Promise((r) => setTimeout(r, Number(process.env.SSE_INTERVAL_MS || 1000)));
}
await new Promise((r) => setTimeout(r, 2000));
const cpuGateway = tgCpu() - cpu0;
const me = process.cpuUsage(me0);
const cpuClient = (me.user + me.system) / 1e6;
lat.sort((a, b) => a - b);
const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(lat.length * p))] : 0);
console.log(JSON.stringify({
  streams: N, subscribed, failed, rss_idle_kb: rssIdle, rss_streams_kb: rssStreams,
  delivered, expected: N * M, p50_ms: +pct(0.5).toFixed(2), p99_ms: +pct(0.99).toFixed(2),
  max_ms: +(lat.length ? lat[lat.length - 1] : 0).toFixed(2), open_s: +openS.toFixed(2),
  gateway_cpu_us_per_delivery: delivered ? +(cpuGateway * 1e6 / delivered).toFixed(2) : 0,
  client_cpu_us_per_delivery: delivered ? +(cpuClient * 1e6 / delivered).toFixed(2) : 0,
}));
for (const s of socks) s.destroy();
process.exit(0);
