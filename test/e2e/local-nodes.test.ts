// Issue 14.5/14.6 and 12.8: local nodes in their own namespaces — each its own address (fixed
// ports never collide, the host and the other nodes reach it), its own `/` (absolute
// mount points without touching the machine), its own home seeded from yours — and teardown and
// preemption leave nothing behind. Where the machine does not allow namespaces (not root), the
// same YAML is refused in one line saying why.
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, makeHome, waitFor, type AloftEnv } from '../helpers/cli.js';
import { isolationSupport } from '../../src/providers/local/isolation/index.js';

const isRoot = process.getuid?.() === 0;
// What this machine allows (root with util-linux, iproute2 and nft or iptables: here and in CI,
// whose .ci/run installs nftables). Elsewhere the second block below is what users get.
const support = await isolationSupport();

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/** A job that serves "hello from <rank>" on a fixed port (python3's http.server, no network needed). */
const SERVE = `mkdir -p ~/www && echo "hello from $SKYPILOT_NODE_RANK" > ~/www/index.html && cd ~/www && exec python3 -m http.server 8080 --bind 0.0.0.0`;

describe.skipIf(!support.fs || !support.net)('local nodes with their own namespaces (root)', () => {
  let a: AloftEnv;
  let userHome: string;
  let task: string;
  let src: string;
  beforeAll(() => {
    a = makeHome();
    // The daemon starts from this "user": its pip/git/netrc configuration and HF cache.
    userHome = mkdtempSync(join(tmpdir(), 'aloft-user-'));
    mkdirSync(join(userHome, '.config', 'pip'), { recursive: true });
    writeFileSync(join(userHome, '.config', 'pip', 'pip.conf'), '[global]\nindex-url = file:///nowhere/simple\n');
    writeFileSync(join(userHome, '.gitconfig'), '[user]\n\tname = Node Tester\n');
    writeFileSync(join(userHome, '.netrc'), 'machine example.com login me password pw\n', { mode: 0o600 });
    writeFileSync(join(userHome, '.bashrc'), 'export FROM_USER_BASHRC=yes\n');
    mkdirSync(join(userHome, '.cache', 'huggingface', 'hub'), { recursive: true });
    writeFileSync(join(userHome, '.cache', 'huggingface', 'hub', 'model.bin'), 'weights');
    mkdirSync(join(userHome, '.aws'));
    writeFileSync(join(userHome, '.aws', 'credentials'), '[default]\naws_secret_access_key=nope\n');
    a.env.HOME = userHome;
    src = mkdtempSync(join(tmpdir(), 'aloft-src-'));
    writeFileSync(join(src, 'best.pt'), 'checkpoint');
    mkdirSync(join(src, 'dir'));
    writeFileSync(join(src, 'dir', 'a.txt'), 'A');
    task = join(src, 'task.yaml');
    writeFileSync(
      task,
      [
        'num_nodes: 2',
        'file_mounts:',
        `  /data/checkpoints/best.pt: ${join(src, 'best.pt')}`,
        `  /model: ${join(src, 'dir')}`,
        `  /workdir: ${join(src, 'dir')}`,
        `  relative_dir: ${join(src, 'dir')}`,
        'run: |',
        '  set -e',
        '  cat /data/checkpoints/best.pt /model/a.txt /workdir/a.txt ~/sky_workdir/relative_dir/a.txt; echo',
        '  mkdir -p /data/logs && echo "log of $SKYPILOT_NODE_RANK" > /data/logs/x && cat /data/logs/x',
        '  echo "host=$(hostname)"',
        '  echo "git=$(git config user.name) pip=$(cat ~/.config/pip/pip.conf | grep index-url) netrc=$(stat -c %a ~/.netrc)"',
        '  echo "bashrc=$FROM_USER_BASHRC hf=$(cat ~/.cache/huggingface/hub/model.bin) aws=$(ls ~/.aws 2>&1 | head -1)"',
        '  echo "export FROM_SETUP=1" >> ~/.bashrc',
      ].join('\n') + '\n',
    );
  });
  afterAll(async () => {
    await a.cleanup();
    rmSync(userHome, { recursive: true, force: true });
    rmSync(src, { recursive: true, force: true });
  });

  it('gives each node its own address: fixed ports do not collide, the host and the other nodes reach them', async () => {
    const r = await a.run(['launch', '-y', '-d', '-c', 'web', '--num-nodes', '2', '--', SERVE]);
    expect(r.code, r.stderr).toBe(0);
    const ips = (await a.run(['status', '--all-ips', 'web'])).stdout.trim().split('\n');
    expect(ips).toHaveLength(2);
    expect(new Set(ips).size).toBe(2);
    for (const ip of ips) expect(ip).toMatch(/^10\.\d+\.\d+\.\d+$/);
    // A second cluster serves on the same port at its own address.
    const r2 = await a.run(['launch', '-y', '-d', '-c', 'web2', '--', SERVE]);
    expect(r2.code, r2.stderr).toBe(0);
    const [ip2] = (await a.run(['status', '--all-ips', 'web2'])).stdout.trim().split('\n');
    expect(ips).not.toContain(ip2);
    // The host (where the daemon's load balancer will be) reaches every node's IP:port.
    for (const [i, ip] of [...ips, ip2!].entries()) {
      const want = i === 1 ? 'hello from 1' : 'hello from 0';
      await waitFor(async () => (await get(`http://${ip}:8080/`).catch(() => '')).includes(want), 20_000, `${ip}:8080 to answer`);
    }
    // Node 0 reaches node 1 at its address (bash's /dev/tcp: nothing to install).
    const hop = await a.run(['exec', 'web', '--', `exec 3<>/dev/tcp/${ips[1]}/8080; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; tail -1 <&3`]);
    expect(hop.code, hop.stderr).toBe(0);
    expect(hop.stdout).toContain('hello from 1');
    // The port is the node's: nothing listens on it on the host's loopback.
    await expect(get('http://127.0.0.1:8080/')).rejects.toThrow();
  });

  it("reaches beyond this machine through NAT: the far end sees the host's address, not the node's", async () => {
    // A stand-in for the internet: a namespace on a veth of its own, serving HTTP and logging who
    // connects. A node's request must leave masqueraded behind the host, as it would to the web.
    const net = `198.18.${100 + (process.pid % 100)}`;
    const wan = `aloft-wan-${process.pid}`;
    const ip = (args: string) => spawnSync('ip', args.split(' '), { encoding: 'utf8' });
    ip(`netns add ${wan}`);
    try {
      ip(`link add ${wan} type veth peer name eth0 netns ${wan}`);
      ip(`addr add ${net}.1/24 dev ${wan}`);
      ip(`link set ${wan} up`);
      ip(`-n ${wan} addr add ${net}.2/24 dev eth0`);
      ip(`-n ${wan} link set eth0 up`);
      ip(`-n ${wan} link set lo up`);
      const log = join(src, 'wan.log');
      const server = spawnSync('bash', ['-c', `ip netns exec ${wan} python3 -m http.server 8000 --bind ${net}.2 >${log} 2>&1 & echo $!`], { encoding: 'utf8' });
      const pid = Number(server.stdout.trim());
      try {
        await waitFor(() => spawnSync('bash', ['-c', `exec 3<>/dev/tcp/${net}.2/8000`]).status === 0, 10_000, 'the stand-in server');
        const r = await a.run(['exec', 'web', '--', `exec 3<>/dev/tcp/${net}.2/8000 && printf 'GET /from-node HTTP/1.0\\r\\n\\r\\n' >&3 && head -1 <&3`]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/HTTP\/1\.0 404/);
        await waitFor(() => readFileSync(log, 'utf8').includes('/from-node'), 5000, 'the request in the log');
        const line = readFileSync(log, 'utf8').split('\n').find((l) => l.includes('/from-node'))!;
        expect(line.startsWith(`${net}.1 `), line).toBe(true); // the host's address: masqueraded
      } finally {
        process.kill(pid, 'SIGKILL');
      }
    } finally {
      ip(`link del ${wan}`);
      ip(`netns del ${wan}`);
    }
  });

  it("reaches this machine's loopback services at its gateway (the host's address on the cluster's bridge)", async () => {
    // A service only this machine's loopback can reach (MinIO, a git server, a model server as a
    // user runs them), noting who connects.
    const seen: string[] = [];
    const server = http.createServer((req, res) => {
      seen.push(`${req.socket.remoteAddress} ${req.url}`);
      res.end('from the host loopback\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const rec = JSON.parse(readFileSync(join(a.home, 'local', 'web', 'isolation.json'), 'utf8')) as { subnet: number; ips: Record<string, string> };
      const gateway = rec.ips['0']!.replace(/\.\d+$/, '.1');
      const fetchVia = (host: string, path: string) => `exec 3<>/dev/tcp/${host}/${port} && printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' >&3 && tail -1 <&3`;
      // the node's default route is the gateway; what answers there is this machine's 127.0.0.1
      const r = await a.run(['exec', 'web', '--', `gw=$(ip route show default | awk '{print $3}'); echo "gw=$gw"; ${fetchVia('"$gw"', '/via-gateway')}`]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`gw=${gateway}`);
      expect(r.stdout).toContain('from the host loopback');
      // the service sees the node's own address (DNAT, no masquerade), and nothing else came in
      expect(seen).toEqual([`${rec.ips['0']} /via-gateway`]);
      // the node's 127.0.0.1 stays its own: nothing of this machine's answers there
      const own = await a.run(['exec', 'web', '--', fetchVia('127.0.0.1', '/via-own-loopback')]);
      expect(own.code).not.toBe(0);
      expect(seen).toHaveLength(1);
    } finally {
      server.close();
    }
  });

  it('mounts to absolute paths (/data, /model, /workdir) inside the nodes only; homes start from yours', async () => {
    const hostHad = ['/data', '/model', '/workdir'].filter((p) => existsSync(p));
    const r = await a.run(['launch', '-y', '-c', 'fm', task]);
    expect(r.code, r.stderr).toBe(0);
    for (const rank of [0, 1]) {
      const label = rank === 0 ? '(head, rank=0' : '(worker1, rank=1';
      const mine = r.stdout.split('\n').filter((l) => l.startsWith(label)).map((l) => l.replace(/^\([^)]*\) /, ''));
      expect(mine, r.stdout).toEqual([
        'checkpointAAA',
        `log of ${rank}`,
        `host=fm-${rank === 0 ? 'head' : 'worker1'}`,
        'git=Node Tester pip=index-url = file:///nowhere/simple netrc=600',
        expect.stringMatching(/^bashrc=yes hf=weights aws=ls: cannot access/),
      ]);
    }
    // Nothing appeared on the machine; the files live in the node directories.
    for (const p of ['/data', '/model', '/workdir']) if (!hostHad.includes(p)) expect(existsSync(p), p).toBe(false);
    const node0 = join(a.home, 'local', 'fm', '0');
    expect(readFileSync(join(node0, 'rootfs', 'data', 'logs', 'x'), 'utf8')).toBe('log of 0\n');
    // The job edited the node's copy of ~/.bashrc, never yours; the HF cache is shared, not copied.
    expect(readFileSync(join(node0, '.bashrc'), 'utf8')).toContain('FROM_SETUP');
    expect(readFileSync(join(userHome, '.bashrc'), 'utf8')).not.toContain('FROM_SETUP');
  });

  it('down removes every namespace, link, rule and claim; preempt kills every process of a node', async () => {
    const rec = JSON.parse(readFileSync(join(a.home, 'local', 'web', 'isolation.json'), 'utf8')) as { subnet: number; nat: string };
    const i = rec.subnet;
    expect(existsSync(`/run/netns/aloft-${i}-1`)).toBe(true);
    // Preempting a spot cluster leaves no process behind, inside its namespaces or not.
    const spot = await a.run(['launch', '-y', '-d', '-c', 'spot', '--use-spot', '--num-nodes', '2', '--', 'sleep 600 & sleep 600']);
    expect(spot.code, spot.stderr).toBe(0);
    const spotDir = join(a.home, 'local', 'spot');
    await waitFor(async () => JSON.parse((await a.run(['queue', 'spot', '-o', 'json'])).stdout)[0]?.status === 'RUNNING', 20_000, 'spot job running');
    expect((await a.run(['local', 'preempt', 'spot'])).code).toBe(0);
    const ofSpot = () => a.leftoverProcesses().filter((pid) => readFileSync(`/proc/${pid}/environ`, 'latin1').includes(spotDir));
    await waitFor(() => ofSpot().length === 0, 10_000, 'every process of the preempted nodes to be gone');

    const down = await a.run(['down', '-y', 'web', 'web2', 'fm', 'spot']);
    expect(down.code, down.stderr).toBe(0);
    expect(existsSync(`/run/netns/aloft-${i}-0`)).toBe(false);
    expect(existsSync(`/run/netns/aloft-${i}-1`)).toBe(false);
    expect(existsSync(`/sys/class/net/aloft-b${i}`)).toBe(false);
    expect(existsSync(`/sys/class/net/aloft-${i}-0`)).toBe(false);
    expect(existsSync(`/run/aloft/net/${i}`)).toBe(false);
    if (rec.nat === 'nft') expect(spawnSync('nft', ['list', 'table', 'ip', `aloft-${i}`]).status).not.toBe(0);
    const owners = readdirSync('/run/aloft/ns').filter((n) => n.endsWith('.owner')).map((n) => readFileSync(join('/run/aloft/ns', n), 'utf8'));
    expect(owners.filter((o) => o.startsWith(a.home))).toEqual([]);
    expect(a.leftoverProcesses().filter((pid) => readFileSync(`/proc/${pid}/environ`, 'latin1').includes(join(a.home, 'local')))).toEqual([]);
  });
});

describe('local nodes where namespaces are not allowed', () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'aloft-nb-'));
    if (isRoot) chownSync(home, 65534, 65534);
  });
  afterAll(() => {
    // Runs as the same unprivileged user: its daemon is stopped before the directory goes.
    run(['daemon', 'stop']);
    rmSync(home, { recursive: true, force: true });
  });

  /** The CLI as user `nobody` when we are root (else as ourselves, already unprivileged). */
  function run(args: string[]) {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ALOFT_HOME: join(home, '.aloft'), NO_COLOR: '1' };
    const argv = isRoot ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args] : [process.execPath, BIN, ...args];
    const r = spawnSync(argv[0]!, argv.slice(1), { env, cwd: home, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  it('refuses an absolute mount point in one line naming why, in --dryrun as in launch (issue 17.11)', () => {
    const yaml = join(home, 'task.yaml');
    writeFileSync(yaml, `file_mounts:\n  /data: ${home}\nrun: ls /data\n`);
    if (isRoot) chownSync(yaml, 65534, 65534);
    const why = /^aloft: (launch failed at OPTIMIZE: )?file_mounts: absolute destination '\/data' needs each local node to have its own filesystem, but aloft is not running as root .*; use a path under ~\/ instead$/;
    for (const args of [['launch', '--dryrun', '--infra', 'local', yaml], ['launch', '-y', '--infra', 'local', yaml]]) {
      const r = run(args);
      expect(r.code, r.stderr).not.toBe(0);
      const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('aloft:'));
      expect(lines.at(-1), r.stderr).toMatch(why);
    }
  });
});
