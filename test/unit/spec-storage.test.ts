// Bucket file_mounts and git workdirs in the task YAML: every form SkyPilot accepts, and one
// positioned line for every combination that means nothing.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTaskText } from '../../src/spec/index.js';
import { failText } from '../helpers/spec.js';

const y = (lines: string[]) => lines.join('\n') + '\n';
const dir = mkdtempSync(join(tmpdir(), 'aloft-st-'));
mkdirSync(join(dir, 'data'));
writeFileSync(join(dir, 'data', 'a.txt'), 'a');
writeFileSync(join(dir, 'one.txt'), '1');
const mounts = (lines: string[], envs: Record<string, string> = {}) =>
  parseTaskText(y(lines), 'task.yaml', { baseDir: dir, envOverrides: envs }).tasks[0]!.storageMounts ?? [];

describe('bucket file_mounts', () => {
  it('reads the shorthand as a copy of an object or prefix', () => {
    const [m] = mounts(['file_mounts:', '  /data: s3://bkt/some/prefix', '  /ckpt: gs://other-bkt', '  ~/x: r2://r2-bkt/k']);
    expect(m).toMatchObject({ dest: '/data', mode: 'COPY', store: 's3', bucket: 'bkt', prefix: 'some/prefix', shorthand: true, named: false });
    const all = mounts(['file_mounts:', '  /ckpt: gs://other-bkt', '  ~/x: r2://r2-bkt/k']);
    expect(all.map((x) => [x.dest, x.store, x.bucket, x.prefix])).toEqual([
      ['/ckpt', 'gcs', 'other-bkt', ''],
      ['~/x', 'r2', 'r2-bkt', 'k'],
    ]);
  });

  it('reads storage mappings with SkyPilot defaults (MOUNT, persistent)', () => {
    const [a, b, c, d] = mounts([
      'envs:',
      '  BUCKET: my-bkt',
      '  STORE: GCS',
      'file_mounts:',
      '  /a:',
      '    source: s3://src-bkt/sub',
      '  /b:',
      '    name: $BUCKET',
      '    store: $STORE',
      '    mode: mount_cached',
      '    config:',
      '      mount_cached:',
      '        transfers: 4',
      '        vfs_cache_max_size: 10G',
      '  ~/c:',
      '    name: up-bkt',
      '    source: ./data',
      '    persistent: false',
      '    mode: COPY',
      '  /d:',
      '    name: list-bkt',
      '    source: [./data, ./one.txt]',
      '    type: MODEL_CHECKPOINT_RO',
      '    mode: MOUNT_CACHED',
    ]);
    expect(a).toMatchObject({ mode: 'MOUNT', store: 's3', bucket: 'src-bkt', prefix: 'sub', named: false, persistent: true });
    expect(a!.upload).toBeUndefined();
    expect(b).toMatchObject({ mode: 'MOUNT_CACHED', store: 'gcs', bucket: 'my-bkt', named: true, rcloneFlags: ['--transfers=4', '--vfs-cache-max-size=10G'] });
    expect(c).toMatchObject({ dest: '~/c', mode: 'COPY', bucket: 'up-bkt', persistent: false, upload: { paths: [join(dir, 'data')], list: false } });
    expect(c!.store).toBeUndefined(); // chosen at launch
    expect(d).toMatchObject({ readOnly: true, upload: { paths: [join(dir, 'data'), join(dir, 'one.txt')], list: true } });
    expect(d!.rcloneFlags).toEqual(['--vfs-read-chunk-size=32M', '--vfs-read-chunk-streams=16']);
    expect(a!.where).toBe('task.yaml:5:3');
  });

  it('refuses what SkyPilot refuses, naming the mount and where', () => {
    const cases: Array<[string[], string]> = [
      [['file_mounts:', '  /d:', '    store: foo', '    name: abc'], "task.yaml:3:12: file_mounts: /d: unknown store 'foo' (aloft knows s3, gcs, r2, nebius, coreweave, vastdata, oci)"],
      [['file_mounts:', '  /d:', '    store: gsc', '    name: abc'], "task.yaml:3:12: file_mounts: /d: unknown store 'gsc'; did you mean 'gcs'? (aloft knows s3, gcs, r2, nebius, coreweave, vastdata, oci)"],
      [['file_mounts:', '  data:', '    source: s3://bkt'], 'task.yaml:2:3: file_mounts: data: a bucket\'s mount point must be an absolute path (e.g. /data or ~/data)'],
      [['file_mounts:', '  data: s3://bkt'], "task.yaml:2:3: file_mounts: data: a bucket's mount point must be an absolute path (e.g. /data or ~/data)"],
      [['file_mounts:', '  /d:', '    name: abc', '    source: ./missing'], `task.yaml:4:13: file_mounts: /d: local source ${join(dir, 'missing')} does not exist`],
      [['file_mounts:', '  /d:', '    name: abc', '    source: [./data, ./missing]'], `task.yaml:4:22: file_mounts: /d: local source ${join(dir, 'missing')} does not exist`],
      [['file_mounts:', '  /d:', '    name: abc', '    source: ./one.txt'], `task.yaml:4:13: file_mounts: /d: local source ${join(dir, 'one.txt')} is a file; a bucket source is a directory (or a list: source: [./one.txt])`],
      [['file_mounts:', '  /d:', '    source: ./data'], 'task.yaml:2:3: file_mounts: /d: a local `source:` is uploaded into a bucket: add `name:` (the bucket to create or reuse)'],
      [['file_mounts:', '  /d:', '    mode: MOUNT'], 'task.yaml:2:3: file_mounts: /d: needs `name:` (a bucket to use or create) or `source:` (a bucket URL or a local directory)'],
      [['file_mounts:', '  /d:', '    name: abc', '    source: s3://bkt'], 'task.yaml:3:11: file_mounts: /d: give either `name:` (a bucket to use or create) or a bucket URL in `source:`, not both (the bucket is s3://bkt)'],
      [['file_mounts:', '  /d:', '    name: s3://abc'], 'task.yaml:3:11: file_mounts: /d: name \'s3://abc\' is a URL: a bucket that exists goes in `source:` (source: s3://abc); `name:` names a bucket to use or create'],
      [['file_mounts:', '  /d:', '    source: s3://bkt', '    store: gcs'], "task.yaml:4:12: file_mounts: /d: store 'gcs' does not match the source s3://bkt (a s3 bucket)"],
      [['file_mounts:', '  /d:', '    name: abc', '    mode: FAST'], "task.yaml:4:11: file_mounts: /d: unknown mode 'FAST' (MOUNT, COPY or MOUNT_CACHED)"],
      [['file_mounts:', '  /d:', '    name: Bad_Name!'], "task.yaml:3:11: file_mounts: /d: 'Bad_Name!' is not a valid bucket name: a bucket name has lowercase letters, digits, dots, hyphens and underscores, and starts and ends with a letter or digit"],
      [['file_mounts:', '  /d: ftp://host/x'], "task.yaml:2:7: file_mounts: /d: 'ftp://' is not a store aloft knows (s3://, gs://, r2://, nebius://, cw://, vastdata://, oci://)"],
      [['file_mounts:', '  /d:', '    source: s3://bkt', '    config:', '      mount_cached:', '        transfer: 4'], "task.yaml:6:9: unknown field 'transfer' in file_mounts[\"/d\"].config.mount_cached; did you mean 'transfers'?"],
      [['file_mounts:', '  /d:', '    name: abc', '    mode: MOUNT_CACHED', '    type: FAST'], "task.yaml:5:11: file_mounts: /d: unknown type 'FAST' (MODEL_CHECKPOINT_RO, MODEL_CHECKPOINT_RW, DATASET_RO, DATASET_RW)"],
      [['file_mounts:', '  ~/d: s3://bkt', '  ~/e/../d: ./data'], 'task.yaml:3:3: file_mounts: ~/d is mounted twice'],
    ];
    for (const [lines, message] of cases) expect(failText(y(lines), { baseDir: dir }), lines.join(' | ')).toBe(message);
  });
});

