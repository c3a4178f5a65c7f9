// raw_http.mjs PORT [PID]: sends standard input as-is to 127.0.0.1:PORT
// and prints what comes back, then [EOF], [RESET] or [TIMEOUT] (3 s).
// With PID: sends all but the last 6 bytes, SIGTERMs PID, waits 0.5 s,
// then sends the rest (a request in flight while the gateway drains).
import net from 'node:net';
import fs from 'node:fs';
const port = Number(process.argv[2]), pid = Number(process.argv[3] ?? 0);
const input = fs.readFileSync(0);
const s = net.connect(port, '127.0.0.1');
let out = Buffer.alloc(0);
const finish = (how) => { process.stdout.write(out); console.log(how); process.exit(0); };
s.on('data', (d) => { out = Buffer.concat([out, d]); });
s.on('end', () => finish('[EOF]'));
s.on('error', (e) => finish(e.code === 'ECONNRESET' ? '[RESET]' : `[${e.code}]`));
setTimeout(() => finish('[TIMEOUT]'), pid ? 6000 : 3000);
s.on('connect', async () => {
  if (!pid) return s.write(input);
  s.write(input.subarray(0, input.length - 6));
  await new Promise((r) => setTimeout(r, 300));
  process.kill(pid, 'SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  s.write(input.subarray(input.length - 6));
});
