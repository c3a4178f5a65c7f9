// Issues N data-plane tokens for one database straight into the state file
// (one transaction through the sqlite3 CLI) and prints one JWT per line.
// Same claims and signature as `tollgate token create`, without N processes.
// Usage: node tokens.mjs STATE.db SECRET PAIRS_FILE N
//   PAIRS_FILE: "tenant database" lines; tokens are spread over them.
import { createHmac, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";

import { readFileSync } from "node:fs";

const [db, secret, pairsFile, n] = process.argv.slice(2);
const pairs = readFileSync(pairsFile, "utf8").split("\n").filter(Boolean).map((l) => l.split(" "));
const b64url = (b) => Buffer.from(b).toString("base64url");
const now = Math.floor(Date.now() / 1000);
const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
const sql = ["BEGIN;"];
const tokens = [];
for (let i = 0; i < Number(n); i++) {
  const [tenant, database] = pairs[i % pairs.length];
  const jti = randomBytes(16).toString("hex");
  const payload = b64url(JSON.stringify({ sub: tenant, db: database, scope: "rw", jti, iat: now, exp: now + 86400 }));
  const sig = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
  tokens.push(`${header}.${payload}.${sig}`);
  sql.push(`INSERT INTO tokens(jti,tenant_id,database_id,scope,issued_at,expires_at) VALUES ('${jti}','${tenant}','${database}','rw',${now},${now + 86400});`);
}
sql.push("COMMIT;");
execFileSync("sqlite3", [db], { input: sql.join("\n") });
process.stdout.write(tokens.join("\n") + "\n");
