// Validates HTTP responses against ../../openapi.yaml, so the document
// cannot drift from the code: the response's status must be documented for
// its path and method, with its content type, and the body must match that
// response's schema (JSON Schema 2020-12, as OpenAPI 3.1 uses; ajv).
//
//   const check = await openapiChecker();
//   check("GET", "/v1/databases", status, contentType, bodyText);  // throws
//
// Response objects are followed through `$ref`s here; schema `$ref`s are
// resolved by ajv inside the document itself.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv2020 from "ajv/dist/2020.js";
import YAML from "yaml";

const DOC_ID = "https://tollgate.invalid/openapi.json";
const here = dirname(fileURLToPath(import.meta.url));

const pointer = (parts) =>
  "#/" + parts.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

export function openapiChecker(file = join(here, "../../openapi.yaml")) {
  const doc = YAML.parse(readFileSync(file, "utf8"));
  // strict: false: OpenAPI keywords (example, paths...) sit beside schemas.
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema(doc, DOC_ID);
  const templates = Object.keys(doc.paths).map((t) => ({
    t,
    re: new RegExp("^" + t.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[^}]+\\?\}/g, "[^/]+") + "$"),
  }));
  const compiled = new Map();
  const follow = (obj, parts) => {
    while (obj && obj.$ref) {
      parts = obj.$ref.replace(/^#\//, "").split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
      obj = parts.reduce((o, k) => o?.[k], doc);
    }
    return [obj, parts];
  };
  return function check(method, path, status, contentType, text) {
    // A literal path beats a template ("/v1/admin/usage" is no "{id}").
    const hits = templates.filter(({ re }) => re.test(path));
    const tpl = hits.find((h) => !h.t.includes("{")) ?? hits[0];
    if (!tpl) throw new Error(`openapi: ${method} ${path}: no such path in openapi.yaml`);
    const op = doc.paths[tpl.t][method.toLowerCase()];
    if (!op) throw new Error(`openapi: ${method} ${tpl.t}: method not documented`);
    const parts0 = ["paths", tpl.t, method.toLowerCase(), "responses", String(status)];
    const [resp, parts] = follow(op.responses?.[String(status)], parts0);
    if (!resp) throw new Error(`openapi: ${method} ${tpl.t}: status ${status} not documented`);
    if (!resp.content) {
      if (text && text.length) throw new Error(`openapi: ${method} ${tpl.t} ${status}: body where none is documented`);
      return;
    }
    const type = (contentType || "").split(";")[0].trim();
    if (!resp.content[type])
      throw new Error(`openapi: ${method} ${tpl.t} ${status}: content type ${type} not documented`);
    const key = pointer([...parts, "content", type, "schema"]);
    if (!compiled.has(key)) compiled.set(key, ajv.compile({ $ref: DOC_ID + key }));
    const validate = compiled.get(key);
    const body = type.includes("json") ? JSON.parse(text) : text;
    if (!validate(body))
      throw new Error(`openapi: ${method} ${path} ${status} does not match ${tpl.t}: ` +
        ajv.errorsText(validate.errors) + `\n  body: ${text.slice(0, 400)}`);
  };
}
