// The YAML fuzzer: mutations of SkyPilot's example YAMLs plus hostile specials (huge, deep, alias
// bombs, many documents, candidates and envs, bad encodings). Every input must parse or fail with
// one `file:line:col:` line, quickly; a sample also goes through the real CLI and daemon
// (`launch --dryrun`), where it must exit 0 or 1 with one line and no stack trace.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseTaskText } from '../../src/spec/index.js';
import { UserError } from '../../src/util/errors.js';
import { ROOT, type AloftEnv } from '../helpers/cli.js';
import { cli, rng, type Tally } from './lib.js';

export interface YamlFuzzOptions {
  mutations: number;
  /** how many of all inputs also go through the CLI and the daemon */
  throughCli: number;
  /** include the specials that take seconds each (megabytes, thousands of keys) */
  heavy: boolean;
  seed: number;
}

const CORPUS = resolve(ROOT, '..', 'shared', 'skypilot-yaml-corpus');
const KEYS = ['name', 'workdir', 'num_nodes', 'resources', 'envs', 'secrets', 'file_mounts', 'setup', 'run', 'cpus', 'accelerators', 'infra', 'any_of', 'ordered', 'use_spot', 'autostop'];
const VALUES = ['null', '~', '-1', '0', '99999999999', '1e400', '"x"', "''", 'true', 'no', '[]', '{}', '[a, [b, {c: d}]]', '*nope', '&a x', '!!binary aGk=', '!!python/object:os.system', '"\\u0000"', '0x1F', '.inf', '"${HOME}"', '"$(rm -rf ~)"'];

const HEAVY = new Set(['huge (1.5 MB)', 'deep sequence', '2,000 documents', '5,000 candidates', '20,000 envs', 'one long line']);

/** Inputs a hostile user (or a broken tool) produces. */
export function specials(heavy = true): Record<string, string | Buffer> {
  return Object.fromEntries(Object.entries(allSpecials()).filter(([k]) => heavy || !HEAVY.has(k)));
}

function allSpecials(): Record<string, string | Buffer> {
  const alias = ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefg'[i]}`).join(', ')}]`), 'run: echo'].join('\n');
  return {
    'huge (1.5 MB)': `run: |\n${'  echo padding padding padding padding\n'.repeat(40_000)}`,
    'deep sequence': `run: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`,
    'deep mapping': `envs:\n${Array.from({ length: 200 }, (_, i) => `${'  '.repeat(i + 1)}k${i}:`).join('\n')} 1\n`,
    'alias bomb': alias,
    'self alias': 'a: &a [*a]\nrun: x\n',
    'merge loop': 'a: &a {<<: *a}\n',
    'unresolved alias': 'run: *nope\n',
    '2,000 documents': Array.from({ length: 2000 }, (_, i) => `name: t${i}\nrun: echo ${i}`).join('\n---\n'),
    '5,000 candidates': 'resources:\n  ordered:\n' + Array.from({ length: 5000 }, (_, i) => `    - cpus: ${(i % 8) + 1}\n`).join('') + 'run: echo\n',
    '20,000 envs': 'envs:\n' + Array.from({ length: 20_000 }, (_, i) => `  V${i}: x\n`).join('') + 'run: echo\n',
    '101 accelerators': `resources:\n  accelerators: [${Array.from({ length: 101 }, (_, i) => `G${i}:1`).join(', ')}]\n`,
    'num_nodes huge': 'num_nodes: 99999999999\nrun: echo\n',
    'complex key': '? [a, b]\n: c\n',
    'duplicate keys': 'run: a\nrun: b\n',
    'NUL bytes': 'name: a\0b\nrun: echo\n',
    'invalid UTF-8': Buffer.concat([Buffer.from('name: x\nrun: echo '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('\n')]),
    'UTF-16 with BOM': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('name: x\nrun: echo\n', 'utf16le')]),
    'UTF-16 without BOM': Buffer.from('name: x\nrun: echo\n', 'utf16le'),
    'tabs': 'name: x\n\trun: y\n',
    'one long line': `run: ${'x'.repeat(900_000)}\n`,
    'prototype keys': 'envs: {__proto__: x, constructor: y}\nsecrets: {toString: z}\nrun: echo\n',
    'only comments': '# nothing\n# here\n',
    'binary junk': Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)),
  };
}

