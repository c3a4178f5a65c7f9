// Crafts JWTs for the token tests, including hostile ones.
// Usage: node jwt.mjs ALG KEY HEADER_JSON PAYLOAD_JSON
//   ALG: HS256|HS384|HS512|RS256|ES256|none; KEY: @file (key material) or a literal secret
//   HEADER_JSON / PAYLOAD_JSON are used as given (so claims can have wrong types).
import { createHmac, createSign } from "node:crypto";
import { readFileSync } from "node:fs";

const [alg, keyArg, header, payload] = process.argv.slice(2);
const key = keyArg.startsWith("@") ? readFileSync(keyArg.slice(1)) : Buffer.from(keyArg);
const b64 = (s) => Buffer.from(s).toString("base64url");
const input = `${b64(header)}.${b64(payload)}`;
let sig = "";
const bits = alg.slice(2);
if (alg.startsWith("HS")) sig = createHmac(`sha${bits}`, key).update(input).digest("base64url");
else if (alg.startsWith("RS")) sig = createSign(`RSA-SHA${bits}`).update(input).sign(key, "base64url");
else if (alg.startsWith("ES")) sig = createSign(`SHA${bits}`).update(input).sign({ key, dsaEncoding: "ieee-p1363" }, "base64url");
console.log(`${input}.${sig}`);
