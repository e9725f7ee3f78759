// Bundles the explorer's ES modules (this folder, entry main.js) into the one ESM that
// anywidget loads, trfviz/widget/explorer.js. Run from anywhere: `make widget-js`, or
// `node trfviz/widget/js/build.mjs [outfile [cross_outfile]]` (tests/widget/test_bundle.py builds to a
// temporary file and compares it with the committed bundle). The cross-attention explorer
// (entry cross.js, trfviz.widget.cross) is a second bundle, trfviz/widget/cross.js: built
// with the first when no outfile is given, or to cross_outfile. The bundle is minified: the
// readable code is this folder, and the widget sends the bundle to every browser that shows it.
import { build } from "esbuild";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../../..");
const outfile = resolve(process.argv[2] || resolve(here, "../explorer.js"));

const banner = `// GENERATED FILE, do not edit: the bundle of trfviz/widget/js/ (entry main.js).
// Rebuild with \`make widget-js\` (node trfviz/widget/js/build.mjs; esbuild pinned in package.json).
// trfviz attention explorer: the browser side of trfviz.widget.AttentionExplorer.
// Plain ESM for anywidget: no CDN, no require.js, no network.`;

await build({
  absWorkingDir: repo,
  entryPoints: ["trfviz/widget/js/main.js"],
  bundle: true,
  format: "esm",
  target: "es2020",
  charset: "utf8",
  legalComments: "none",
  minify: true,
  banner: { js: banner },
  outfile,
  logLevel: "warning",
});

// The cross-attention explorer: its own entry and bundle.
const crossOutfile = process.argv[3] || (process.argv[2] ? null : resolve(here, "../cross.js"));
if (crossOutfile) {
  await build({
    absWorkingDir: repo,
    entryPoints: ["trfviz/widget/js/cross.js"],
    bundle: true,
    format: "esm",
    target: "es2020",
    charset: "utf8",
    legalComments: "none",
    minify: true,
    banner: {
      js: `// GENERATED FILE, do not edit: the bundle of trfviz/widget/js/ (entry cross.js).
// Rebuild with \`make widget-js\` (node trfviz/widget/js/build.mjs; esbuild pinned in package.json).
// trfviz cross-attention explorer: the browser side of trfviz.widget.cross.CrossAttentionExplorer.
// Plain ESM for anywidget: no CDN, no require.js, no network.`,
    },
    outfile: resolve(crossOutfile),
    logLevel: "warning",
  });
}
