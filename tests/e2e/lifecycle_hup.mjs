// lifecycle_hup.mjs URL TOKEN STOP_FILE MARK_FILE OUT_JSON READY_FILE
// HTTPS requests without pause for test_lifecycle.sh's SIGHUP check, until
// STOP_FILE exists (or 60 s): two loops on one kept-alive connection each,
// two loops opening a new connection (a new TLS handshake) per request.
// Certificates are not verified here; the test compares what was served.
// Writes {ok, failed: [...], fingerprints: {sha256: n}, keptAlive: {...}}
// where keptAlive counts, per kept-alive socket, the answers it gave
// before and after MARK_FILE appeared (the test makes it once the reload
// is logged): a socket answering on both sides survived the reload.
// READY_FILE is made once every loop has had an answer (the test waits
// for it before it reloads).
import https from 'node:https';
import { existsSync, writeFileSync } from 'node:fs';

const [url, token, stopFile, markFile, out, readyFile] = process.argv.slice(2);
const answeredLoops = new Set();
const fingerprints = {};
const failed = [];
const keptAlive = {};
let ok = 0, sockets = 0;
const until = Date.now() + 60000;

function once(agent, i) {
  const seen = () => {
    if (answeredLoops.has(i)) return;
    answeredLoops.add(i);
    if (answeredLoops.size === 4) writeFileSync(readyFile, '');
  };
  return new Promise((resolve) => {
    const req = https.request(`${url}/get/hup:${i}`, {
      agent: agent ?? false, rejectUnauthorized: false, headers: { Authorization: `Bearer ${token}` },
    }, (res) => {
      const sock = res.socket;
      if (!sock.tgId) sock.tgId = ++sockets;
      const fp = sock.getPeerCertificate().fingerprint256;
      res.resume();
      res.on('end', () => {
        if (res.statusCode === 200) ok++;
        else failed.push({ status: res.statusCode });
        seen();
        if (agent) {
          const k = (keptAlive[sock.tgId] ||= { before: 0, after: 0 });
          k[existsSync(markFile) ? 'after' : 'before']++;
        } else {
          fingerprints[fp] = (fingerprints[fp] || 0) + 1;
        }
        resolve();
      });
    });
    req.on('error', (e) => { failed.push({ code: e.code || String(e) }); resolve(); });
    req.end();
  });
}

async function loop(i, keepAlive) {
  const agent = keepAlive ? new https.Agent({ keepAlive: true, maxSockets: 1 }) : undefined;
  while (!existsSync(stopFile) && Date.now() < until) {
    await once(agent, i);
    if (!keepAlive) await new Promise((r) => setTimeout(r, 5));
  }
  agent?.destroy();
}

await Promise.all([loop(0, true), loop(1, true), loop(2, false), loop(3, false)]);
writeFileSync(out, JSON.stringify({ ok, failed, fingerprints, keptAlive }));
