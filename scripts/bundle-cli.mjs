// Bundles the CLI (src/cli/main.ts) into ESM chunks under dist/cli-bundle/: start-up then reads a
// handful of files instead of resolving ~100 modules, and each lazily imported part (the YAML
// parser, Ink, the optimizer) stays its own chunk, loaded only by the commands that need it.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli-bundle');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'src', 'cli', 'main.ts')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Native addons, Ink/React (wasm layout engine) and CJS packages that require() builtins stay
  // in node_modules (so do the cloud SDKs: CommonJS that reads __dirname for its protos); small
  // pure-ESM libraries are inlined.
  external: ['@kubernetes/client-node', '@kubernetes/client-node/*', 'better-sqlite3', 'ssh2', 'cpu-features', 'ink', 'ink-*', 'react', 'react/*', 'yoga-layout', 'pino', 'javascript-lp-solver', 'ws', 'tar-stream', 'ignore', 'csv-parse', 'csv-parse/*', '@google-cloud/*', 'google-gax', '@aws-sdk/*', '@smithy/*'],
  sourcemap: false,
  logLevel: 'warning',
  jsx: 'automatic',
  // CommonJS dependencies (commander) call require() for node builtins; give ESM chunks one.
  banner: { js: "import { createRequire as __aloftCreateRequire } from 'node:module'; const require = __aloftCreateRequire(import.meta.url);" },
});
console.log(`cli bundle: ${outdir}`);
