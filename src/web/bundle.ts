import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The page's sources (web/): bundled by the server itself, so no CDN and no build step an install could miss. */
export const WEB_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

export type WebBundle = {
  /** The script and the stylesheet, minified; `hash` names them for caching. */
  js: string;
  css: string;
  hash: string;
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? sourceFiles(path) : [path];
    })
    .filter((path) => /\.(tsx?|css)$/.test(path))
    .sort();
}

/** A digest of every source file: the bundle is made again only when one changed. */
export function sourceDigest(root = WEB_ROOT): string {
  const hash = createHash('sha256');
  for (const file of sourceFiles(root)) hash.update(file).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/**
 * Bundles web/main.tsx (Preact) and web/styles.css with esbuild, in memory. esbuild is
 * loaded only here, on the first request for the page, so a server that is never asked for
 * it (API only, benchmarks) does not pay for it at start.
 */
export async function bundleWeb(root = WEB_ROOT): Promise<WebBundle> {
  const esbuild = await import('esbuild');
  const common = { bundle: true, minify: true, write: false, logLevel: 'silent', legalComments: 'none' } as const;
  const [script, style] = await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: [join(root, 'main.tsx')],
      format: 'esm',
      target: ['es2020'],
      jsx: 'automatic',
      jsxImportSource: 'preact',
    }),
    esbuild.build({ ...common, entryPoints: [join(root, 'styles.css')] }),
  ]);
  return { js: script.outputFiles[0]!.text, css: style.outputFiles[0]!.text, hash: sourceDigest(root) };
}

/** One bundle per process, made on first use and kept; a failed build is tried again on the next request. */
export function bundleCache(build: () => Promise<WebBundle> = bundleWeb): () => Promise<WebBundle> {
  let pending: Promise<WebBundle> | undefined;
  return () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
