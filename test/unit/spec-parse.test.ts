// Task YAML parsing: shorthand forms, infra, candidates, envs, positions of errors.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTaskFile, parseTaskText, SpecError, type ParseOptions, type Task } from '../../src/spec/index.js';
import { failText, specError } from '../helpers/spec.js';

const y = (lines: string[]) => lines.join('\n') + '\n';
const one = (text: string, opts: ParseOptions = {}): Task => {
  const chain = parseTaskText(text, 'task.yaml', opts);
  expect(chain.tasks).toHaveLength(1);
  return chain.tasks[0]!;
};
const res = (text: string) => one(text).resources;
const first = (text: string) => res(text).candidates[0]!;


describe('defaults', () => {
  it('gives one node, on-demand, one default candidate', () => {
    const t = one('run: echo hi\n');
    expect(t.numNodes).toBe(1);
    expect(t.run).toBe('echo hi');
    expect(t.resources).toEqual({ mode: 'single', candidates: [{ infra: {}, useSpot: false, ports: [], labels: {} }] });
    expect(t.envs).toEqual({});
    expect(t.fileMounts).toEqual([]);
    expect(t.source).toBe('task.yaml');
  });

  it('treats an empty file as a task that runs nothing', () => {
    const chain = parseTaskText('# nothing here\n', 'e.yaml');
    expect(chain.tasks).toHaveLength(1);
    expect(chain.tasks[0]!.run).toBeUndefined();
  });
});

describe('accelerators', () => {
  const acc = (v: string) => first(`resources:\n  accelerators: ${v}\n`).accelerators;
  it('reads NAME:COUNT, NAME alone (count 1) and fractions', () => {
    expect(acc('A100:8')).toEqual([{ name: 'A100', count: 8 }]);
    expect(acc('A100')).toEqual([{ name: 'A100', count: 1 }]);
    expect(acc('A100:0.5')).toEqual([{ name: 'A100', count: 0.5 }]);
    expect(acc("'H100: 4'")).toEqual([{ name: 'H100', count: 4 }]);
  });

  it('reads a mapping and a YAML set as alternatives in one candidate', () => {
    expect(acc('{A100: 8, H100: 8}')).toEqual([{ name: 'A100', count: 8 }, { name: 'H100', count: 8 }]);
    expect(acc("{'L4:1', 'H100:2'}")).toEqual([{ name: 'L4', count: 1 }, { name: 'H100', count: 2 }]);
    expect(acc('{L4, T4}')).toEqual([{ name: 'L4', count: 1 }, { name: 'T4', count: 1 }]);
    expect(res('resources:\n  accelerators: {A100: 8, H100: 8}\n').mode).toBe('single');
  });

  it('reads a list as ordered candidates, one accelerator each', () => {
    const r = res(y(['resources:', '  cpus: 8+', '  accelerators: ["H100:8", "A100:8"]']));
    expect(r.mode).toBe('ordered');
    expect(r.candidates.map((c) => c.accelerators)).toEqual([[{ name: 'H100', count: 8 }], [{ name: 'A100', count: 8 }]]);
    expect(r.candidates.every((c) => c.cpus?.value === 8 && c.cpus.atLeast)).toBe(true);
    expect(res('resources:\n  accelerators: [A100:8]\n').mode).toBe('single');
  });

  it("accepts 'gpus' as another name, but not both", () => {
    expect(first('resources:\n  gpus: H100:8\n').accelerators).toEqual([{ name: 'H100', count: 8 }]);
    expect(failText(y(['resources:', '  accelerators: A100', '  gpus: H100']))).toBe(
      "task.yaml:3:3: resources.gpus: 'gpus' is another name for 'accelerators'; set only one",
    );
  });

  it('rejects bad counts and shapes with the position of the value', () => {
    expect(failText('resources:\n  accelerators: A100:x\n')).toBe(
      'task.yaml:2:17: resources.accelerators: expected "NAME" or "NAME:COUNT" like "A100:8", got "A100:x"',
    );
    expect(failText('resources:\n  accelerators: A100:1.5\n')).toMatch(/^task\.yaml:2:17: .*whole number or a fraction below 1, got 1\.5$/);
    expect(failText('resources:\n  accelerators: A100:0\n')).toMatch(/^task\.yaml:2:17: .*must be above 0/);
    expect(failText('resources:\n  accelerators: 8\n')).toBe(
      'task.yaml:2:17: resources.accelerators: expected "NAME:COUNT", a mapping {NAME: COUNT}, or a list of "NAME:COUNT", got 8',
    );
    expect(failText('resources:\n  accelerators: {A100: many}\n')).toMatch(/^task\.yaml:2:/);
  });
});

