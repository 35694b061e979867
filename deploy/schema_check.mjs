// deploy/schema_check.mjs DOCS.json TMPDIR: validates Kubernetes and Strimzi
// documents against their published schemas, offline. Run by
// tests/scripts/deploy_manifests.sh; DOCS.json is [{path, doc}, ...] (every
// YAML document under deploy/, read by tests/lib/deploy_check.py --json).
//
// Two passes over each document, both from the npm packages pinned in
// package-lock.json (scripts/deps.sh runs npm ci):
//   1. the model's validate(): the JSON Schema of the resource (types,
//      required fields, enums, patterns, bounds), as kubernetes-models
//      (Kubernetes' OpenAPI) and @kubernetes-models/strimzi-kafka-operator
//      (the CRDs of Strimzi 1.0.0, kafka.strimzi.io/v1) compile it;
//   2. TypeScript's excess-property check against the interfaces generated
//      from the same schemas: a field the schema does not have (a typo, or a
//      v1beta2 field v1 dropped, such as spec.kafka.replicas). An API server
//      rejects those under kubectl's strict field validation; a CRD would
//      otherwise prune them silently.
// A document whose apiVersion/kind has no model fails, except kustomize's
// Kustomization (a build file, not an API object; deploy_check.py checks
// its resources). Prints "PASS what" or "FAIL what: why" per file, then
// self-tests: broken documents each pass must reject.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(path.join(ROOT, "package.json"));
const ts = require("typescript");
const NM = path.join(ROOT, "node_modules");

// apiVersion -> [module directory under node_modules, package subpath]
function modelDir(apiVersion) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "kafka.strimzi.io" || group === "core.strimzi.io")
    return `@kubernetes-models/strimzi-kafka-operator/${group}/${version}`;
  if (group === "") return `kubernetes-models/${version}`;
  return `kubernetes-models/${group}/${version}`;
}

// Strimzi 1.0 serves kafka.strimzi.io/v1 only (v1beta2 was removed); the
// package also holds 0.49's v1beta2 models, which are not accepted here.
function modelFile(doc) {
  if (!doc || typeof doc.apiVersion !== "string" || typeof doc.kind !== "string") return null;
  if (doc.apiVersion.startsWith("kafka.strimzi.io/") && doc.apiVersion !== "kafka.strimzi.io/v1") return null;
  const f = path.join(NM, modelDir(doc.apiVersion), doc.kind + ".js");
  return fs.existsSync(f) ? f : null;
}

function isKustomization(doc) {
  return doc && doc.kind === "Kustomization" &&
    String(doc.apiVersion).startsWith("kustomize.config.k8s.io/");
}

function label(doc) {
  return `${doc?.kind ?? "?"} ${doc?.metadata?.name ?? "?"}`;
}

// Pass 1: the compiled JSON Schema. Returns a list of problems.
async function schemaProblems(doc) {
  const f = modelFile(doc);
  if (f === null) return [`${label(doc)}: no schema for apiVersion ${doc?.apiVersion} kind ${doc?.kind}`];
  const mod = await import(pathToFileURL(f).href);
  const Model = mod[doc.kind];
  try {
    new Model(doc).validate();
    return [];
  } catch (e) {
    return [`${label(doc)}: ${String(e.message || e).replace(/\s+/g, " ").slice(0, 400)}`];
  }
}

// Pass 2: unknown fields, for many documents in one TypeScript program.
// docs: [{key, doc}]; returns Map key -> problems.
function fieldProblems(docs, tmp) {
  const dir = fs.mkdtempSync(path.join(tmp, "schema-ts-"));
  const files = new Map();
  docs.forEach(({ key, doc }, i) => {
    const f = modelFile(doc);
    if (f === null) return;
    const dts = f.replace(/\.js$/, ".d.ts");
    const iface = "I" + doc.kind;
    const src = `import type { ${iface} } from ${JSON.stringify(dts.replace(/\.d\.ts$/, ".js"))};\n` +
      `export const doc: ${iface} = ${JSON.stringify(doc, null, 2)};\n`;
    const file = path.join(dir, `doc${i}.ts`);
    fs.writeFileSync(file, src);
    files.set(file, key);
  });
  const program = ts.createProgram([...files.keys()], {
    noEmit: true, strict: true, skipLibCheck: true, types: [],
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
  });
  const out = new Map();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const key = d.file ? files.get(path.resolve(d.file.fileName)) : undefined;
    let where = "";
    if (d.file && d.start !== undefined) {
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      where = ` (near ${d.file.text.split("\n")[line].trim().slice(0, 80)})`;
    }
    const msg = ts.flattenDiagnosticMessageText(d.messageText, " ").replace(/\s+/g, " ").slice(0, 300) + where;
    const k = key ?? "(checker)";
    if (!out.has(k)) out.set(k, []);
    out.get(k).push(msg);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return out;
}

