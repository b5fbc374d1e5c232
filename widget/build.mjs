// Builds the storefront widget with esbuild, in three steps:
//   1. the chunks fetched on interaction or when needed (ES modules, minified,
//      content-hashed names, sharing code through split chunks) into
//      plugin/static/widget/, which the app serves with immutable caching;
//   2. beside them, the one file drawn before any interaction (the bubble and
//      the on-site message), bundled whole, with no shared chunk to wait for:
//      every page that shows something imports it, and each file more is a
//      request and a module the shopper's main thread pays for;
//   3. the loader (one minified IIFE) into the theme app extension's assets;
// then plugin/static/widget/manifest.json, naming every file built and the
// file of each chunk the loader imports. The app reads the manifest and sends
// those names with each page view's answer, so the loader (deployed with the
// extension, on its own schedule) never names a chunk itself.
// Files of earlier builds stay: a browser may still run an older chunk that
// imports one of them, and hashed names never collide.
// Same sources, same bytes: `node widget/build.mjs` is reproducible.

import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const WIDGET = dirname(fileURLToPath(import.meta.url));
const REPO = dirname(WIDGET);
const SOURCE = join(WIDGET, 'src');
const CHUNKS_OUT = join(REPO, 'plugin', 'static', 'widget');
const LOADER_OUT = join(REPO, 'extensions', 'revisit-widget', 'assets', 'revisit-loader.js');
// Where the app serves CHUNKS_OUT (plugin/static_widget.py).
const PUBLIC_PATH = '/static/widget/';
// The chunks of step 1: what the loader imports itself (cart, binding), and
// what the visible file imports on interaction (panel, game), which imports
// the rest by relative address (chat; the panel imports binding too).
const CHUNK_NAMES = ['cart', 'binding', 'panel', 'game', 'chat'];
// Step 2's file, and the loader's names for it.
const VISIBLE = 'visible';
const VISIBLE_AS = ['bubble', 'messages'];
// The loader's names for the files it imports.
const ENTRY_NAMES = [...VISIBLE_AS, 'cart', 'binding'];
// Every browser with dynamic import() and shadow DOM reads ES2020.
const TARGET = 'es2020';
// V8's compile hint for a file whose functions nearly all run as it loads
// (the loader, the visible file): Chromium compiles them all at once, while
// it streams the file, instead of parsing each again on its first call on
// the page's main thread (a sixth of the widget's main-thread time there).
// Other browsers read a comment.
const COMPILED_ON_LOAD = { js: '//# allFunctionsCalledOnLoad' };

async function minifiedCss(name) {
  const css = await readFile(join(SOURCE, 'styles', `${name}.css`), 'utf8');
  const result = await esbuild.transform(css, { loader: 'css', minify: true, target: TARGET });
  return JSON.stringify(result.code.trim());
}

const CHUNK_OPTIONS = {
  outdir: CHUNKS_OUT,
  entryNames: '[name]-[hash]',
  bundle: true,
  format: 'esm',
  minify: true,
  target: TARGET,
  legalComments: 'none',
  // Chinese texts as UTF-8, not \u escapes: fewer bytes on the wire.
  charset: 'utf8',
  metafile: true,
  absWorkingDir: REPO,
  logLevel: 'warning',
};

// Each output file's name, and the file of each entry point by its name.
function outputs(result, into) {
  for (const [output, meta] of Object.entries(result.metafile.outputs)) {
    const name = relative(CHUNKS_OUT, join(REPO, output));
    into.files.push(name);
    if (meta.entryPoint) {
      into.chunks[meta.entryPoint.split('/').pop().replace(/\.js$/, '')] = PUBLIC_PATH + name;
    }
  }
  return into;
}

// Step 2 imports step 1's chunks (import('./panel.js')) by their built names.
function importBuilt(chunks) {
  return {
    name: 'import-built-chunks',
    setup(build) {
      build.onResolve({ filter: /^\.\/[a-z]+\.js$/, namespace: 'file' }, (args) => {
        const built = chunks[args.path.slice(2, -3)];
        if (args.kind != 'dynamic-import' || !built) return undefined;
        return { path: './' + built.slice(PUBLIC_PATH.length), external: true };
      });
    },
  };
}

async function buildChunks(define) {
  const built = outputs(
    await esbuild.build({
      ...CHUNK_OPTIONS,
      entryPoints: Object.fromEntries(
        CHUNK_NAMES.map((name) => [name, join(SOURCE, 'chunks', `${name}.js`)]),
      ),
      // Shared code is named "chunk-<hash>".
      chunkNames: '[name]-[hash]',
      splitting: true,
      define,
    }),
    { chunks: {}, files: [] },
  );
  outputs(
    await esbuild.build({
      ...CHUNK_OPTIONS,
      entryPoints: { [VISIBLE]: join(SOURCE, 'chunks', `${VISIBLE}.js`) },
      banner: COMPILED_ON_LOAD,
      define,
      plugins: [importBuilt(built.chunks)],
    }),
    built,
  );
  for (const name of VISIBLE_AS) built.chunks[name] = built.chunks[VISIBLE];
  return { chunks: built.chunks, files: built.files.sort() };
}

async function buildLoader() {
  await esbuild.build({
    entryPoints: [join(SOURCE, 'loader.js')],
    outfile: LOADER_OUT,
    bundle: true,
    format: 'iife',
    minify: true,
    target: TARGET,
    define: { __REVISIT_CHUNK_PATH__: JSON.stringify(PUBLIC_PATH) },
    banner: COMPILED_ON_LOAD,
    legalComments: 'none',
    // Chinese texts as UTF-8, not \u escapes: fewer bytes on the wire.
    charset: 'utf8',
    absWorkingDir: REPO,
    logLevel: 'warning',
  });
  const bytes = await readFile(LOADER_OUT);
  return {
    path: relative(REPO, LOADER_OUT),
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

async function main() {
  const chunkCss = {
    __REVISIT_BASE_CSS__: await minifiedCss('base'),
    __REVISIT_MESSAGES_CSS__: await minifiedCss('messages'),
    __REVISIT_PANEL_CSS__: await minifiedCss('panel'),
    __REVISIT_BINDING_CSS__: await minifiedCss('binding'),
    __REVISIT_GAME_CSS__: await minifiedCss('game'),
    __REVISIT_CHAT_CSS__: await minifiedCss('chat'),
  };
  const { chunks, files } = await buildChunks(chunkCss);
  const loader = await buildLoader();

  await mkdir(CHUNKS_OUT, { recursive: true });
  // What the loader imports, as the page endpoint sends it: "bubble-AB12CD34".
  const entries = Object.fromEntries(
    ENTRY_NAMES.map((name) => [name, chunks[name].slice(PUBLIC_PATH.length, -3)]),
  );
  const manifest = { loader, chunks, entries, files };
  await writeFile(join(CHUNKS_OUT, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
