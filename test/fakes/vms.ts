// The fake VM host both cloud fakes (test/fakes/aws, test/fakes/gcp) put their instances on. A VM
// is real: its own OpenSSH server on its own loopback address, a home directory that is its disk,
// and every process started through it tracked, so everything after "running" goes through the
// real ssh transport, and stop, start, terminate and a spot reclaim do to processes what a cloud
// does to a machine.
//
// API (everything a cloud fake needs):
//
//   const host = new VmHost({ bootMs?, env?, root? });
//   host.user                          the login user VMs accept (this OS user: sshd cannot invent one)
//   const vm = host.create({ authorizedKeys: ['ssh-ed25519 AAAA… c'], userData?, env?, ports? });
//   vm.id, vm.privateIp, vm.publicIp   127.X.Y.Z addresses; ssh and allowed ports on publicIp,
//                                      everything (sshd, jobs, agents) really listens on privateIp
//   vm.state                           'pending' | 'running' | 'stopping' | 'stopped' | 'terminated'
//   vm.on('state', (state) => …)       every transition
//   vm.on('guest-shutdown', () => …)   the guest ran `poweroff` / `shutdown` / `halt` (an OS-level
//                                      shutdown); the cloud fake decides stop or terminate and
//                                      calls vm.stop() or vm.terminate()
//   await vm.whenRunning()             resolves once sshd answers (rejects if terminated first)
//   vm.setIngress([{ from: 22, to: 22 }, { from: 8080, to: 8080 }])
//                                      which TCP ports of publicIp reach the VM (a security group /
//                                      firewall): a proxy per allowed port while the VM runs
//   await vm.stop()                    ACPI-style: SIGTERM, then SIGKILL, to every process; disk kept
//   await vm.start()                   boots a stopped VM again (same disk, same host key)
//   await vm.terminate()               stop + the disk removed
//   await vm.reclaim()                 spot reclaim: SIGKILL at once to sshd and every process
//                                      started through it, disk removed
//   vm.processes()                     live pids of the VM (tests check nothing survives)
//   await host.close()                 terminates every VM
//
// How processes are found: sessions, user-data and everything they start carry
// FAKEVM=<host id>/<vm id> in their environment (sshd's SetEnv), and HOME under the VM's home;
// daemonized grandchildren (the agent, jobs) keep both. The sshd listener's descendants are
// added (per-connection sshd processes do not carry the variable).
//
// Boot: after `bootMs`, the VM's sshd starts (state 'running' once it answers), then user-data runs
// once per VM with bash in the VM's environment (cloud-init's part); `cloud-init status --wait` on
// the VM waits for it. `poweroff`, `shutdown` and `halt` on the VM's PATH ask the host for a
// guest shutdown.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { utils as sshUtils } from 'ssh2';
import { killProcesses, processesWithEnv } from '../../src/providers/local/processes.js';
import { ed25519KeyPair } from '../../src/providers/ssh/keygen.js';
import { answersSsh } from '../helpers/sshd.js';

export const SSHD = '/usr/sbin/sshd';

export type VmState = 'pending' | 'running' | 'stopping' | 'stopped' | 'terminated';

export interface PortRange {
  from: number;
  to: number;
}

export interface VmHostOptions {
  /** where VM directories live (default: a new temp dir, removed by close()) */
  root?: string;
  /** delay before a VM's sshd starts (the cloud's own boot time) */
  bootMs?: number;
  /** variables every VM session gets (e.g. ALOFT_AUTOSTOP_SECONDS_PER_MINUTE for tests) */
  env?: Record<string, string>;
}

export interface VmCreateOptions {
  /** OpenSSH public keys accepted for the login user */
  authorizedKeys: string[];
  /** a script run once with bash at first boot (cloud-init) */
  userData?: string;
  /** more session variables for this VM */
  env?: Record<string, string>;
  /** ingress at creation (default: none, not even ssh) */
  ports?: PortRange[];
  /** label for messages */
  name?: string;
}

// Most ports a single range opens in the fake (each is a real listener).
const MAX_RANGE = 64;

let hostCounter = 0;

/** Live processes (not zombies) among `pids`. */
function live(pids: number[]): number[] {
  return pids.filter((pid) => {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'latin1');
      return st[st.lastIndexOf(')') + 2] !== 'Z';
    } catch {
      return false;
    }
  });
}

