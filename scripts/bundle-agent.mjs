// Bundles the per-node agent (src/agent/main.ts) into ONE self-contained CommonJS file with no
// native modules, runnable with `node dist/agent/agent.cjs` on any node with Node >= 20.
// Writes dist/agent/agent.cjs and dist/agent/agent.sha256, and prints the sha256.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Builds the bundle; `outfile` defaults to dist/agent/agent.cjs. Returns { outfile, sha256 }. */
export async function bundleAgent({ outfile = join(root, 'dist', 'agent', 'agent.cjs'), minify = false } = {}) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [join(root, 'src', 'agent', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    define: { __ALOFT_VERSION__: JSON.stringify(pkg.version) },
    banner: { js: '#!/usr/bin/env node' },
  });
  const sha256 = createHash('sha256').update(readFileSync(outfile)).digest('hex');
  writeFileSync(join(dirname(outfile), 'agent.sha256'), `${sha256}  ${outfile.split('/').pop()}\n`);
  return { outfile, sha256 };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outfile, sha256 } = await bundleAgent();
  console.log(`agent bundle: ${outfile} sha256 ${sha256}`);
}
