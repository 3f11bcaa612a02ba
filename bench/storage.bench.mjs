// Issue 13 benchmarks, against the loopback S3 server (`npm run fake -- s3`, its own process):
//   COPY of 1 GiB in 1,000 files from a bucket prefix to a local node (the node's rclone, timed by
//   aloft's own progress line) vs `aws s3 sync` of the same prefix, in the same run;
//   MOUNT read throughput of one 1 GiB object (dd through the FUSE mount, in a job) vs a plain
//   download of it (`aws s3 cp` and `rclone cat`).
// The data is generated once per run and removed at the end; --quick uses 200 files and 256 MiB.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'aloft');

async function startFake(dir) {
  const child = spawn('npm', ['run', 'fake', '--', 's3', '--write-config', dir], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  const t0 = Date.now();
  while (!out.includes('ready')) {
    if (Date.now() - t0 > 60_000) throw new Error(`s3 fake did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const env = Object.fromEntries(readFileSync(join(dir, 's3.env'), 'utf8').trim().split('\n').map((l) => l.split(/=(.*)/s).slice(0, 2)));
  return { env, stop: () => { try { process.kill(-child.pid, 'SIGTERM'); } catch { /* gone */ } } };
}

/** Files of `size` bytes with distinct content (one random block, a counter in front). */
function generate(dir, count, size) {
  mkdirSync(dir, { recursive: true });
  const block = randomBytes(size);
  for (let i = 0; i < count; i++) {
    block.writeUInt32LE(i, 0);
    writeFileSync(join(dir, `f${String(i).padStart(4, '0')}.bin`), block);
  }
}

function bigFile(path, size) {
  const fd = openSync(path, 'w');
  const chunk = randomBytes(8 << 20);
  for (let at = 0; at < size; at += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, size - at));
  closeSync(fd);
}

const seconds = async (fn) => {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
};

export default async function storageBench({ quick }) {
  const files = quick ? 200 : 1000;
  const fileSize = 1 << 20;
  const bigSize = (quick ? 256 : 1024) << 20;
  const work = mkdtempSync(join(tmpdir(), 'aloft-sb-'));
  const home = join(work, 'home');
  mkdirSync(home);
  const fake = await startFake(join(work, 'fake'));
  const env = { ...process.env, ...fake.env, ALOFT_HOME: home, NO_COLOR: '1' };
  delete env.AWS_CA_BUNDLE; // rclone 1.60 refuses one on plain http
  const conf = join(work, 'rclone.conf');
  writeFileSync(conf, `[b]\ntype = s3\nprovider = Other\naccess_key_id = ${fake.env.AWS_ACCESS_KEY_ID}\nsecret_access_key = ${fake.env.AWS_SECRET_ACCESS_KEY}\nendpoint = ${fake.env.AWS_ENDPOINT_URL_S3}\nregion = us-east-1\n`, { mode: 0o600 });
  const renv = { ...env, RCLONE_CONFIG: conf };
  const aloft = (args, timeout = 1_800_000) => run(process.execPath, [bin, ...args], { env, cwd: work, timeout, maxBuffer: 64 << 20 });
  const rows = [];
  try {
    // ---- data, once ----
    generate(join(work, 'data'), files, fileSize);
    bigFile(join(work, 'big.bin'), bigSize);
    await run('aws', ['s3', 'mb', 's3://bench'], { env });
    await run('rclone', ['copy', '--transfers', '16', join(work, 'data'), 'b:bench/data'], { env: renv, timeout: 1_800_000 });
    await run('rclone', ['copy', join(work, 'big.bin'), 'b:bench/big'], { env: renv, timeout: 1_800_000 });
    rmSync(join(work, 'data'), { recursive: true, force: true });
    rmSync(join(work, 'big.bin'), { force: true });

    // ---- COPY of a prefix: aws s3 sync vs aloft (twice each, interleaved, best of two) ----
    const awsTimes = [];
    const aloftTimes = [];
    writeFileSync(join(work, 'copy.yaml'), 'file_mounts:\n  ~/data: s3://bench/data\nrun: ls ~/data | wc -l\n');
    for (let i = 0; i < 2; i++) {
      const dest = join(work, `sync-${i}`);
      awsTimes.push(await seconds(() => run('aws', ['s3', 'sync', '--only-show-errors', 's3://bench/data', dest], { env, timeout: 1_800_000 })));
      rmSync(dest, { recursive: true, force: true });
      const r = await aloft(['launch', '-y', '-c', `bcopy${i}`, '--infra', 'local', 'copy.yaml']);
      const m = /COPY s3:\/\/bench\/data → ~\/data \((\d+\.\d+)s\)/.exec(r.stderr);
      if (!m || !r.stdout.includes(String(files))) throw new Error(`aloft COPY did not report: ${r.stderr.slice(-400)}`);
      aloftTimes.push(Number(m[1]));
      await aloft(['down', '-y', `bcopy${i}`]);
    }
    const awsBest = Math.min(...awsTimes);
    const aloftBest = Math.min(...aloftTimes);
    const gib = (files * fileSize) / 2 ** 30;
    rows.push({ bench: 'storage', metric: `COPY ${files} files (${gib.toFixed(2)} GiB) → local node, aloft`, value: aloftBest, unit: 's', target: '≤ 1.2× aws s3 sync', note: `runs ${aloftTimes.map((t) => t.toFixed(1)).join(', ')} s` });
    rows.push({ bench: 'storage', metric: 'same prefix, aws s3 sync', value: awsBest, unit: 's', target: '', note: `runs ${awsTimes.map((t) => t.toFixed(1)).join(', ')} s` });
    rows.push({ bench: 'storage', metric: 'COPY ratio aloft / aws s3 sync', value: aloftBest / awsBest, unit: '×', target: '≤ 1.2', note: '' });

    // ---- MOUNT read of one big object vs plain downloads ----
    const mib = bigSize / 2 ** 20;
    const dl = join(work, 'big-dl.bin');
    const awsDl = await seconds(() => run('aws', ['s3', 'cp', '--only-show-errors', 's3://bench/big/big.bin', dl], { env, timeout: 1_800_000 }));
    rmSync(dl, { force: true });
    const rcloneDl = await seconds(() => run('bash', ['-c', 'rclone cat b:bench/big/big.bin > /dev/null'], { env: renv, timeout: 1_800_000 }));
    writeFileSync(join(work, 'mount.yaml'), [
      'file_mounts:', '  ~/m:', '    source: s3://bench', '    mode: MOUNT', 'run: |',
      '  t0=$(date +%s.%N); dd if=$HOME/m/big/big.bin of=/dev/null bs=8M 2>/dev/null; t1=$(date +%s.%N)',
      `  echo "read-seconds $(awk -v a=$t0 -v b=$t1 'BEGIN{print b-a}')"`,
    ].join('\n') + '\n');
    const r = await aloft(['launch', '-y', '-c', 'bmount', '--infra', 'local', 'mount.yaml']);
    const mountSecs = Number(/read-seconds ([\d.]+)/.exec(r.stdout)?.[1]);
    await aloft(['down', '-y', 'bmount']);
    rows.push({ bench: 'storage', metric: `MOUNT read of one ${mib} MiB object (dd in a job)`, value: mib / mountSecs, unit: 'MiB/s', target: '', note: `${mountSecs.toFixed(1)} s` });
    rows.push({ bench: 'storage', metric: 'same object, plain download: aws s3 cp / rclone cat', value: mib / awsDl, unit: 'MiB/s', target: '', note: `aws ${awsDl.toFixed(1)} s, rclone cat ${rcloneDl.toFixed(1)} s (${(mib / rcloneDl).toFixed(0)} MiB/s)` });
  } finally {
    await aloft(['down', '-a', '-y'], 300_000).catch(() => undefined);
    await aloft(['daemon', 'stop'], 60_000).catch(() => undefined);
    fake.stop();
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}
