// Builds the Cockpit application into dist/ (what packaging installs as
// /usr/share/cockpit/rockon/): index.html, manifest.json, index.js, index.css
// and the fonts PatternFly's stylesheet refers to.
import * as esbuild from "esbuild";
import fs from "node:fs";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const out = path.join(here, "dist");
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

await esbuild.build({
    entryPoints: [path.join(here, "src/index.jsx")],
    bundle: true,
    minify: true,
    sourcemap: false,
    target: ["es2020"],
    outfile: path.join(out, "index.js"),
    loader: { ".woff2": "file", ".woff": "empty", ".ttf": "empty", ".eot": "empty", ".svg": "dataurl", ".png": "dataurl", ".jpg": "dataurl" },
    assetNames: "fonts/[name]",
    jsx: "automatic",
    legalComments: "linked",
    logLevel: "warning",
});
for (const f of ["index.html", "manifest.json"])
    fs.copyFileSync(path.join(here, f), path.join(out, f));
console.log("built", out);
