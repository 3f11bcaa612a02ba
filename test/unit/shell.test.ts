import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/util/shell.js';
import { validateClusterName } from '../../src/util/names.js';

describe('shellQuote', () => {
  it('passes any value through bash as one literal word', () => {
    for (const v of ['', 'plain', 'with space', "it's", '$HOME', '`id`', '"q"', 'a;b', 'x\ny', '*', '-n', '$(rm -rf /)']) {
      const out = execFileSync('bash', ['-c', `printf %s ${shellQuote(v)}`]).toString();
      expect(out).toBe(v);
    }
  });
});

describe('cluster names', () => {
  it('accepts SkyPilot-style names and refuses the rest with one line', () => {
    expect(validateClusterName('train-a100-1')).toBe('train-a100-1');
    for (const bad of ['Bad', '1abc', 'a_b', 'a b', 'ends-', 'x'.repeat(41), '../etc', '$(id)']) {
      expect(() => validateClusterName(bad)).toThrow(/^invalid cluster name/);
    }
  });
});
