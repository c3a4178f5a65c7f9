// sse_slow.mjs PORT TOKEN CHANNEL SECONDS
// A subscriber that never reads: asks POST /subscribe/CHANNEL, then
// pauses its socket and holds it for SECONDS.
import net from 'node:net';

const [port, token, ch, secs] = process.argv.slice(2);
const s = net.connect(Number(port), '127.0.0.1');
s.on('connect', () => {
  s.write(`POST /subscribe/${ch} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
    `Accept: text/event-stream\r\nContent-Length: 2\r\n\r\n[]`);
  s.pause();
});
s.on('error', () => {});
setTimeout(() => process.exit(0), Number(secs) * 1000);
