// Issue 17.4 and 17.11: a small hostile YAML can neither take the CLI minutes nor slip through
// without a positioned one-line error that names the limit.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTaskFile, parseTaskText } from '../../src/spec/index.js';

const fail = (text: string) => {
  try {
    parseTaskText(text, 't.yaml', { checkPaths: false });
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('parsed without an error');
};

describe('task YAML limits (issue 17.4)', () => {
  it('20,000 envs are refused naming the limit, after linear work (the key lookup was quadratic)', () => {
    const text = 'envs:\n' + Array.from({ length: 20_000 }, (_, i) => `  V${i}: x${i}\n`).join('') + 'run: echo\n';
    expect(fail(text)).toBe('t.yaml:1:1: envs: 20000 variables; a task may set at most 1000 (the limit)');
    // just under the limit parses, each value as written
    const ok = 'envs:\n' + Array.from({ length: 1000 }, (_, i) => `  V${i}: 0${i}\n`).join('') + 'run: echo\n';
    const task = parseTaskText(ok, 't.yaml').tasks[0]!;
    expect(Object.keys(task.envs)).toHaveLength(1000);
    expect(task.envs.V7).toBe('07');
  });

  it('5,000 ordered candidates, 2,000 documents, 99999999999 nodes: one positioned line each', () => {
    const cands = 'resources:\n  ordered:\n' + Array.from({ length: 5000 }, (_, i) => `    - cpus: ${(i % 8) + 1}\n`).join('') + 'run: echo\n';
    expect(fail(cands)).toBe('t.yaml:2:3: resources.ordered: 5000 candidates; a task may list at most 100 (the limit)');
    const accs = `resources:\n  accelerators: [${Array.from({ length: 101 }, (_, i) => `G${i}:1`).join(', ')}]\nrun: echo\n`;
    expect(fail(accs)).toBe('t.yaml:2:17: resources.accelerators: 101 accelerators; a task may list at most 100 (the limit)');
    const docs = Array.from({ length: 2000 }, (_, i) => `name: t${i}\nrun: echo ${i}`).join('\n---\n') + '\n';
    expect(fail(docs)).toBe('t.yaml:301:1: 2000 documents; a YAML may hold at most 100 (the limit), one task each');
    expect(fail('num_nodes: 99999999999\nrun: echo\n')).toBe('t.yaml:1:12: num_nodes: expected at most 10000 nodes (the limit), got 99999999999');
  });

  it('a file over 1 MiB is refused before it is parsed', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'aloft-big-')), 'big.yaml');
    writeFileSync(f, `run: |\n${'  echo padding padding padding padding\n'.repeat(40_000)}`);
    expect(() => parseTaskFile(f)).toThrow(`${f}: 1.5 MiB; a task YAML may be at most 1 MiB (the limit)`);
  });
});

describe('YAML structure errors are positioned (issue 17.11)', () => {
  it('an alias bomb and an unresolved alias name file:line:col', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcde'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcd'[i]}`).join(', ')}]`), 'run: echo'].join('\n');
    expect(fail(bomb)).toBe('t.yaml:2:8: too many aliases: expanding them takes more than 1000 steps (the limit); a YAML "billion laughs"?');
    expect(fail('name: x\nrun: *nope\n')).toBe('t.yaml:2:6: alias *nope names no anchor (&nope) defined before it');
  });

  it('a complex mapping key is an error, not a Node warning; duplicate keys are found in linear time', () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      expect(fail('name: x\n? [a, b]\n: c\nrun: echo\n')).toBe('t.yaml:2:3: a mapping key must be a plain name, not a list or mapping');
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
    expect(fail('name: x\nrun: echo\nname: y\n')).toBe("t.yaml:3:1: invalid YAML: 'name' appears twice in the same mapping");
    // merge keys may repeat
    const merged = parseTaskText('envs:\n  <<: {A: "1"}\n  <<: {B: "2"}\nrun: echo\n', 't.yaml').tasks[0]!;
    expect(merged.envs).toEqual({ A: '1', B: '2' });
  });
});

describe('YAML file encodings', () => {
  it('UTF-16 with a byte-order mark is read (as PyYAML does); bytes that are not UTF-8 are a positioned error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aloft-enc-'));
    const le = join(dir, 'le.yaml');
    writeFileSync(le, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('name: sixteen\nrun: echo\n', 'utf16le')]));
    expect(parseTaskFile(le).tasks[0]!.name).toBe('sixteen');
    const be = join(dir, 'be.yaml');
    writeFileSync(be, Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('name: big\nrun: echo\n', 'utf16le').swap16()]));
    expect(parseTaskFile(be).tasks[0]!.name).toBe('big');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, Buffer.concat([Buffer.from('name: x\nrun: echo '), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('\n')]));
    expect(() => parseTaskFile(bad)).toThrow(`${bad}:2:11: not valid UTF-8 text (save the file as UTF-8)`);
  });
});
