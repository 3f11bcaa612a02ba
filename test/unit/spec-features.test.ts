// Unsupported SkyPilot features, CLI overrides, command tasks, --env flags, JSON Schema.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { register as registerSchema } from '../../src/cli/commands/schema.js';
import {
  applyOverrides,
  parseKeyValueFlags,
  parseTaskText,
  SpecError,
  taskFromCommand,
  UNSUPPORTED_FEATURES,
  type ParseOptions,
} from '../../src/spec/index.js';
import { taskJsonSchema } from '../../src/spec/jsonschema.js';
import { failText, specError } from '../helpers/spec.js';

const y = (lines: string[]) => lines.join('\n') + '\n';


describe('features aloft cannot honour yet', () => {
  const cases: Array<[string, string]> = [
    [y(['run: x', 'service:', '  pool:', '    workers: 2']), 'task.yaml:3:3: service.pool: worker pools (sky jobs pool) are not supported yet'],
    [y(['file_mounts:', '  /data: https://example.com/x.tgz']), 'task.yaml:2:10: file_mounts: /data: Azure Blob (https://) sources are not supported yet'],
    [
      y(['file_mounts:', '  /ckpt:', '    name: my-bucket', '    store: azure', '    mode: MOUNT']),
      "task.yaml:3:5: file_mounts: /ckpt: store 'azure' (Azure Blob Storage) is not supported yet",
    ],
    [y(['resources:', '  infra: aws', '  image_id: docker:ubuntu:22.04']), 'task.yaml:3:13: resources.image_id: docker images (docker:...) are not supported yet outside kubernetes (infra: k8s)'],
    [
      y(['resources:', '  any_of:', '    - image_id: docker:ubuntu', '      infra: local']),
      'task.yaml:3:17: resources.any_of[0].image_id: docker images (docker:...) are not supported yet outside kubernetes (infra: k8s)',
    ],
    [y(['volumes:', '  /mnt/data: my-pvc']), 'task.yaml:1:1: volumes: volumes are not supported yet'],
    [y(['pool:', '  workers: 2']), 'task.yaml:1:1: pool: worker pools are not supported yet'],
    [y(['event_callback: echo done']), 'task.yaml:1:1: event_callback: event callbacks are not supported yet'],
    [y(['experimental:', '  config_overrides: {}']), "task.yaml:1:1: experimental: the 'experimental' section is (use 'config:') not supported yet"],
    [y(['resources:', '  autostop:', '    hook: echo bye']), 'task.yaml:3:5: resources.autostop.hook: autostop hooks are not supported yet'],
  ];
  it.each(cases)('fails with one positioned line: %s', (text, message) => {
    expect(failText(text)).toBe(message);
  });

  it('reports the first in file order, and only after field names are checked', () => {
    expect(failText(y(['resources:', '  image_id: docker:x', '  cloud: gcp', 'service: {}']))).toMatch(/^task\.yaml:2:13: resources\.image_id/);
    expect(failText(y(['service: {}', 'resorces: {}']))).toBe("task.yaml:2:1: unknown field 'resorces' in task; did you mean 'resources'?");
  });

  it('keeps them as warnings with allowUnsupported, leaving them out of the task', () => {
    const dir = mkdtempSync(join(tmpdir(), 'aloft-spec-'));
    const text = y([
      'service:',
      '  replicas: 2',
      'resources:',
      '  image_id: docker:ubuntu',
      '  infra: ssh/pool',
      '  cpus: 2',
      'file_mounts:',
      '  /local: .',
      '  /bucket: s3://bucket-a',
      '  /store:',
      '    name: b',
      '    store: ibm',
      'run: echo hi',
    ]);
    const chain = parseTaskText(text, 'task.yaml', { allowUnsupported: true, baseDir: dir });
    expect(chain.warnings).toEqual([
      'task.yaml:4:13: resources.image_id: docker images (docker:...) are not supported yet outside kubernetes (infra: k8s)',
      "task.yaml:11:5: file_mounts: /store: store 'ibm' (IBM Cloud Object Storage) is not supported yet",
    ]);
    const t = chain.tasks[0]!;
    expect(t.fileMounts).toEqual([{ kind: 'local', dest: '/local', source: dir }]);
    // the s3 bucket is supported: it stays in the task, the IBM one is left out
    expect(t.storageMounts?.map((m) => `${m.dest} ${m.store}://${m.bucket}`)).toEqual(['/bucket s3://bucket-a']);
    expect(t.resources.candidates[0]!.imageId).toBeUndefined();
    expect(t.resources.candidates[0]!.cpus).toEqual({ value: 2, atLeast: false });
    expect(parseTaskText('run: x\n', 't.yaml', { allowUnsupported: true }).warnings).toBeUndefined();
  });

  it('keeps docker images for tasks that may run on kubernetes (named, or no infra named)', () => {
    for (const infra of [[], ['  infra: k8s/ctx'], ['  cloud: kubernetes'], ['  infra: kubernetes']]) {
      const chain = parseTaskText(y(['resources:', '  image_id: docker:vllm/vllm-openai:latest', ...infra, 'run: x']), 'task.yaml');
      expect(chain.tasks[0]!.resources.candidates[0]!.imageId).toBe('docker:vllm/vllm-openai:latest');
    }
  });

  it('lists every feature in one place, each with a distinct id', () => {
    const ids = UNSUPPORTED_FEATURES.map((f) => f.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(['service.pool', 'volumes', 'file_mounts.storage', 'resources.image_id.docker']));
  });
});