// Broken documents: each must be caught by the pass named.
const BROKEN = [
  ["schema", "a KafkaTopic with partitions as a string",
   { apiVersion: "kafka.strimzi.io/v1", kind: "KafkaTopic", metadata: { name: "t" },
     spec: { partitions: "8", replicas: 3 } }],
  ["schema", "a KafkaUser ACL with an operation Strimzi does not know",
   { apiVersion: "kafka.strimzi.io/v1", kind: "KafkaUser", metadata: { name: "u" },
     spec: { authentication: { type: "tls" }, authorization: { type: "simple", acls: [
       { resource: { type: "topic", name: "a" }, operations: ["Reed"] }] } } }],
  ["schema", "a KafkaNodePool without roles",
   { apiVersion: "kafka.strimzi.io/v1", kind: "KafkaNodePool", metadata: { name: "p" },
     spec: { replicas: 3, storage: { type: "ephemeral" } } }],
  ["schema", "a Deployment whose container port is a string of letters",
   { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" },
     spec: { selector: {}, template: { spec: { containers: [{ name: "c", ports: [{ containerPort: "http" }] }] } } } }],
  ["schema", "a Kafka of the removed v1beta2 API",
   { apiVersion: "kafka.strimzi.io/v1beta2", kind: "Kafka", metadata: { name: "k" },
     spec: { kafka: { listeners: [] } } }],
  ["fields", "a v1 Kafka with the v1beta2 fields spec.kafka.replicas and storage",
   { apiVersion: "kafka.strimzi.io/v1", kind: "Kafka", metadata: { name: "k" },
     spec: { kafka: { replicas: 3, storage: { type: "ephemeral" },
                      listeners: [{ name: "tls", port: 9093, type: "internal", tls: true }] } } }],
  ["fields", "a Deployment container with a misspelt field (imagee)",
   { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d" },
     spec: { selector: {}, template: { spec: { containers: [{ name: "c", imagee: "x" }] } } } }],
];

async function main() {
  const [docsFile, tmp] = process.argv.slice(2);
  const docs = JSON.parse(fs.readFileSync(docsFile, "utf8"));
  const byFile = new Map();
  const checked = [];
  docs.forEach(({ path: p, doc }, i) => {
    if (!byFile.has(p)) byFile.set(p, { problems: [], kinds: new Map() });
    const entry = byFile.get(p);
    if (isKustomization(doc)) return;
    entry.kinds.set(`${doc?.apiVersion} ${doc?.kind}`, (entry.kinds.get(`${doc?.apiVersion} ${doc?.kind}`) || 0) + 1);
    checked.push({ key: `doc:${i}`, doc, file: p });
  });
  for (const c of checked) byFile.get(c.file).problems.push(...await schemaProblems(c.doc));
  const broken = BROKEN.map(([pass, what, doc], i) => ({ key: `broken:${i}`, pass, what, doc }));
  const fields = fieldProblems([...checked, ...broken], tmp);
  for (const c of checked)
    byFile.get(c.file).problems.push(...(fields.get(c.key) || []).map((m) => `${label(c.doc)}: ${m}`));
  for (const [p, { problems, kinds }] of byFile) {
    if (kinds.size === 0) continue;
    const what = [...kinds].map(([k, n]) => `${n} ${k}`).join(", ");
    if (problems.length) console.log(`FAIL schema: ${p} (${what}): ${problems.slice(0, 6).join("; ")}`);
    else console.log(`PASS schema: ${p} (${what}) valid against the Kubernetes and Strimzi v1 schemas, no unknown fields`);
  }
  if (fields.has("(checker)"))
    console.log(`FAIL schema: the TypeScript check itself: ${fields.get("(checker)").slice(0, 3).join("; ")}`);
  for (const b of broken) {
    const caught = b.pass === "schema" ? (await schemaProblems(b.doc)).length > 0
                                       : (fields.get(b.key) || []).length > 0;
    console.log(`${caught ? "PASS" : "FAIL"} schema self-test: ${b.what} is caught (${b.pass === "schema" ? "JSON Schema" : "unknown field"})${caught ? "" : ": not caught"}`);
  }
}

main().catch((e) => {
  console.log(`FAIL schema_check.mjs ran: ${e.stack || e}`);
  process.exit(1);
});