/** Every descendant of `root` (by ppid), found from one /proc scan. */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = readFileSync(`/proc/${e}/stat`, 'latin1');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e));
      children.set(ppid, list);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    for (const c of children.get(stack.pop()!) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

function sshdValue(v: string): string {
  return /[\s"]/.test(v) ? `"${v.replace(/"/g, '')}"` : v;
}

/** True when nothing listens on ip:port and the address can be bound. */
function bindable(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, ip, () => s.close(() => resolve(true)));
  });
}

export class VmHost {
  readonly id: string;
  readonly root: string;
  readonly user = userInfo().username;
  private readonly ownsRoot: boolean;
  private readonly vms = new Map<string, Vm>();
  private next = 0;
  /** second octet of every address of this host (random, so parallel test files rarely meet) */
  private octet: number;
  private usedIps = new Set<string>();

  constructor(readonly opts: VmHostOptions = {}) {
    this.id = `h${process.pid}-${++hostCounter}`;
    this.ownsRoot = !opts.root;
    this.root = opts.root ?? mkdtempSync(join(tmpdir(), 'avm-'));
    mkdirSync(this.root, { recursive: true });
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    this.octet = 20 + Math.floor(Math.random() * 230);
  }

  /** Two addresses for VM number n: private (where it listens) and public (its firewall). */
  private addresses(n: number): { privateIp: string; publicIp: string } {
    const hi = Math.floor(n / 250);
    const lo = (n % 250) + 2;
    return { privateIp: `127.${this.octet}.${1 + hi}.${lo}`, publicIp: `127.${this.octet}.${128 + hi}.${lo}` };
  }

  /** Finds a free address pair (another process's host may use the same block). */
  async allocate(): Promise<{ privateIp: string; publicIp: string }> {
    for (let tries = 0; tries < 500; tries++) {
      const n = this.next++;
      if (n > 0 && n % 30_000 === 0) this.octet = 20 + Math.floor(Math.random() * 230);
      const a = this.addresses(n);
      if (this.usedIps.has(a.privateIp)) continue;
      if ((await bindable(a.privateIp, 22)) && (await bindable(a.publicIp, 22))) {
        this.usedIps.add(a.privateIp);
        return a;
      }
    }
    throw new Error('fake VM host: no free loopback address');
  }

  create(opts: VmCreateOptions): Vm {
    const vm = new Vm(this, opts);
    this.vms.set(vm.id, vm);
    vm.on('state', (s: VmState) => {
      if (s === 'terminated') this.usedIps.delete(vm.privateIp);
    });
    return vm;
  }

  vm(id: string): Vm | undefined {
    return this.vms.get(id);
  }

  list(): Vm[] {
    return [...this.vms.values()];
  }

  /** Terminates every VM and removes the host's directory (if it made it). */
  async close(): Promise<void> {
    await Promise.all(this.list().map((v) => v.terminate().catch(() => undefined)));
    if (this.ownsRoot) rmSync(this.root, { recursive: true, force: true });
  }
}

let vmCounter = 0;

export class Vm extends EventEmitter {
  readonly id: string;
  privateIp = '';
  publicIp = '';
  readonly dir: string;
  readonly home: string;
  state: VmState = 'pending';
  private sshd?: ChildProcess;
  private proxies: net.Server[] = [];
  private ingress: PortRange[];
  private booting?: Promise<void>;
  private running?: { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void };
  private watcher?: FSWatcher;
  private readonly env: Record<string, string>;
  private readonly marker: string;

  constructor(
    private readonly host: VmHost,
    private readonly opts: VmCreateOptions,
  ) {
    super();
    this.setMaxListeners(50);
    this.id = `vm${++vmCounter}`;
    this.dir = join(host.root, this.id);
    this.home = join(this.dir, 'home');
    this.ingress = opts.ports ?? [];
    this.marker = `${host.id}/${this.id}`;
    mkdirSync(join(this.dir, 'etc'), { recursive: true, mode: 0o700 });
    mkdirSync(join(this.dir, 'bin'), { recursive: true });
    mkdirSync(this.home, { recursive: true, mode: 0o755 });
    // A VM keeps its host key for life (stop/start does not change it, as on a cloud disk).
    const hostKey = ed25519KeyPair(sshUtils);
    writeFileSync(join(this.dir, 'etc', 'host_key'), hostKey.private, { mode: 0o600 });
    writeFileSync(join(this.dir, 'etc', 'host_key.pub'), hostKey.public + '\n');
    writeFileSync(join(this.dir, 'etc', 'authorized_keys'), opts.authorizedKeys.map((k) => k.trim()).join('\n') + '\n', { mode: 0o600 });
    if (opts.userData) writeFileSync(join(this.dir, 'user-data'), opts.userData, { mode: 0o700 });
    this.writeGuestTools();
    this.env = {
      PATH: `${join(this.dir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: this.home,
      FAKEVM: this.marker,
      ...host.opts.env,
      ...opts.env,
    };
    this.resetRunning();
    this.booting = this.boot(true);
  }

  /** The VM's own host key (OpenSSH public key line). */
  get hostKeyPub(): string {
    return readFileSync(join(this.dir, 'etc', 'host_key.pub'), 'utf8').trim();
  }

  private resetRunning(): void {
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => undefined);
    this.running = { promise, resolve, reject };
  }

  whenRunning(): Promise<void> {
    return this.running!.promise;
  }

  private setState(s: VmState): void {
    if (this.state === s) return;
    this.state = s;
    this.emit('state', s);
  }

  // Guest tools: a shutdown from inside the VM is a request to the host; cloud-init's status.
  private writeGuestTools(): void {
    const bin = join(this.dir, 'bin');
    const request = join(this.dir, 'power-off-requested');
    const off = `#!/bin/sh\n: > '${request}'\n# the host stops this VM now; wait for it\nsleep 30\n`;
    for (const name of ['poweroff', 'shutdown', 'halt']) writeFileSync(join(bin, name), off, { mode: 0o755 });
    const done = join(this.dir, 'boot-finished');
    writeFileSync(
      join(bin, 'cloud-init'),
      `#!/bin/sh\n[ "$1" = status ] || { echo "fake cloud-init: only 'status [--wait]'" >&2; exit 1; }\n` +
        `if [ "$2" = --wait ]; then while [ ! -e '${done}' ]; do sleep 0.1; done; fi\n` +
        `if [ -e '${done}' ]; then echo 'status: done'; else echo 'status: running'; fi\n`,
      { mode: 0o755 },
    );
  }

  private async boot(first: boolean): Promise<void> {
    this.setState('pending');
    if (this.host.opts.bootMs) await new Promise((r) => setTimeout(r, this.host.opts.bootMs));
    if (this.state !== 'pending') return;
    if (!this.privateIp) {
      const a = await this.host.allocate();
      this.privateIp = a.privateIp;
      this.publicIp = a.publicIp;
    }
    await this.startSshd();
    if (this.state !== 'pending') return;
    await this.openIngress();
    this.watchPowerOff();
    this.setState('running');
    this.running!.resolve();
    if (first && this.opts.userData) this.runUserData();
    else this.markBooted();
  }

  private markBooted(): void {
    // The VM may be gone by the time its first-boot script ends.
    if (existsSync(this.dir)) writeFileSync(join(this.dir, 'boot-finished'), '');
  }

  private async startSshd(): Promise<void> {
    const etc = join(this.dir, 'etc');
    const setEnv = Object.entries(this.env).map(([k, v]) => `${k}=${sshdValue(v)}`);
    const lines = [
      `ListenAddress ${this.privateIp}:22`,
      `HostKey ${join(etc, 'host_key')}`,
      `PidFile none`,
      `AuthorizedKeysFile ${join(etc, 'authorized_keys')}`,
      `AllowUsers ${this.host.user}`,
      `StrictModes no`,
      `UsePAM no`,
      `PasswordAuthentication no`,
      `KbdInteractiveAuthentication no`,
      `PubkeyAuthentication yes`,
      `PermitRootLogin prohibit-password`,
      `AllowStreamLocalForwarding yes`,
      `AllowTcpForwarding yes`,
      `LogLevel ERROR`,
      `MaxSessions 50`,
      `MaxStartups 100:30:200`,
      `SetEnv ${setEnv.join(' ')}`,
    ];
    const config = join(etc, 'sshd_config');
    writeFileSync(config, lines.join('\n') + '\n');
    const child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    this.sshd = child;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`fake VM ${this.id}: sshd exited: ${err.trim()}`);
      if (this.state !== 'pending') return;
      if (await answersSsh(22, this.privateIp)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`fake VM ${this.id}: sshd did not answer on ${this.privateIp}:22: ${err.trim()}`);
  }

  private runUserData(): void {
    const child = spawn('bash', [join(this.dir, 'user-data')], {
      cwd: this.home,
      env: this.env,
      stdio: ['ignore', 'ignore', 'ignore'],
      detached: true,
    });
    const done = () => this.markBooted();
    child.once('exit', done);
    child.once('error', done);
  }

  private watchPowerOff(): void {
    const request = join(this.dir, 'power-off-requested');
    rmSync(request, { force: true });
    this.watcher?.close();
    this.watcher = watch(this.dir, (_ev, file) => {
      if (file === 'power-off-requested' && existsSync(request) && this.state === 'running') {
        rmSync(request, { force: true });
        this.emit('guest-shutdown');
      }
    });
  }

  // ---- firewall: proxies from publicIp:port to privateIp:port ----

  setIngress(ports: PortRange[]): void {
    this.ingress = ports;
    if (this.state === 'running') void this.openIngress();
  }

  private wantedPorts(): Set<number> {
    const want = new Set<number>();
    for (const r of this.ingress) {
      const to = Math.min(r.to, r.from + MAX_RANGE - 1);
      for (let p = r.from; p <= to; p++) if (p > 0 && p < 65536) want.add(p);
    }
    return want;
  }

  private async openIngress(): Promise<void> {
    const want = this.wantedPorts();
    const open = new Map(this.proxies.map((s) => [(s.address() as net.AddressInfo | null)?.port ?? -1, s]));
    for (const [port, s] of open) {
      if (!want.has(port)) {
        s.close();
        this.proxies = this.proxies.filter((x) => x !== s);
      }
    }
    await Promise.all(
      [...want]
        .filter((p) => !open.has(p))
        .map(
          (port) =>
            new Promise<void>((resolve) => {
              const srv = net.createServer((inbound) => {
                const out = net.connect(port, this.privateIp);
                inbound.pipe(out).pipe(inbound);
                const close = () => {
                  inbound.destroy();
                  out.destroy();
                };
                inbound.on('error', close);
                out.on('error', close);
              });
              srv.once('error', () => resolve());
              srv.listen(port, this.publicIp, () => {
                this.proxies.push(srv);
                resolve();
              });
            }),
        ),
    );
  }

  private closeIngress(): void {
    for (const s of this.proxies) s.close();
    this.proxies = [];
  }

  // ---- lifecycle ----

  /** Live processes of this VM: its sshd, its sessions and all they started. */
  processes(): number[] {
    const found = new Set<number>([
      ...processesWithEnv(['FAKEVM'], this.marker),
      ...processesWithEnv(['HOME'], this.home),
    ]);
    const pid = this.sshd?.pid;
    if (pid && this.sshd!.exitCode === null && this.sshd!.signalCode === null) {
      found.add(pid);
      for (const d of descendants(pid)) found.add(d);
    }
    found.delete(process.pid);
    return live([...found]);
  }

  /** Kills everything of the VM; graceMs 0 = SIGKILL at once. */
  private async halt(graceMs: number): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    this.closeIngress();
    const sshd = this.sshd;
    this.sshd = undefined;
    for (let round = 0; round < 6; round++) {
      const pids = this.processesWith(sshd);
      if (pids.length === 0) break;
      await killProcesses(pids, round === 0 ? graceMs : 0);
    }
    if (sshd && sshd.exitCode === null && sshd.signalCode === null) {
      await new Promise((r) => {
        sshd.once('exit', r);
        sshd.kill('SIGKILL');
      });
    }
  }

  private processesWith(sshd: ChildProcess | undefined): number[] {
    const found = new Set(this.processes());
    if (sshd?.pid && sshd.exitCode === null && sshd.signalCode === null) {
      found.add(sshd.pid);
      for (const d of descendants(sshd.pid)) found.add(d);
    }
    found.delete(process.pid);
    return live([...found]);
  }

  /** An OS shutdown (ACPI): processes get SIGTERM, then SIGKILL; the disk stays. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'terminated') return;
    if (this.state === 'pending') await this.booting?.catch(() => undefined);
    this.setState('stopping');
    this.running!.reject(new Error(`VM ${this.id} stopped`));
    await this.halt(1000);
    this.setState('stopped');
  }

  /** Boots a stopped VM again: same disk, same host key, same addresses. */
  async start(): Promise<void> {
    if (this.state === 'running' || this.state === 'pending') return this.whenRunning();
    if (this.state === 'terminated') throw new Error(`VM ${this.id} is terminated`);
    if (this.state === 'stopping') await new Promise<void>((r) => this.once('state', () => r()));
    this.resetRunning();
    this.booting = this.boot(false);
    await this.booting;
  }

  /** The machine and its disk are gone. */
  async terminate(): Promise<void> {
    if (this.state === 'terminated') return;
    if (this.state === 'pending') await this.booting?.catch(() => undefined);
    if (this.state === 'running' || this.state === 'stopping' || this.state === 'pending') {
      this.setState('stopping');
      await this.halt(1000);
    }
    this.finish();
  }

  /** A spot reclaim: no warning, no grace — sshd and every process SIGKILLed, the disk gone. */
  async reclaim(): Promise<void> {
    if (this.state === 'terminated') return;
    await this.halt(0);
    this.finish();
  }

  private finish(): void {
    this.running!.reject(new Error(`VM ${this.id} terminated`));
    rmSync(this.dir, { recursive: true, force: true });
    this.setState('terminated');
  }
}

/** Whether fake VMs can run here (OpenSSH's sshd installed; .ci/install-ssh.sh does it in CI). */
export function sshdInstalled(): boolean {
  return existsSync(SSHD);
}