describe('git workdirs', () => {
  it('reads {url, ref}', () => {
    const t = parseTaskText(y(['workdir:', '  url: https://github.com/org/repo.git', '  ref: v1.2']), 't.yaml').tasks[0]!;
    expect(t.gitWorkdir).toEqual({ url: 'https://github.com/org/repo.git', ref: 'v1.2' });
    expect(t.workdir).toBeUndefined();
    expect(parseTaskText(y(['workdir:', '  url: git@github.com:org/repo.git']), 't.yaml').tasks[0]!.gitWorkdir).toEqual({ url: 'git@github.com:org/repo.git' });
  });

  it('refuses what is not a git URL or ref', () => {
    expect(failText(y(['workdir:', '  url: not a url']))).toBe("task.yaml:2:8: workdir.url: 'not a url' is not a git URL (https://…, ssh://…, git://…, file://… or user@host:path)");
    expect(failText(y(['workdir:', '  url: https://h/r', '  ref: --upload-pack=x']))).toBe("task.yaml:3:8: workdir.ref: '--upload-pack=x' is not a branch, tag or commit name");
    expect(failText(y(['workdir:', '  url: https://h/r', '  rev: main']))).toBe("task.yaml:3:3: unknown field 'rev' in workdir; did you mean 'ref'?");
  });
});