describe('applyOverrides', () => {
  const base = () => parseTaskText(y(['name: t', 'envs: {A: "1"}', 'resources:', '  any_of:', '    - infra: aws', '    - infra: gcp', 'run: x']), 't.yaml').tasks[0]!;

  it('lets flags win over YAML, on every candidate', () => {
    const t = applyOverrides(base(), {
      name: 'n2',
      numNodes: 3,
      cpus: '8+',
      memory: '32',
      gpus: 'A100:8',
      useSpot: true,
      instanceType: 'p4d.24xlarge',
      diskSize: 100,
      ports: ['8080', 9000],
      envs: { B: '2' },
      secrets: { S: 's' },
    });
    expect(t.name).toBe('n2');
    expect(t.numNodes).toBe(3);
    expect(t.envs).toEqual({ A: '1', B: '2' });
    expect(t.secrets).toEqual({ S: 's' });
    expect(t.resources.mode).toBe('any_of');
    for (const c of t.resources.candidates) {
      expect(c).toMatchObject({
        cpus: { value: 8, atLeast: true },
        memory: { value: 32, atLeast: false },
        accelerators: [{ name: 'A100', count: 8 }],
        useSpot: true,
        instanceType: 'p4d.24xlarge',
        diskSize: 100,
        ports: ['8080', '9000'],
      });
    }
    expect(t.resources.candidates.map((c) => c.infra)).toEqual([{ cloud: 'aws' }, { cloud: 'gcp' }]);
    expect(applyOverrides(base(), { infra: 'k8s/ctx' }).resources.candidates.map((c) => c.infra)).toEqual([
      { cloud: 'kubernetes', region: 'ctx' },
      { cloud: 'kubernetes', region: 'ctx' },
    ]);
  });

  it('does not modify the task it was given', () => {
    const t = base();
    const before = JSON.stringify(t);
    applyOverrides(t, { cpus: 4, envs: { Z: 'z' } });
    expect(JSON.stringify(t)).toBe(before);
  });

  it('names the flag in errors', () => {
    expect(specError(() => applyOverrides(base(), { cpus: 'lots' })).message).toBe('--cpus: expected a number or "N+", got "lots"');
    expect(specError(() => applyOverrides(base(), { gpus: 'A100:x' })).message).toMatch(/^--gpus: /);
    expect(specError(() => applyOverrides(base(), { infra: 'awz' })).message).toBe("--infra: unknown cloud 'awz'; did you mean 'aws'?");
    expect(specError(() => applyOverrides(base(), { numNodes: 0 })).message).toMatch(/^--num-nodes: /);
    expect(specError(() => applyOverrides(base(), { workdir: '/definitely/not/here' })).message).toBe('--workdir: /definitely/not/here does not exist');
  });
});

