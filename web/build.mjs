// Build the web messenger into kith/web/static/ (served by Kith at /).
// Output names carry a content hash so Kith can cache /assets/* for a year;
// index.html is written last and is the only file that changes name references.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, basename } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "kith", "web", "static");
const assets = join(out, "assets");
const dev = process.argv.includes("--dev");

rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const hash = (bytes) => createHash("sha256").update(bytes).digest("hex").slice(0, 12);

// The Rust crypto's WebAssembly, loaded by src/matrix.ts with an explicit URL.
const wasmSource = join(here, "node_modules", "@matrix-org", "matrix-sdk-crypto-wasm", "pkg",
    "matrix_sdk_crypto_wasm_bg.wasm");
const wasmBytes = readFileSync(wasmSource);
const wasmName = `crypto-${hash(wasmBytes)}.wasm`;
copyFileSync(wasmSource, join(assets, wasmName));

const result = await esbuild.build({
    entryPoints: { app: join(here, "src", "main.tsx") },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["es2022", "chrome110", "firefox115", "safari16"],
    outdir: assets,
    entryNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    minify: !dev,
    sourcemap: dev ? "linked" : false,
    metafile: true,
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "none",
    logLevel: "warning",
    define: {
        "process.env.NODE_ENV": dev ? '"development"' : '"production"',
        KITH_WASM_URL: JSON.stringify(`/assets/${wasmName}`),
    },
});

const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = outputs.find((n) => n.startsWith("app-") && n.endsWith(".js"));
const css = outputs.find((n) => n.startsWith("app-") && n.endsWith(".css"));
if (!js || !css) throw new Error(`build produced no app js/css: ${outputs.join(", ")}`);

copyFileSync(join(here, "public", "favicon.svg"), join(out, "favicon.svg"));
const html = readFileSync(join(here, "index.html"), "utf8")
    .replace("%APP_JS%", `/assets/${js}`)
    .replace("%APP_CSS%", `/assets/${css}`);
writeFileSync(join(out, "index.html"), html);

const size = (name) => (readFileSync(join(assets, name)).length / 1024).toFixed(0) + " KiB";
console.log(`web: built ${js} (${size(js)}), ${css} (${size(css)}), ${wasmName} (${size(wasmName)})`);
