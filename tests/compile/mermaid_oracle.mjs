// tests/compile/mermaid_oracle.mjs - parse Mermaid files with the real Mermaid (test oracle).
//
//   node mermaid_oracle.mjs NODE_MODULES FILE...
//
// NODE_MODULES holds `mermaid` and `jsdom` (npm install mermaid jsdom). For each FILE prints one
// JSON line: {"file", "ok", "error"} and, when it parsed, the flowchart as Mermaid's own database
// holds it: vertices (id -> text, type, classes), edges (start, end, text, type, stroke) and
// subgraphs (id, title, nodes), with the text decoded the way Mermaid decodes it for display
// (its entity placeholders, then HTML entities via the DOM).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, ...files] = process.argv.slice(2);
const require = createRequire(join(modules, "noop.js"));
const { JSDOM } = require("jsdom");
const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const pkg = join(modules, "mermaid");
const entry = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8")).module;
const { default: mermaid } = await import(pathToFileURL(join(pkg, entry)).href);
mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });

function decode(text) {
  if (typeof text !== "string") return text;
  const html = text.replace(/ﬂ°°/g, "&#").replace(/ﬂ°/g, "&").replace(/¶ß/g, ";");
  const el = document.createElement("textarea");
  el.innerHTML = html.replace(/<br\s*\/?>/g, "\n");
  return el.value;
}

for (const file of files) {
  const out = { file, ok: false, error: null };
  try {
    const text = readFileSync(file, "utf8");
    await mermaid.parse(text);
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(text);
    const db = diagram.db;
    const vertices = db.getVertices();
    out.vertices = {};
    for (const [id, v] of vertices instanceof Map ? vertices.entries() : Object.entries(vertices)) {
      out.vertices[id] = { text: decode(v.text), type: v.type, classes: v.classes };
    }
    out.edges = db.getEdges().map((e) => ({
      start: e.start, end: e.end, text: decode(e.text), type: e.type, stroke: e.stroke,
    }));
    out.subgraphs = db.getSubGraphs().map((s) => ({ id: s.id, title: decode(s.title), nodes: s.nodes }));
    out.ok = true;
  } catch (e) {
    out.error = String((e && e.message) || e);
  }
  console.log(JSON.stringify(out));
}