function corpus(): string[] {
  if (!existsSync(CORPUS)) return ['name: t\nresources:\n  cpus: 2+\n  accelerators: A100:1\nenvs:\n  A: b\nsetup: pip install x\nrun: python x.py\n'];
  return readdirSync(CORPUS)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => readFileSync(join(CORPUS, f), 'utf8'));
}

/** One random edit of YAML text: lines dropped, doubled, swapped, re-indented; values and keys replaced; bytes flipped; cut short. */
function mutate(text: string, random: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  const lines = text.split('\n');
  const i = Math.floor(random() * lines.length);
  switch (Math.floor(random() * 9)) {
    case 0:
      lines.splice(i, 1);
      break;
    case 1:
      lines.splice(i, 0, lines[i] ?? '');
      break;
    case 2: {
      const j = Math.floor(random() * lines.length);
      [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
      break;
    }
    case 3:
      lines[i] = ' '.repeat(Math.floor(random() * 7)) + (lines[i] ?? '').trimStart();
      break;
    case 4:
      lines[i] = (lines[i] ?? '').replace(/:\s.*$/, `: ${pick(VALUES)}`);
      break;
    case 5:
      lines[i] = (lines[i] ?? '').replace(/^(\s*)[\w-]+:/, (_, sp: string) => `${sp}${pick(KEYS)}:`);
      break;
    case 6: {
      const at = Math.floor(random() * text.length);
      return text.slice(0, at) + String.fromCharCode(Math.floor(random() * 128)) + text.slice(at + 1);
    }
    case 7:
      return text.slice(0, Math.floor(random() * text.length));
    default:
      lines.splice(i, 0, `${' '.repeat(Math.floor(random() * 4) * 2)}${pick(KEYS)}: ${pick(VALUES)}`);
  }
  return lines.join('\n');
}

export async function yamlFuzz(a: AloftEnv, t: Tally, o: YamlFuzzOptions): Promise<void> {
  const random = rng(o.seed);
  const base = corpus();
  const inputs: Array<[string, string | Buffer]> = Object.entries(specials(o.heavy));
  for (let i = 0; i < o.mutations; i++) {
    let text = base[Math.floor(random() * base.length)]!;
    const edits = 1 + Math.floor(random() * 3);
    for (let e = 0; e < edits; e++) text = mutate(text, random);
    inputs.push([`mutation ${i}`, text]);
  }
  const dir = mkdtempSync(join(tmpdir(), 'aloft-fuzz-'));
  const bad = (what: string, note: string) => {
    t.extra[what] = (t.extra[what] ?? 0) + 1;
    t.notes.push(`${what}: ${note}`);
  };
  const files: string[] = [];
  for (const [label, input] of inputs) {
    t.runs++;
    const file = join(dir, `${files.length}.yaml`);
    writeFileSync(file, input);
    files.push(file);
    const text = typeof input === 'string' ? input : input.toString('utf8');
    const started = Date.now();
    try {
      parseTaskText(text, file, { checkPaths: false, envOverrides: {}, secretOverrides: {} });
    } catch (err) {
      if (!(err instanceof UserError)) bad('crashes (not a one-line error)', `${label}: ${String(err).slice(0, 200)}`);
      else if (err.message.includes('\n')) bad('errors of several lines', `${label}: ${err.message.slice(0, 200)}`);
    }
    if (Date.now() - started > 10_000) t.add('hangs', 1, `${label}: parsing took ${Date.now() - started} ms`);
  }
  // A sample through the real CLI and daemon: the specials first, then mutations spread out.
  const sample = files.filter((_, i) => i < Object.keys(specials(o.heavy)).length || i % Math.max(1, Math.floor(files.length / o.throughCli)) === 0).slice(0, o.throughCli);
  for (const f of sample) {
    const r = await cli(a, t, ['launch', '--dryrun', f], { timeoutMs: 60_000 });
    if (!r) continue;
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('aloft: warning:'));
    if (/\n\s+at .*:\d+:\d+\)?/.test(r.stderr)) bad('stack traces', `${f}: ${r.stderr.slice(0, 300)}`);
    else if (r.code !== 0 && r.code !== 1) bad('CLI exits other than 0/1', `${f}: exit ${r.code}: ${r.stderr.slice(0, 200)}`);
    else if (r.code === 1 && lines.length !== 1) bad('errors of several lines', `${f}: ${r.stderr.slice(0, 300)}`);
  }
}