describe('quantities', () => {
  it('reads cpus and memory as exact or N+', () => {
    expect(first('resources:\n  cpus: 4\n').cpus).toEqual({ value: 4, atLeast: false });
    expect(first('resources:\n  cpus: 4+\n').cpus).toEqual({ value: 4, atLeast: true });
    expect(first('resources:\n  cpus: "4.5"\n').cpus).toEqual({ value: 4.5, atLeast: false });
    expect(first('resources:\n  memory: 32+\n').memory).toEqual({ value: 32, atLeast: true });
    expect(first('resources:\n  memory: 64GB\n').memory).toEqual({ value: 64, atLeast: false });
    expect(first('resources:\n  memory: 1TB+\n').memory).toEqual({ value: 1024, atLeast: true });
    expect(first('resources:\n  memory: 512MB\n').memory).toEqual({ value: 0.5, atLeast: false });
  });

  it('says what was wrong, where, and what was found', () => {
    const text = y(['name: x', 'run: echo', '', 'resources:', '  cpus: lots']);
    expect(failText(text)).toBe('task.yaml:5:9: resources.cpus: expected a number or "N+", got "lots"');
    const err = specError(() => parseTaskText(text, 'task.yaml'));
    expect([err.file, err.line, err.col]).toEqual(['task.yaml', 5, 9]);
    expect(failText('resources:\n  cpus: [1]\n')).toBe('task.yaml:2:9: resources.cpus: expected a number or "N+", got a list');
    expect(failText('resources:\n  cpus: 0\n')).toBe('task.yaml:2:9: resources.cpus: expected a number or "N+", got 0');
    expect(failText('resources:\n  memory: lots\n')).toMatch(/^task\.yaml:2:11: resources\.memory: expected a number of GB/);
  });

  it('reads disk sizes with and without units', () => {
    expect(first('resources:\n  disk_size: 256\n').diskSize).toBe(256);
    expect(first('resources:\n  disk_size: 1TB\n').diskSize).toBe(1024);
    expect(first('resources:\n  disk_size: 1500MB\n').diskSize).toBe(1);
    expect(failText('resources:\n  disk_size: 10.5\n')).toMatch(/^task\.yaml:2:14: resources\.disk_size: expected a whole number of GB/);
  });
});

describe('infra', () => {
  const infra = (v: string) => first(`resources:\n  infra: ${v}\n`).infra;
  it('reads every form', () => {
    expect(infra('local')).toEqual({ cloud: 'local' });
    expect(infra('ssh/my-pool')).toEqual({ cloud: 'ssh', region: 'my-pool' });
    expect(infra('ssh')).toEqual({ cloud: 'ssh' });
    expect(infra('aws')).toEqual({ cloud: 'aws' });
    expect(infra('AWS/us-east-1')).toEqual({ cloud: 'aws', region: 'us-east-1' });
    expect(infra('aws/us-east-1/us-east-1a')).toEqual({ cloud: 'aws', region: 'us-east-1', zone: 'us-east-1a' });
    expect(infra('aws/*/us-east-1a')).toEqual({ cloud: 'aws', zone: 'us-east-1a' });
    expect(infra('k8s/my-ctx')).toEqual({ cloud: 'kubernetes', region: 'my-ctx' });
    expect(infra('kubernetes/arn:aws:eks:us-east-1:123:cluster/my-cluster')).toEqual({
      cloud: 'kubernetes',
      region: 'arn:aws:eks:us-east-1:123:cluster/my-cluster',
    });
    expect(infra("'*/us-west-2'")).toEqual({ region: 'us-west-2' });
  });

  it('reads legacy cloud/region/zone', () => {
    expect(first(y(['resources:', '  cloud: GCP', '  region: us-central1', '  zone: us-central1-a'])).infra).toEqual({
      cloud: 'gcp',
      region: 'us-central1',
      zone: 'us-central1-a',
    });
    expect(first('resources:\n  region: eu-north1\n').infra).toEqual({ region: 'eu-north1' });
  });

  it('rejects infra combined with cloud/region, and unknown clouds', () => {
    expect(failText(y(['resources:', '  infra: aws', '  region: us-east-1']))).toBe(
      "task.yaml:3:3: resources.region: cannot be combined with 'infra' (aws); put it all in infra, e.g. infra: aws/us-east-1",
    );
    expect(failText('resources:\n  infra: awz/us-east-1\n')).toBe(
      "task.yaml:2:10: resources.infra: unknown cloud 'awz'; did you mean 'aws'?",
    );
    expect(failText('resources:\n  infra: aws/a/b/c\n')).toMatch(/at most cloud\/region\/zone/);
  });
});

