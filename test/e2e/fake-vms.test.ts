// The fake VM host the cloud fakes build on: each VM a real sshd on its own loopback address,
// reached through aloft's own ssh transport; stop keeps the disk, a reclaim kills everything.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { utils as sshUtils } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519KeyPair } from '../../src/providers/ssh/keygen.js';
import { KnownHosts } from '../../src/providers/ssh/known-hosts.js';
import { SshTransport } from '../../src/providers/ssh/transport.js';
import { sshdInstalled, VmHost, type Vm } from '../fakes/vms.js';
import { waitFor } from '../helpers/cli.js';

function reachable(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, ip);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// Needs OpenSSH's sshd (CI installs it); on a dev machine without it the test is skipped.
describe.skipIf(!sshdInstalled() && !process.env.CI)('fake VM host', () => {
  let host: VmHost;
  let dir: string;
  let keyFile: string;
  let pub: string;
  const transports: SshTransport[] = [];

  const transport = (vm: Vm) => {
    const t = SshTransport.open(
      { host: vm.publicIp, port: 22, user: host.user, identityFile: keyFile },
      { knownHosts: new KnownHosts(join(dir, `known_hosts_${vm.id}`)), connectTimeoutMs: 5000 },
    );
    transports.push(t);
    return t;
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'aloft-vmt-'));
    const k = ed25519KeyPair(sshUtils, 'test');
    keyFile = join(dir, 'key');
    writeFileSync(keyFile, k.private, { mode: 0o600 });
    pub = k.public;
    host = new VmHost();
  });

  afterAll(async () => {
    for (const t of transports) t.close();
    await host?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('boots a VM reachable over ssh on its public address only through allowed ports', async () => {
    const vm = host.create({ authorizedKeys: [pub], ports: [{ from: 22, to: 22 }], userData: 'echo booted > "$HOME/boot.txt"\n' });
    expect(vm.state).toBe('pending');
    await vm.whenRunning();
    expect(vm.state).toBe('running');
    expect(vm.privateIp).toMatch(/^127\.\d+\.\d+\.\d+$/);
    expect(vm.publicIp).not.toBe(vm.privateIp);
    const t = transport(vm);
    const r = await t.exec('cloud-init status --wait; echo "home=$HOME"; cat "$HOME/boot.txt"');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('status: done');
    expect(r.stdout).toContain(`home=${vm.home}`);
    expect(r.stdout).toContain('booted');
    // A service on the VM is reachable from outside only once the firewall allows its port.
    await t.exec(`setsid nohup python3 -m http.server 18080 --bind ${vm.privateIp} >/dev/null 2>&1 < /dev/null & disown; true`);
    await waitFor(() => reachable(vm.privateIp, 18080), 10_000, 'http server on the VM');
    expect(await reachable(vm.publicIp, 18080)).toBe(false);
    vm.setIngress([{ from: 22, to: 22 }, { from: 18080, to: 18080 }]);
    await waitFor(() => reachable(vm.publicIp, 18080), 5000, 'port opened');
    vm.setIngress([{ from: 22, to: 22 }]);
    await waitFor(async () => !(await reachable(vm.publicIp, 18080)), 5000, 'port closed');
  });

  it('stop kills every process and keeps the disk; start brings ssh back', async () => {
    const vm = host.create({ authorizedKeys: [pub], ports: [{ from: 22, to: 22 }] });
    await vm.whenRunning();
    const t = transport(vm);
    const r0 = await t.exec('echo kept > "$HOME/file.txt"; setsid nohup sleep 600 >/dev/null 2>&1 < /dev/null & echo $!');
    const sleeper = Number(r0.stdout.trim());
    await waitFor(() => vm.processes().includes(sleeper), 5000, 'sleep running');
    await vm.stop();
    expect(vm.state).toBe('stopped');
    expect(vm.processes()).toEqual([]);
    expect(await reachable(vm.publicIp, 22)).toBe(false);
    await vm.start();
    const r = await transport(vm).exec('cat "$HOME/file.txt"');
    expect(r.stdout).toContain('kept');
    expect(vm.processes()).not.toContain(sleeper);
  });

  it('a reclaim SIGKILLs sshd and every process started through it, and the disk is gone', async () => {
    const vm = host.create({ authorizedKeys: [pub], ports: [{ from: 22, to: 22 }] });
    await vm.whenRunning();
    const t = transport(vm);
    // A daemonized process that ignores SIGTERM still dies: the reclaim sends SIGKILL.
    await t.exec(`setsid nohup bash -c 'trap "" TERM; while true; do sleep 1; done' >/dev/null 2>&1 < /dev/null & disown; true`);
    await waitFor(() => vm.processes().length >= 3, 5000, 'processes on the VM');
    const before = vm.processes();
    await vm.reclaim();
    expect(vm.state).toBe('terminated');
    expect(vm.processes()).toEqual([]);
    for (const pid of before) {
      let alive = false;
      try {
        const st = (await import('node:fs')).readFileSync(`/proc/${pid}/stat`, 'latin1');
        alive = st[st.lastIndexOf(')') + 2] !== 'Z';
      } catch {
        /* gone */
      }
      expect(alive).toBe(false);
    }
    expect(await reachable(vm.privateIp, 22)).toBe(false);
  });

  it('poweroff inside the guest asks the host for a shutdown', async () => {
    const vm = host.create({ authorizedKeys: [pub], ports: [{ from: 22, to: 22 }] });
    await vm.whenRunning();
    const asked = new Promise<void>((r) => vm.once('guest-shutdown', () => r()));
    vm.once('guest-shutdown', () => void vm.stop());
    await transport(vm).exec('(poweroff &) ; true');
    await asked;
    await waitFor(() => vm.state === 'stopped', 10_000, 'stopped');
  });
});
