// burst.mjs PORT PID TOKEN CONCURRENCY COMMANDS [ROUNDS]
// CONCURRENCY clients at once each POST /pipeline of COMMANDS
// ["incr","burst"], ROUNDS times over (default 1); the gateway's VmRSS
// (/proc/PID/status) is sampled every 50 ms. Prints one JSON line:
// {statuses, retry_after (503s carrying Retry-After), incr_answered (INCRs
// answered 200), peak_rss_mb, ms}.
import fs from 'node:fs';
import http from 'node:http';

const [port, pid, token, conc, cmds, rounds = '1'] = process.argv.slice(2);
const rss = () => {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch { return 0; }
};
let peak = rss();
const sampler = setInterval(() => { peak = Math.max(peak, rss()); }, 50);
const body = JSON.stringify(Array.from({ length: Number(cmds) }, () => ['incr', 'burst']));
const statuses = {};
let retryAfter = 0, answered = 0;
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(conc) });
const one = () => new Promise((resolve) => {
  const req = http.request({ host: '127.0.0.1', port: Number(port), path: '/pipeline',
    method: 'POST', agent, headers: { Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
  (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
      if (res.statusCode === 503 && res.headers['retry-after']) retryAfter++;
      if (res.statusCode === 200) answered += Number(cmds);
      resolve();
    });
  });
  req.on('error', (e) => { statuses[e.code] = (statuses[e.code] ?? 0) + 1; resolve(); });
  req.setTimeout(60000, () => req.destroy(new Error('timeout')));
  req.end(body);
});
const t0 = Date.now();
for (let r = 0; r < Number(rounds); r++)
  await Promise.all(Array.from({ length: Number(conc) }, one));
clearInterval(sampler);
peak = Math.max(peak, rss());
agent.destroy();
console.log(JSON.stringify({ statuses, retry_after: retryAfter, incr_answered: answered,
  peak_rss_mb: Math.round(peak), ms: Date.now() - t0 }));
