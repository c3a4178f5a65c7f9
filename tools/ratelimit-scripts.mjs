// ratelimit-scripts.mjs - prints the SHA-1 of every Lua script an installed
// @upstash/ratelimit sends (EVAL / EVALSHA), one `sha1  name` a line: the
// lines of tools/approved-scripts.txt (shared_scripts = approved).
//
//   node tools/ratelimit-scripts.mjs [path/to/node_modules/@upstash/ratelimit]
//
// The package keeps its scripts in top-level variables of its CommonJS
// build (dist/index.js), not exported: the build is run as a script in a
// fresh context, where those variables become the context's properties,
// and every string among them that calls redis.call is a script. Every
// hash the package ships (`hash: "..."`) must be among them.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import vm from "node:vm";

const dir = resolve(process.argv[2] ?? "tests/node/node_modules/@upstash/ratelimit");
const file = join(dir, "dist/index.js");
const src = readFileSync(file, "utf8");
const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const module = { exports: {} };
const ctx = vm.createContext({ require: createRequire(file), module, exports: module.exports,
                               console, setTimeout, clearTimeout, TextEncoder, crypto });
vm.runInContext(src, ctx, { filename: file });
const out = [];
for (const name of Object.keys(ctx)) {
  const v = ctx[name];
  if (typeof v === "string" && v.includes("redis.call"))
    out.push([createHash("sha1").update(v).digest("hex"), name]);
}
const ours = new Set(out.map(([sha]) => sha));
for (const [, sha] of src.matchAll(/hash: "([0-9a-f]{40})"/g)) {
  if (!ours.has(sha)) {
    console.error(`the package ships hash ${sha}, which no script found here has`);
    process.exit(1);
  }
}
for (const [sha, name] of out) console.log(`${sha}  @upstash/ratelimit ${version} ${name}`);