describe('any_of / ordered', () => {
  it('merges each item over the base fields', () => {
    const r = res(y(['resources:', '  accelerators: H100:8', '  use_spot: true', '  any_of:', '    - infra: aws/us-west-2', '    - infra: gcp', '      use_spot: false']));
    expect(r.mode).toBe('any_of');
    expect(r.candidates).toEqual([
      { infra: { cloud: 'aws', region: 'us-west-2' }, useSpot: true, ports: [], labels: {}, accelerators: [{ name: 'H100', count: 8 }] },
      { infra: { cloud: 'gcp' }, useSpot: false, ports: [], labels: {}, accelerators: [{ name: 'H100', count: 8 }] },
    ]);
  });

  it('lets an item location replace the base location as a whole', () => {
    const r = res(y(['resources:', '  cloud: aws', '  region: us-east-1', '  ordered:', '    - infra: gcp', '    - region: us-west-2']));
    expect(r.mode).toBe('ordered');
    expect(r.candidates.map((c) => c.infra)).toEqual([{ cloud: 'gcp' }, { region: 'us-west-2' }]);
  });

  it('rejects both lists, empty lists and nested lists', () => {
    expect(failText(y(['resources:', '  any_of:', '    - infra: aws', '  ordered:', '    - infra: gcp']))).toBe(
      "task.yaml:4:3: resources: set 'any_of' or 'ordered', not both",
    );
    expect(failText('resources:\n  any_of: []\n')).toBe('task.yaml:2:11: resources.any_of: list at least one candidate');
    expect(failText(y(['resources:', '  any_of:', '    - any_of: []']))).toBe("task.yaml:3:7: unknown field 'any_of' in resources.any_of[0]");
  });
});

