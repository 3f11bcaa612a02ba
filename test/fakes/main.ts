// `npm run fake -- KIND [--fixture NAME] [--write-config DIR]`: serves one of the wire-protocol
// fakes in the foreground so anyone can try aloft against it by hand. Each fake writes into DIR
// what a user of the real service would have (a kubeconfig, credentials, a `*.env` file with the
// endpoint settings aloft honours) and prints a line containing `ready` once it answers.
//
// A fake registers here as KIND → module; the module exports
//   serveForeground(opts: { fixture?: string; configDir: string }): Promise<{ lines: string[]; stop(): Promise<void> }>
// which starts the fake, writes the config files and returns what to print before `ready`.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface ForegroundFake {
  lines: string[];
  stop(): Promise<void>;
}
type Module = { serveForeground(opts: { fixture?: string; configDir: string }): Promise<ForegroundFake> };

const FAKES: Record<string, () => Promise<Module>> = {
  aws: () => import('./aws/index.js'),
  gcp: () => import('./gcp/index.js'),
  kubernetes: () => import('./kubernetes/index.js'),
  s3: () => import('./s3/server.js'),
  gcs: () => import('./gcs/server.js'),
};

function usage(msg?: string): never {
  if (msg) process.stderr.write(`fake: ${msg}\n`);
  process.stderr.write(`usage: npm run fake -- ${Object.keys(FAKES).join('|') || 'KIND'} [--fixture NAME] [--write-config DIR]\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const [kind, ...rest] = argv;
  if (!kind || kind.startsWith('-')) usage();
  const load = FAKES[kind];
  if (!load) usage(`unknown fake '${kind}' (known: ${Object.keys(FAKES).join(', ') || 'none'})`);
  let fixture: string | undefined;
  let configDir: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const v = rest[i + 1];
    if (a === '--fixture' && v) (fixture = v), i++;
    else if (a === '--write-config' && v) (configDir = resolve(v)), i++;
    else usage(`unexpected argument '${a}'`);
  }
  configDir ??= mkdtempSync(join(tmpdir(), `aloft-fake-${kind}-`));
  mkdirSync(configDir, { recursive: true });
  const fake = await (await load()).serveForeground({ fixture, configDir });
  for (const l of fake.lines) process.stdout.write(l + '\n');
  process.stdout.write(`${kind} fake ready (config in ${configDir}; Ctrl-C stops it)\n`);
  const stop = () => void fake.stop().finally(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`fake: ${(err as Error).message}\n`);
  process.exit(1);
});
