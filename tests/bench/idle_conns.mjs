// Opens N keep-alive connections to a URL, makes one request on each, and
// keeps them idle until stdin closes. Prints "ready N" once all answered.
// Usage: node idle_conns.mjs URL N
import net from "node:net";

const [url, n] = [new URL(process.argv[2]), Number(process.argv[3])];
const sockets = [];
let answered = 0;
for (let i = 0; i < n; i++) {
  const s = net.connect(Number(url.port), url.hostname);
  s.setNoDelay(true);
  s.on("error", (e) => { console.error("socket error", e.message); process.exit(1); });
  s.once("data", () => {
    if (++answered === n) console.log(`ready ${n}`);
  });
  s.write(`GET ${url.pathname} HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`);
  sockets.push(s);
}
process.stdin.on("end", () => { sockets.forEach((s) => s.destroy()); process.exit(0); });
process.stdin.resume();
