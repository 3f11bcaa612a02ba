// Every lazy load of `yaml` goes through importYaml(): a bare `await import('yaml')` destructured
// for named exports breaks under the CLI's esbuild bundle (CommonJS build, default export only).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importYaml } from '../../src/util/yaml-lazy.js';

const SRC = resolve(__dirname, '..', '..', 'src');
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(e) ? [p] : [];
  });

describe('importYaml', () => {
  it('returns the module with parse and parseDocument', async () => {
    const y = await importYaml();
    expect(y.parse('a: 1')).toEqual({ a: 1 });
    expect(typeof y.parseDocument).toBe('function');
  });

  it('no source file imports yaml dynamically except src/util/yaml-lazy.ts', () => {
    const offenders = files(SRC)
      .filter((f) => !f.endsWith(join('util', 'yaml-lazy.ts')))
      .filter((f) => /await\s+import\(\s*['"]yaml['"]\s*\)/.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });
});
