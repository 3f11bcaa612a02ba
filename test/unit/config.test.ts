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
    expect(parseConfig('allowed_clouds: [gcp]\njobs: {controller: {resources: {cpus: 4+}}}\nkubernetes: {ports: loadbalancer, remote_identity: sa}\n', F)).toEqual({
      allowedInfra: ['gcp'],
      kubernetes: { ports: 'loadbalancer' },
    });
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

  describe('kubernetes section', () => {
    it('reads contexts, namespace, timeout, pod_config, ports, metadata, images and per-context overrides', () => {
      const text = [
        'kubernetes:',
        '  allowed_contexts: [gpu-east, gpu-west]',
        '  namespace: ml',
        '  provision_timeout: 30',
        '  ports: podip',
        '  image: python:3.11-slim',
        '  runtime_image: registry.local/node:20-slim',
        '  custom_metadata: {labels: {team: infra}, annotations: {owner: "me@x"}}',
        '  pod_config:',
        '    spec:',
        '      imagePullSecrets: [{name: regcred}]',
        '  context_configs:',
        '    gpu-west: {namespace: west, provision_timeout: 5}',
        '  autoscaler: gke',
      ].join('\n');
      expect(parseConfig(text, F).kubernetes).toEqual({
        allowedContexts: ['gpu-east', 'gpu-west'],
        namespace: 'ml',
        provisionTimeoutSeconds: 30,
        ports: 'podip',
        image: 'python:3.11-slim',
        runtimeImage: 'registry.local/node:20-slim',
        customMetadata: { labels: { team: 'infra' }, annotations: { owner: 'me@x' } },
        podConfig: { spec: { imagePullSecrets: [{ name: 'regcred' }] } },
        contextConfigs: { 'gpu-west': { namespace: 'west', provisionTimeoutSeconds: 5 } },
      });
    });

    it('mistakes are one positioned line', () => {
      expect(err('kubernetes:\n  alowed_contexts: [a]\n')).toBe(`${F}:2:3: unknown field 'alowed_contexts' in kubernetes; did you mean 'allowed_contexts'?`);
      expect(err('kubernetes:\n  ports: ingress\n')).toMatch(/:2:10: kubernetes\.ports: expected 'nodeport', 'loadbalancer' or 'podip' \(ingress is not supported\), got "ingress"$/);
      expect(err('kubernetes:\n  provision_timeout: soon\n')).toMatch(/:2:22: kubernetes\.provision_timeout: expected a number of seconds, got "soon"$/);
      expect(err('kubernetes:\n  namespace: My_NS\n')).toMatch(/:2:14: kubernetes\.namespace: expected a namespace name/);
      expect(err('kubernetes:\n  pod_config:\n    spec: []\n')).toMatch(/:3:11: kubernetes\.pod_config\.spec: expected a mapping, got a list$/);
      expect(err('kubernetes:\n  pod_config:\n    specs: {}\n')).toMatch(/:3:5: unknown field 'specs' in kubernetes\.pod_config; did you mean 'spec'\?$/);
      expect(err('kubernetes:\n  custom_metadata: {labels: {gpu: 1}}\n')).toMatch(/kubernetes\.custom_metadata\.labels\.gpu: expected a label value \(a string; quote numbers and booleans\), got 1$/);
      expect(err('kubernetes:\n  context_configs:\n    a: {namespce: x}\n')).toMatch(/:3:9: unknown field 'namespce' in kubernetes\.context_configs\.a; did you mean 'namespace'\?$/);
    });
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
