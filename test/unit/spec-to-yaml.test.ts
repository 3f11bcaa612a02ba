// A Task written back as YAML (the dashboard's `y`) parses to the same task, for every SkyPilot
// example and for the shapes aloft adds; and the envs/secrets a YAML leaves without a value are
// found as the launch form needs them.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTaskFile, parseTaskText, type Task } from '../../src/spec/index.js';
import { redactSecrets } from '../../src/spec/redact.js';
import { taskToYaml } from '../../src/spec/to-yaml.js';
import { unsetVariablesOf } from '../../src/spec/variables.js';
import { loadDocuments } from '../../src/spec/yaml.js';

const CORPUS = '/work/shared/skypilot-yaml-corpus';

// where a task and its bucket mounts came from (file:line:col) is not part of what they mean
const strip = (t: Task) => ({ ...t, source: undefined, ...(t.storageMounts ? { storageMounts: t.storageMounts.map((m) => ({ ...m, where: undefined })) } : {}) });

function roundTrip(tasks: Task[]): void {
  const text = taskToYaml(tasks.length === 1 ? tasks[0]! : tasks);
  const again = parseTaskText(text, 'roundtrip.yaml', { checkPaths: false, allowUnsupported: true });
  expect(again.tasks.map(strip), text).toEqual(tasks.map(strip));
}

describe('task → YAML', () => {
  it('keeps every field aloft models', () => {
    const chain = parseTaskText(
      `name: t
workdir: /tmp
num_nodes: 2
resources:
  any_of:
    - {infra: aws/us-east-1, accelerators: {A100: 8, H100: 8}, use_spot: true, disk_size: 200, ports: [8080, "9000-9010"]}
    - {infra: k8s/ctx, cpus: 4+, memory: 16, autostop: {idle_minutes: 5, down: true}, job_recovery: {strategy: FAILOVER, max_restarts_on_errors: 3, recover_on_exit_codes: [33]}}
envs: {A: "1", B: two}
secrets: {S: x}
file_mounts: {~/data: /tmp}
setup: echo s
run: |
  echo r
  echo $A
`,
      't.yaml',
      { checkPaths: false },
    );
    roundTrip(chain.tasks);
    expect(taskToYaml(chain.tasks[0]!)).toContain('name: t');
  });

  it('keeps bucket mounts (every form) and git workdirs', () => {
    const chain = parseTaskText(
      `workdir: {url: https://github.com/org/repo.git, ref: v1.2}
file_mounts:
  /local: /tmp
  /one: s3://bucket-a/key/file.bin
  /ckpt: {name: ckpt-bucket, store: gcs, mode: MOUNT_CACHED, type: MODEL_CHECKPOINT_RO, persistent: false}
  /ro: {source: gs://data-bucket/sub, mode: MOUNT, config: {mount: {read_only: true}}}
  /up: {name: up-bucket, source: [/tmp, /etc/hostname], store: r2, mode: COPY, _bucket_sub_path: run1}
run: ls
`,
      't.yaml',
      { checkPaths: false },
    );
    expect(chain.tasks[0]!.storageMounts).toHaveLength(4);
    roundTrip(chain.tasks);
    const y = taskToYaml(chain.tasks[0]!);
    expect(y).toContain('/one: s3://bucket-a/key/file.bin');
    expect(y).toContain('ref: v1.2');
  });

  it('a redacted task shows secret names, never values', () => {
    const [t] = parseTaskText('secrets: {HF_TOKEN: hf_live_value}\nrun: echo\n', 'x.yaml').tasks;
    const y = taskToYaml(redactSecrets(t!));
    expect(y).toContain('HF_TOKEN: <redacted>');
    expect(y).not.toContain('hf_live_value');
  });

  it.skipIf(!existsSync(CORPUS))('round-trips every SkyPilot example that parses', () => {
    let n = 0;
    for (const f of readdirSync(CORPUS).filter((x) => /\.ya?ml$/.test(x)).sort()) {
      const path = join(CORPUS, f);
      const dummies = (section: 'envs' | 'secrets') => Object.fromEntries(unsetVariablesOf(readFileSync(path, 'utf8'), path)[section].map((k) => [k, `dummy-${k}`]));
      let tasks: Task[];
      try {
        tasks = parseTaskFile(path, { allowUnsupported: true, checkPaths: false, envOverrides: dummies('envs'), secretOverrides: dummies('secrets') }).tasks;
      } catch {
        continue; // rejected with one line: spec-corpus.test.ts covers that
      }
      roundTrip(tasks);
      n++;
    }
    expect(n).toBeGreaterThan(100);
  });

  it.skipIf(!existsSync(CORPUS))('finds the envs and secrets a YAML leaves without a value (as the corpus test fills them)', () => {
    for (const f of readdirSync(CORPUS).filter((x) => /\.ya?ml$/.test(x))) {
      const path = join(CORPUS, f);
      const text = readFileSync(path, 'utf8');
      let docs;
      try {
        docs = loadDocuments(text, path);
      } catch {
        continue;
      }
      const expected = { envs: new Set<string>(), secrets: new Set<string>() };
      for (const d of docs) {
        const raw = d.toJS() as Record<string, Record<string, unknown>> | null;
        for (const s of ['envs', 'secrets'] as const) {
          const v = raw?.[s];
          if (v && typeof v === 'object' && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) if (x === null) expected[s].add(k);
        }
      }
      const got = unsetVariablesOf(text, path);
      expect(new Set(got.envs), f).toEqual(expected.envs);
      expect(new Set(got.secrets), f).toEqual(expected.secrets);
    }
    expect(unsetVariablesOf('envs: {MODEL: null, X: 1}\nsecrets: {HF_TOKEN: null}\n', 'e.yaml')).toEqual({ envs: ['MODEL'], secrets: ['HF_TOKEN'] });
  });
});
