// ALOFT_HOME/config.yaml is checked like a task YAML: one line `file:line:col: ...`, did-you-mean.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SpecError } from '../../src/spec/errors.js';
import { loadConfig, parseConfig } from '../../src/spec/config.js';

const F = '/home/u/.aloft/config.yaml';
const err = (text: string): string => {
  try {
    parseConfig(text, F);
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

describe('config.yaml', () => {
  it('reads what aloft uses, and accepts SkyPilot sections it ignores', () => {
    expect(parseConfig('allowed_infra: [aws, local]\nlocal: {spot_mtbp_seconds: 30}\n', F)).toEqual({ allowedInfra: ['aws', 'local'], spotMtbpSeconds: 30 });
    expect(parseConfig('allowed_clouds: [gcp]\njobs: {controller: {resources: {cpus: 4+}}}\nkubernetes: {ports: loadbalancer}\n', F)).toEqual({ allowedInfra: ['gcp'] });
    expect(parseConfig('', F)).toEqual({});
    expect(parseConfig('# only a comment\n', F)).toEqual({});
    expect(parseConfig('local:\n', F)).toEqual({});
  });

  it('a YAML syntax error is one line with file:line:col', () => {
    expect(err('a: [')).toMatch(/^\/home\/u\/\.aloft\/config\.yaml:\d+:\d+: invalid YAML: /);
  });

  it('a misspelled key gets a did-you-mean at its position', () => {
    expect(err('allowed_infra: [aws]\nlocl: {x: 1}\n')).toBe(`${F}:2:1: unknown field 'locl' in config; did you mean 'local'?`);
    expect(err('allowed_infar: [aws]\n')).toBe(`${F}:1:1: unknown field 'allowed_infar' in config; did you mean 'allowed_infra'?`);
    expect(err('local:\n  spot_mtbp: 5\n')).toBe(`${F}:2:3: unknown field 'spot_mtbp' in local; did you mean 'spot_mtbp_seconds'?`);
    expect(err('frobnicate: 1\n')).toBe(`${F}:1:1: unknown field 'frobnicate' in config`);
  });

  it('a bad value says what was expected and what was found', () => {
    expect(err('local: {spot_mtbp_seconds: abc}\n')).toBe(`${F}:1:28: local.spot_mtbp_seconds: expected a number of seconds, got "abc"`);
    expect(err('local: {spot_mtbp_seconds: -1}\n')).toMatch(/local\.spot_mtbp_seconds: expected a positive number of seconds, got -1$/);
    expect(err('allowed_infra: aws\n')).toBe(`${F}:1:16: allowed_infra: expected a list of infra names, got "aws"`);
    expect(err('local: 5\n')).toMatch(/^.*:1:8: local: expected a mapping, got 5$/);
    expect(err('- a\n')).toMatch(/:1:1: config: expected a mapping, got a list$/);
  });

  describe('loadConfig', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aloft-cfg-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    it('is {} without a file, and re-reads a changed file', () => {
      const p = join(dir, 'config.yaml');
      expect(loadConfig(p)).toEqual({});
      writeFileSync(p, 'local: {spot_mtbp_seconds: 7}\n');
      expect(loadConfig(p)).toEqual({ spotMtbpSeconds: 7 });
      writeFileSync(p, 'local: {spot_mtbp_seconds: oops}\n');
      expect(() => loadConfig(p)).toThrow(new RegExp(`^${p}:1:28: `));
    });
  });
});
