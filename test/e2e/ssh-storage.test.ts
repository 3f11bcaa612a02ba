// Bucket mounts on an ssh node (a real OpenSSH server on loopback): the same node steps as on the
// local infra, over the ssh Transport — an absolute mount point (allowed on ssh hosts), COPY,
// MOUNT_CACHED flushed before the job ends, and `down` unmounting before it removes the node's
// directory (which must not reach into the bucket).
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Fake, type S3Fake } from '../fakes/s3/server.js';
import { makeHome, type AloftEnv } from '../helpers/cli.js';
import { removeSshTemp, sshdAvailable, sshTempDir, startSshd, type Sshd } from '../helpers/sshd.js';

const exec = promisify(execFile);

// Needs OpenSSH's sshd (.ci/run installs it); in CI a missing sshd fails instead of skipping.
describe.skipIf(!sshdAvailable() && !process.env.CI)('bucket mounts on an ssh node', () => {
  let a: AloftEnv;
  let s3: S3Fake;
  let sshd: Sshd;
  let remoteHome: string;
  const abs = `/tmp/aloft-ssh-mnt-${process.pid}`;

  const aws = async (...args: string[]) => (await exec('aws', args, { env: { ...process.env, ...s3.env } as Record<string, string>, encoding: 'utf8' })).stdout;

  beforeAll(async () => {
    s3 = await startS3Fake();
    a = makeHome('aloft-sss-');
    remoteHome = sshTempDir('srh-');
    sshd = await startSshd({ home: remoteHome });
    writeFileSync(join(a.home, 'ssh_node_pools.yaml'), `one:\n  identity_file: ${sshd.identityFile}\n  hosts: [127.0.0.1:${sshd.port}]\n`);
    await aws('s3', 'mb', 's3://ssh-bkt');
    writeFileSync(join(a.home, 'in.txt'), 'from the bucket\n');
    await aws('s3', 'cp', '--only-show-errors', join(a.home, 'in.txt'), 's3://ssh-bkt/in/in.txt');
  }, 120_000);

  afterAll(async () => {
    await a?.cleanup();
    await sshd?.stop();
    await s3?.stop();
    if (remoteHome) rmSync(remoteHome, { recursive: true, force: true });
    removeSshTemp();
  });

  it('COPY, MOUNT at an absolute path and MOUNT_CACHED over ssh; down unmounts first', async () => {
    const task = join(a.home, 'task.yaml');
    writeFileSync(
      task,
      [
        'file_mounts:',
        '  ~/in: s3://ssh-bkt/in',
        `  ${abs}:`,
        '    source: s3://ssh-bkt',
        '    mode: MOUNT',
        '  ~/cache:',
        '    source: s3://ssh-bkt',
        '    mode: MOUNT_CACHED',
        '    config:',
        '      mount_cached:',
        '        vfs_write_back: 6s',
        'run: |',
        '  cat ~/in/in.txt',
        `  echo direct > ${abs}/direct.txt`,
        '  echo cached > ~/cache/cached.txt',
      ].join('\n') + '\n',
    );
    const r = await a.run(['launch', '-y', '-c', 'sst', '--infra', 'ssh/one', task], { env: s3.env, timeoutMs: 240_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('from the bucket');
    const keys = await aws('s3', 'ls', 's3://ssh-bkt/');
    expect(keys).toContain('direct.txt');
    expect(keys).toContain('cached.txt');
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).toContain(abs);
    expect((await a.run(['down', '-y', 'sst'], { env: s3.env, timeoutMs: 120_000 })).code).toBe(0);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mounts).not.toContain(abs);
    expect(mounts).not.toContain(remoteHome);
    expect(await aws('s3', 'ls', 's3://ssh-bkt/in/')).toContain('in.txt');
    expect(await aws('s3', 'ls', 's3://ssh-bkt/')).toContain('cached.txt');
    rmSync(abs, { recursive: true, force: true });
  }, 400_000);
});