describe('taskFromCommand', () => {
  it('makes a default task that runs the command, with flags applied', () => {
    const t = taskFromCommand('echo hi', { gpus: '{A100:1, V100:1}', infra: 'local' });
    expect(t.run).toBe('echo hi');
    expect(t.numNodes).toBe(1);
    expect(t.resources.mode).toBe('single');
    expect(t.resources.candidates[0]).toMatchObject({
      infra: { cloud: 'local' },
      accelerators: [{ name: 'A100', count: 1 }, { name: 'V100', count: 1 }],
      useSpot: false,
    });
    expect(taskFromCommand('').run).toBeUndefined();
  });
});

describe('parseKeyValueFlags', () => {
  it('reads KEY=VALUE and takes KEY alone from this shell', () => {
    process.env.ALOFT_SPEC_TEST_VAR = 'from-shell';
    expect(parseKeyValueFlags(['A=1', 'B=x=y', 'C=', 'ALOFT_SPEC_TEST_VAR', 'A=2'], '--env')).toEqual({
      A: '2',
      B: 'x=y',
      C: '',
      ALOFT_SPEC_TEST_VAR: 'from-shell',
    });
  });

  it('fails in one line when KEY is not set or not a valid name', () => {
    delete process.env.ALOFT_SPEC_SURELY_UNSET;
    expect(specError(() => parseKeyValueFlags(['ALOFT_SPEC_SURELY_UNSET'], '--secret')).message).toBe(
      '--secret ALOFT_SPEC_SURELY_UNSET: ALOFT_SPEC_SURELY_UNSET is not set in this shell; pass --secret ALOFT_SPEC_SURELY_UNSET=VALUE',
    );
    expect(specError(() => parseKeyValueFlags(['1X=2'], '--env')).message).toMatch(/^--env 1X=2: '1X' is not a valid variable name/);
  });
});

describe('taskJsonSchema', () => {
  it('describes the YAML, rejecting unknown fields like the parser', () => {
    const s = taskJsonSchema() as {
      type: string;
      additionalProperties: boolean;
      properties: Record<string, { properties?: Record<string, unknown>; additionalProperties?: boolean; description?: string }>;
    };
    expect(s.type).toBe('object');
    expect(s.additionalProperties).toBe(false);
    expect(Object.keys(s.properties)).toEqual(expect.arrayContaining(['name', 'workdir', 'num_nodes', 'resources', 'envs', 'secrets', 'file_mounts', 'setup', 'run']));
    const r = s.properties.resources!;
    expect(r.additionalProperties).toBe(false);
    expect(Object.keys(r.properties!)).toEqual(expect.arrayContaining(['infra', 'accelerators', 'cpus', 'memory', 'any_of', 'ordered', 'job_recovery']));
    expect(JSON.stringify(s)).toContain('A100:8');
  });
});

describe('aloft schema', () => {
  it('prints the JSON Schema', async () => {
    const program = new Command('aloft').exitOverride();
    registerSchema(program);
    const chunks: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((c: string | Uint8Array) => (chunks.push(String(c)), true)) as typeof process.stdout.write;
    try {
      await program.parseAsync(['node', 'aloft', 'schema']);
    } finally {
      process.stdout.write = write;
    }
    expect(JSON.parse(chunks.join(''))).toEqual(taskJsonSchema());
  });
});

describe('YAML details', () => {
  it('treats empty sections as unset and follows merge keys', () => {
    const t = parseTaskText(y(['envs:', 'file_mounts:', 'resources:', '  cpus:', 'run:']), 't.yaml').tasks[0]!;
    expect(t.envs).toEqual({});
    expect(t.fileMounts).toEqual([]);
    expect(t.resources.candidates[0]!.cpus).toBeUndefined();
    expect(t.run).toBeUndefined();
    const r = parseTaskText(y(['resources:', '  any_of:', '    - &a {cpus: 4+, infra: aws}', '    - <<: *a', '      infra: gcp']), 't.yaml').tasks[0]!.resources;
    expect(r.candidates.map((c) => [c.infra.cloud, c.cpus?.value])).toEqual([['aws', 4], ['gcp', 4]]);
  });
});