describe('other resource fields', () => {
  it('reads ports, labels, image ids, tiers', () => {
    expect(first('resources:\n  ports: 8080\n').ports).toEqual(['8080']);
    expect(first('resources:\n  ports: "10000-10010"\n').ports).toEqual(['10000-10010']);
    expect(first('resources:\n  ports: [8080, "9000-9010", 8080]\n').ports).toEqual(['8080', '9000-9010']);
    expect(failText('resources:\n  ports: 70000\n')).toMatch(/^task\.yaml:2:10: resources\.ports: expected ports between 1 and 65535/);
    expect(failText('resources:\n  ports: "9-1"\n')).toMatch(/lower port first/);
    const c = first(y(['resources:', '  labels: {team: ml}', '  image_id: ami-123', '  disk_tier: Best', '  network_tier: best', '  instance_type: p3.2xlarge']));
    expect(c).toMatchObject({ labels: { team: 'ml' }, imageId: 'ami-123', diskTier: 'best', networkTier: 'best', instanceType: 'p3.2xlarge' });
    expect(first('resources:\n  image_id: {us-east-1: ami-1, us-west-2: ami-2}\n').imageId).toEqual({ 'us-east-1': 'ami-1', 'us-west-2': 'ami-2' });
    expect(failText('resources:\n  labels: {version: 2}\n')).toMatch(/^task\.yaml:2:21: resources\.labels\.version: expected a string/);
    expect(failText('resources:\n  disk_tier: fast\n')).toMatch(/expected low, medium, high, ultra or best, got "fast"$/);
    expect(first('resources:\n  use_spot: yes\n').useSpot).toBe(true);
    expect(failText('resources:\n  use_spot: maybe\n')).toBe('task.yaml:2:13: resources.use_spot: expected true or false, got "maybe"');
  });

  it('reads every autostop form', () => {
    const a = (v: string) => first(`resources:\n  autostop: ${v}\n`).autostop;
    expect(a('true')).toEqual({ idleMinutes: 5, down: false });
    expect(a('false')).toEqual({ idleMinutes: -1, down: false });
    expect(a('10')).toEqual({ idleMinutes: 10, down: false });
    expect(a('10m')).toEqual({ idleMinutes: 10, down: false });
    expect(a('1h')).toEqual({ idleMinutes: 60, down: false });
    expect(a('{idle_minutes: 30, down: true}')).toEqual({ idleMinutes: 30, down: true });
    expect(a('{down: true, wait_for: jobs}')).toEqual({ idleMinutes: 5, down: true, waitFor: 'jobs' });
    expect(failText('resources:\n  autostop: soon\n')).toMatch(/^task\.yaml:2:13: resources\.autostop: expected minutes/);
    expect(failText('resources:\n  autostop: {idle_minute: 5}\n')).toBe(
      "task.yaml:2:14: unknown field 'idle_minute' in resources.autostop; did you mean 'idle_minutes'?",
    );
  });

  it('reads job_recovery forms and the legacy spot_recovery', () => {
    const j = (v: string, key = 'job_recovery') => first(`resources:\n  ${key}: ${v}\n`).jobRecovery;
    expect(j('FAILOVER')).toEqual({ strategy: 'FAILOVER', maxRestartsOnErrors: 0, recoverOnExitCodes: [] });
    expect(j('eager_next_region')).toEqual({ strategy: 'EAGER_NEXT_REGION', maxRestartsOnErrors: 0, recoverOnExitCodes: [] });
    expect(j('none')).toEqual({ maxRestartsOnErrors: 0, recoverOnExitCodes: [] });
    expect(j('failover', 'spot_recovery')).toEqual({ strategy: 'FAILOVER', maxRestartsOnErrors: 0, recoverOnExitCodes: [] });
    expect(j('{strategy: FAILOVER, max_restarts_on_errors: 3, recover_on_exit_codes: [33, 34]}')).toEqual({
      strategy: 'FAILOVER',
      maxRestartsOnErrors: 3,
      recoverOnExitCodes: [33, 34],
    });
    expect(j('{recover_on_exit_codes: 29}')).toEqual({ maxRestartsOnErrors: 0, recoverOnExitCodes: [29] });
    expect(failText('resources:\n  job_recovery: FAILOVR\n')).toBe(
      "task.yaml:2:17: resources.job_recovery: unknown recovery strategy 'FAILOVR'; did you mean 'FAILOVER'? (expected FAILOVER or EAGER_NEXT_REGION)",
    );
    expect(failText('resources:\n  job_recovery: {max_restart_on_errors: 3}\n')).toBe(
      "task.yaml:2:18: unknown field 'max_restart_on_errors' in resources.job_recovery; did you mean 'max_restarts_on_errors'?",
    );
  });
});

