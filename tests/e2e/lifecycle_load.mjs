// lifecycle_load.mjs URL TOKEN CONCURRENCY MAX_MS OUT_JSON READY_FILE
// Load for test_lifecycle.sh's SIGTERM check: CONCURRENCY loops, each on
// its own kept-alive connection (node:http, one socket per loop), send
// /pipeline requests ([INCR, GET]) back to back until the server refuses
// a connection or MAX_MS pass. Every request ends in exactly one of:
//   answered  an HTTP answer came (counted by status);
//   refused   its connection was refused (ECONNREFUSED: never accepted);
//   failed    it was sent on an accepted connection and no answer came
//             (reset, end of stream...), with the error and whether the
//             socket was a reused one.
// Writes {answered: {status: n}, total, refused, failed: [...], closes}
// where closes counts answers that carried Connection: close. READY_FILE
// is made once 200 answers have come (the test waits for it).
import http from 'node:http';
import { writeFileSync } from 'node:fs';

const [url, token, concurrency, maxMs, out, readyFile] = process.argv.slice(2);
const answered = {};
const failed = [];
let refused = 0, total = 0, closes = 0;
const until = Date.now() + Number(maxMs);

function once(agent, i) {
  return new Promise((resolve) => {
    const body = JSON.stringify([['incr', `lc:${i}`], ['get', `lc:${i}`]]);
    const req = http.request(`${url}/pipeline`, {
      method: 'POST', agent,
      headers: { Authorization: `Bearer ${token}`, 'Content-Length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on('end', () => {
        answered[res.statusCode] = (answered[res.statusCode] || 0) + 1;
        total++;
        if (total === 200) writeFileSync(readyFile, '');
        if (/close/i.test(res.headers.connection || '')) closes++;
        resolve('ok');
      });
      res.on('error', (e) => { failed.push({ code: e.code, where: 'body' }); resolve('failed'); });
    });
    req.on('error', (e) => {
      if (e.code === 'ECONNREFUSED') { refused++; resolve('refused'); return; }
      failed.push({ code: e.code || String(e), reused: !!req.reusedSocket });
      resolve('failed');
    });
    req.end(body);
  });
}

async function loop(i) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  while (Date.now() < until) {
    const r = await once(agent, i);
    if (r === 'refused') break;
  }
  agent.destroy();
}

await Promise.all(Array.from({ length: Number(concurrency) }, (_, i) => loop(i)));
writeFileSync(out, JSON.stringify({ answered, total, refused, failed, closes }));
