// The Node build of runlog: src/cli/main.ts bundled by esbuild into dist/node/<build>/, one
// chunk per lazily imported module (so `runlog runner` never loads the server's code), npm
// packages left to node_modules but for a few inlined ones. Running the sources through tsx instead costs a loader, an
// esbuild service and every file transpiled in memory: about 100 MB of an idle server's RSS.
//
// Contract: `freshBundle()` answers the entry of a bundle built from exactly the sources on
// disk (each input's size and mtime, taken before it was read, match the manifest), or
// undefined. `buildBundle()` builds one in a child process (esbuild is never loaded into the
// CLI's own process) and answers its entry, or undefined when it cannot (a read-only install,
// esbuild missing): the caller then runs the sources through tsx. Concurrent builds are safe:
// each writes its own folder and the manifest is replaced atomically; folders of older builds
// are removed after a day (a process still running from one may import its chunks until then).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist', 'node');
const MANIFEST = join(DIST, 'manifest.json');
const SELF = fileURLToPath(import.meta.url);
const OLD_BUILD_MS = 24 * 60 * 60 * 1000;
const INLINED = /^(zod|tweetnacl|@nats-io\/[^/]+)(\/|$)/;

const stamp = (path) => {
  const stat = statSync(path);
  return [stat.size, stat.mtimeMs];
};

/** The bundle's entry file, when the manifest's every input is unchanged on disk. */
export function freshBundle() {
  try {
    const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    for (const [path, [size, mtimeMs]] of Object.entries(manifest.inputs)) {
      const [nowSize, nowMtimeMs] = stamp(join(ROOT, path));
      if (nowSize !== size || nowMtimeMs !== mtimeMs) return undefined;
    }
    return join(DIST, manifest.build, 'main.mjs');
  } catch {
    return undefined;
  }
}

/** Builds in a child process; the entry of the new bundle, or undefined when it could not be built. */
export function buildBundle() {
  try {
    // A read-only install would fail the build on every start: ask the folder first.
    mkdirSync(DIST, { recursive: true });
    accessSync(DIST, constants.W_OK);
  } catch {
    return undefined;
  }
  const child = spawnSync(process.execPath, [SELF, '--build'], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (child.status !== 0) {
    if (process.env.RUNLOG_DEBUG_BUNDLE) process.stderr.write(`runlog: could not build the Node bundle, running the sources through tsx:\n${child.stderr}\n`);
    return undefined;
  }
  return freshBundle();
}

async function build() {
  const esbuild = await import('esbuild');
  const build = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const outdir = join(DIST, build);
  // Size and mtime are taken before the file is read: an edit during the build changes them,
  // so the next start builds again rather than trusting a bundle of the older text.
  const inputs = { [relative(ROOT, SELF)]: stamp(SELF), 'tsconfig.json': stamp(join(ROOT, 'tsconfig.json')) };
  const sourceUrls = {
    name: 'source-urls',
    setup(plugin) {
      plugin.onLoad({ filter: /\.ts$/ }, (args) => {
        const stamped = stamp(args.path);
        const text = readFileSync(args.path, 'utf8');
        inputs[relative(ROOT, args.path).split(sep).join('/')] = stamped;
        // Each module keeps the URL of its source file (src/events/database.ts finds
        // drizzle/, src/web/bundle.ts finds web/ relative to it), not of the chunk it lands in.
        const fromChunk = relative(outdir, args.path).split(sep).join('/');
        return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(fromChunk)}, import.meta.url).href`), loader: 'ts' };
      });
    },
  };
  // npm packages stay in node_modules, loaded from there, except the pure-JS ones a runner
  // loads (INLINED): each becomes part of one chunk instead of ~100 ES modules, which saves
  // an idle runner ~1.5 MB of its 64 MB budget.
  const packagesExceptInlined = {
    name: 'packages-except-inlined',
    setup(plugin) {
      plugin.onResolve({ filter: /^[^./]/ }, (args) => (INLINED.test(args.path) ? undefined : { path: args.path, external: true }));
    },
  };
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, 'src', 'cli', 'main.ts')],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    plugins: [sourceUrls, packagesExceptInlined],
    // CommonJS inlined from node_modules requires Node's builtins.
    banner: { js: "import { createRequire as __runlogCreateRequire } from 'node:module'; const require = __runlogCreateRequire(import.meta.url);" },
    outExtension: { '.js': '.mjs' },
    // Errors and stack frames keep their functions' and classes' own names.
    keepNames: true,
    minifyWhitespace: true,
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'error',
    metafile: true,
  });
  // An inlined package is an input through its package.json, which npm rewrites with every
  // install of it (stamped after the build: npm does not edit installed files in place).
  for (const path of Object.keys(result.metafile.inputs)) {
    const pkg = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1];
    if (!pkg) continue;
    const manifest = `${pkg}/package.json`;
    inputs[manifest] ??= stamp(join(ROOT, manifest));
  }
  mkdirSync(DIST, { recursive: true });
  const temporary = `${MANIFEST}.${build}`;
  writeFileSync(temporary, JSON.stringify({ build, inputs }));
  renameSync(temporary, MANIFEST);
  for (const entry of readdirSync(DIST, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === build) continue;
    const folder = join(DIST, entry.name);
    if (Date.now() - statSync(folder).mtimeMs > OLD_BUILD_MS) rmSync(folder, { recursive: true, force: true });
  }
}

// `node bin/node-bundle.js --build` (npm run build) builds now; bin/runlog.js imports the rest.
if (process.argv[1] === SELF && process.argv[2] === '--build') await build();