describe('unknown fields and wrong types', () => {
  it('suggests the near miss at the exact key position', () => {
    expect(failText(y(['name: t', 'run: echo hi', 'resorces:', '  cpus: 2']))).toBe(
      "task.yaml:3:1: unknown field 'resorces' in task; did you mean 'resources'?",
    );
    expect(failText(y(['resources:', '  cpu: 2']))).toBe("task.yaml:2:3: unknown field 'cpu' in resources; did you mean 'cpus'?");
    expect(failText(y(['resources:', '  any_of:', '    - infra: aws', '    - infar: gcp']))).toBe(
      "task.yaml:4:7: unknown field 'infar' in resources.any_of[1]; did you mean 'infra'?",
    );
    expect(failText(y(['file_mounts:', '  /data:', '    sorce: s3://b']))).toBe(
      `task.yaml:3:5: unknown field 'sorce' in file_mounts["/data"]; did you mean 'source'?`,
    );
    expect(failText('num-nodes: 2\n')).toBe("task.yaml:1:1: unknown field 'num-nodes' in task; did you mean 'num_nodes'?");
    expect(failText('frobnicate: 2\n')).toBe("task.yaml:1:1: unknown field 'frobnicate' in task");
  });

  it('points out fields written at the wrong level', () => {
    expect(failText('accelerators: A100\n')).toBe("task.yaml:1:1: unknown field 'accelerators' in task; it belongs under 'resources:'");
    expect(failText('resources:\n  num_nodes: 2\n')).toBe(
      "task.yaml:2:3: unknown field 'num_nodes' in resources; 'num_nodes' is a task field: move it to the top level",
    );
  });

  it('reports the first problem in file order', () => {
    expect(failText(y(['num_nodes: two', 'resources:', '  cpu: 1']))).toBe('task.yaml:1:12: num_nodes: expected a whole number of nodes, got "two"');
  });

  it('rejects wrong types of task fields', () => {
    expect(failText('run: [echo a, echo b]\n')).toBe('task.yaml:1:6: run: expected a string (use | for several lines), got a list');
    expect(failText('num_nodes: 0\n')).toBe('task.yaml:1:12: num_nodes: expected 1 or more nodes, got 0');
    expect(failText('num_nodes: 1.5\n')).toBe('task.yaml:1:12: num_nodes: expected a whole number of nodes, got 1.5');
    expect(failText('resources: 4\n')).toBe('task.yaml:1:12: resources: expected a mapping of resource fields, got 4');
    expect(failText('- a\n- b\n')).toMatch(/^task\.yaml:1:1: expected a mapping of task fields/);
    expect(failText('name: [x]\n')).toBe('task.yaml:1:7: name: expected a string, got a list');
  });

  it('turns YAML syntax errors into one positioned line', () => {
    expect(failText('run: echo\nrun: again\n')).toBe("task.yaml:2:1: invalid YAML: 'run' appears twice in the same mapping");
    expect(failText('resources:\n  cpus: [1\n')).toMatch(/^task\.yaml:\d+:\d+: invalid YAML: /);
  });
});

describe('envs and secrets', () => {
  it('keeps values as written and overrides them from flags', () => {
    const t = one(y(['envs:', '  A: 007', '  B: yes', '  C: hello', '  D: 1.50']), { envOverrides: { C: 'bye', NEW: 'n' } });
    expect(t.envs).toEqual({ A: '007', B: 'yes', C: 'bye', D: '1.50', NEW: 'n' });
  });

  it('requires null values from --env / --secret, naming the key and its position', () => {
    const text = y(['run: echo', 'envs:', '  MODEL: llama', '  HF_TOKEN:']);
    expect(failText(text)).toBe('task.yaml:4:3: env \'HF_TOKEN\' has no value; pass --env HF_TOKEN=VALUE');
    expect(one(text, { envOverrides: { HF_TOKEN: 'abc' } }).envs).toEqual({ MODEL: 'llama', HF_TOKEN: 'abc' });
    const sec = y(['secrets:', '  WANDB_API_KEY: null']);
    expect(failText(sec)).toBe("task.yaml:2:3: secret 'WANDB_API_KEY' has no value; pass --secret WANDB_API_KEY=VALUE");
    expect(one(sec, { secretOverrides: { WANDB_API_KEY: 'k' } }).secrets).toEqual({ WANDB_API_KEY: 'k' });
  });

  it('rejects invalid variable names', () => {
    expect(failText('envs:\n  1BAD: x\n')).toMatch(/^task\.yaml:2:3: envs: '1BAD' is not a valid environment variable name/);
  });
});

describe('paths and substitution', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aloft-spec-'));
  mkdirSync(join(dir, 'code'));
  mkdirSync(join(dir, 'data-7b'));
  writeFileSync(join(dir, 'cfg.json'), '{}');
  const file = join(dir, 'task.yaml');

  it('resolves relative paths from the current directory and substitutes envs', () => {
    writeFileSync(
      file,
      y(['workdir: ./code', 'envs:', '  SIZE: 7b', '  DEST: /remote', 'file_mounts:', '  ${DEST}/data: ./data-$SIZE', '  /etc/cfg.json: cfg.json', '  rel/x: ${SIZE}/../cfg.json', '  /keep/$HOME_UNSET: ./code']),
    );
    const t = parseTaskFile(file, { baseDir: dir }).tasks[0]!;
    expect(t.workdir).toBe(join(dir, 'code'));
    expect(t.fileMounts).toEqual([
      { kind: 'local', dest: '/remote/data', source: join(dir, 'data-7b') },
      { kind: 'local', dest: '/etc/cfg.json', source: join(dir, 'cfg.json') },
      { kind: 'local', dest: '~/sky_workdir/rel/x', source: join(dir, 'cfg.json') },
      { kind: 'local', dest: '/keep/$HOME_UNSET', source: join(dir, 'code') },
    ]);
    expect(t.source).toBe(file);
  });

  it('substitutes --env values too, and honours baseDir and ~', () => {
    const t = parseTaskText(y(['envs:', '  SIZE:', 'workdir: data-${SIZE}']), 'x.yaml', { baseDir: dir, envOverrides: { SIZE: '7b' } }).tasks[0]!;
    expect(t.workdir).toBe(join(dir, 'data-7b'));
    const h = parseTaskText('workdir: "~"\n', 'x.yaml', { baseDir: dir }).tasks[0]!;
    expect(h.workdir).toBe(homedir());
  });

  it('rejects missing paths with the position of the value', () => {
    writeFileSync(file, y(['run: echo', 'workdir: ./nope']));
    expect(specError(() => parseTaskFile(file, { baseDir: dir })).message).toBe(`${file}:2:10: workdir: ${join(dir, 'nope')} does not exist`);
    writeFileSync(file, y(['workdir: cfg.json']));
    expect(specError(() => parseTaskFile(file, { baseDir: dir })).message).toBe(`${file}:1:10: workdir: ${join(dir, 'cfg.json')} is not a directory`);
    writeFileSync(file, y(['file_mounts:', '  /a: ./missing']));
    expect(specError(() => parseTaskFile(file, { baseDir: dir })).message).toBe(`${file}:2:7: file_mounts: /a: ${join(dir, 'missing')} does not exist`);
    expect(parseTaskFile(file, { checkPaths: false }).tasks[0]!.fileMounts).toHaveLength(1);
  });

  it('reports a missing YAML file in one line', () => {
    expect(specError(() => parseTaskFile(join(dir, 'absent.yaml'))).message).toBe(`${join(dir, 'absent.yaml')}: no such file`);
  });
});

describe('pipelines', () => {
  it('reads multi-document YAML as a chain, with an optional name-only header', () => {
    const chain = parseTaskText(y(['name: pipe', '---', 'name: train', 'run: echo 1', '---', 'name: eval', 'run: echo 2']), 'p.yaml');
    expect(chain.name).toBe('pipe');
    expect(chain.tasks.map((t) => [t.name, t.run])).toEqual([['train', 'echo 1'], ['eval', 'echo 2']]);
    const bare = parseTaskText(y(['run: a', '---', 'run: b', '---']), 'p.yaml');
    expect(bare.name).toBeUndefined();
    expect(bare.tasks.map((t) => t.run)).toEqual(['a', 'b']);
  });

  it('positions errors in later documents correctly', () => {
    expect(failText(y(['name: pipe', '---', 'run: a', '---', 'run: b', 'resources:', '  cpus: many']))).toBe(
      'task.yaml:7:9: resources.cpus: expected a number or "N+", got "many"',
    );
  });
});
