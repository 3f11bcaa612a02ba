// Entry of the agent bundle (dist/agent/agent.cjs), uploaded to every node:
//   start --dir NODE_DIR [--listen-tcp HOST:PORT --token-file F]   daemonize, print {"pid","socket"[,"tcp"]}
//   serve --dir NODE_DIR [--listen-tcp HOST:PORT --token-file F]   run in the foreground
//   pipe --socket PATH                                              bridge stdin/stdout to a unix socket
//   reap --dir NODE_DIR --jobs ID,...                               with no agent running: what became of those jobs' processes
//   version
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, linkSync, mkdirSync, openSync, readFileSync, realpathSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import { resolve } from 'node:path';
import { Agent, agentPaths } from './agent.js';
import { readPidFile } from '../util/process.js';
import { processAlive } from './proc.js';
import { AGENT_PROTOCOL_VERSION } from './protocol.js';
import { agentPid, reap } from './reap.js';
import { detectResources } from './resources.js';
import { AgentClient } from './rpc.js';
import { startListeners } from './server.js';

declare const __ALOFT_VERSION__: string | undefined;
// ALOFT_VERSION_OVERRIDE lets tests simulate an upgraded agent (as for the daemon).
export const AGENT_VERSION =
  process.env.ALOFT_VERSION_OVERRIDE || (typeof __ALOFT_VERSION__ === 'string' ? __ALOFT_VERSION__ : 'dev');

class UsageError extends Error {}

interface Args {
  cmd: string;
  flags: Record<string, string>;
}

function parseArgs(argv: string[]): Args {
  const [cmd = '', ...rest] = argv;
  const flags: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    if (eq !== -1) flags[a.slice(2, eq)] = a.slice(eq + 1);
    else {
      const v = rest[i + 1];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      flags[a.slice(2)] = v;
      i++;
    }
  }
  return { cmd, flags };
}

function need(flags: Record<string, string>, name: string): string {
  const v = flags[name];
  if (!v) throw new UsageError(`--${name} is required`);
  return v;
}

function parseHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  if (i <= 0) throw new UsageError(`--listen-tcp wants HOST:PORT, got '${s}'`);
  const port = Number(s.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`bad port in '${s}'`);
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port };
}

interface StartInfo {
  pid: number;
  socket: string;
  tcp?: { host: string; port: number };
}

type Answering = StartInfo & { version: string; protocol: number };

/**
 * The agent serving this node dir: answering hello, or `unresponsive` when its info names a live
 * process that does not answer (hung, stopped, or on its way out), or undefined when none serves.
 */
async function probe(nodeDir: string): Promise<Answering | 'unresponsive' | undefined> {
  const p = agentPaths(nodeDir);
  let info: StartInfo;
  try {
    info = JSON.parse(readFileSync(p.info, 'utf8')) as StartInfo;
  } catch {
    return undefined;
  }
  if (!processAlive(info.pid)) return undefined;
  try {
    const sock = await new Promise<net.Socket>((res, rej) => {
      const s = net.connect(p.socket);
      s.once('connect', () => res(s));
      s.once('error', rej);
    });
    const c = await AgentClient.connect(sock, { timeoutMs: 5000 });
    c.close();
    return { ...info, pid: c.hello.pid, version: c.hello.version, protocol: c.hello.protocol };
  } catch {
    return 'unresponsive';
  }
}

function printInfo(i: StartInfo): void {
  const out: StartInfo = { pid: i.pid, socket: i.socket, ...(i.tcp ? { tcp: i.tcp } : {}) };
  process.stdout.write(JSON.stringify(out) + '\n');
}

/** Stops an agent of another version; its jobs keep running and the new agent re-attaches. */
async function retire(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (processAlive(pid)) process.kill(pid, 'SIGKILL');
}

function logTail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function cmdStart(flags: Record<string, string>): Promise<number> {
  const nodeDir = resolve(need(flags, 'dir'));
  const p = agentPaths(nodeDir);
  let running = await probe(nodeDir);
  // Unanswered once can be an agent on its way out (its socket already gone); a hung one stays so.
  if (running === 'unresponsive') {
    await new Promise((r) => setTimeout(r, 200));
    running = await probe(nodeDir);
  }
  if (running === 'unresponsive') {
    // An agent that holds the node but does not answer (hung, stopped) is replaced; its jobs run in
    // their own process groups and the new agent re-attaches to them from the journal.
    const stale = agentPid(p.pid);
    if (stale !== undefined && servedBy(p.info) === stale) await retire(stale);
  } else if (running) {
    if (running.version === AGENT_VERSION && running.protocol === AGENT_PROTOCOL_VERSION) {
      printInfo(running);
      return 0;
    }
    await retire(running.pid);
  }
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  const logFd = openSync(p.log, 'a', 0o600);
  const args = [realpathSync(process.argv[1]!), 'serve', '--dir', nodeDir, '--ready-fd', '3'];
  if (flags['listen-tcp']) args.push('--listen-tcp', flags['listen-tcp']);
  if (flags['token-file']) args.push('--token-file', resolve(flags['token-file']));
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ['ignore', logFd, logFd, 'pipe'],
    env: { ...process.env, ALOFT_NODE_DIR: nodeDir },
    cwd: nodeDir,
  });
  closeSync(logFd);
  const ready = child.stdio[3] as net.Socket;
  return new Promise<number>((done) => {
    let buf = '';
    let settled = false;
    ready.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl === -1 || settled) return;
      settled = true;
      process.stdout.write(buf.slice(0, nl) + '\n');
      ready.destroy();
      child.unref();
      done(0);
    });
    ready.on('error', () => undefined);
    child.once('exit', async (code, signal) => {
      if (settled) return;
      settled = true;
      // Lost a start race to another agent for the same dir: report that one once it answers.
      for (let i = 0; i < 50; i++) {
        const other = await probe(nodeDir);
        if (other && other !== 'unresponsive') {
          printInfo(other);
          return done(0);
        }
        if (!otherStarting(p.pid)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      process.stderr.write(`agent failed to start (${signal ?? `exit code ${code}`}); last lines of ${p.log}:\n${logTail(p.log)}\n`);
      done(1);
    });
  });
}

function servedBy(infoPath: string): number | undefined {
  try {
    return (JSON.parse(readFileSync(infoPath, 'utf8')) as StartInfo).pid;
  } catch {
    return undefined;
  }
}

function otherStarting(pidPath: string): boolean {
  try {
    return processAlive(Number(readFileSync(pidPath, 'utf8').trim()));
  } catch {
    return false;
  }
}

/**
 * One agent per node dir: an exclusive pid file, taken over only from a dead owner.
 * The file appears whole (written aside, then hard-linked into place, which fails if it exists):
 * created with O_EXCL and written after, a racing starter could read it empty and take it over.
 * A dead owner's file is renamed away before removal, so of several starters seeing the same dead
 * owner only one removes it — never a fresh lock another starter linked in meanwhile.
 */
function takePidLock(pidPath: string): void {
  const mine = `${pidPath}.${process.pid}`;
  writeFileSync(mine, String(process.pid), { mode: 0o600 });
  try {
    for (let i = 0; i < 20; i++) {
      try {
        linkSync(mine, pidPath);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const other = readPidFile(pidPath);
      if (other === undefined) continue; // removed meanwhile: try again
      if (other !== process.pid && processAlive(other)) {
        let cmd = '';
        try {
          cmd = readFileSync(`/proc/${other}/cmdline`, 'latin1');
        } catch {
          cmd = 'serve';
        }
        if (cmd.includes('serve')) throw new Error(`an agent is already running for this node (pid ${other})`);
      }
      const aside = `${pidPath}.stale.${process.pid}`;
      try {
        renameSync(pidPath, aside);
      } catch {
        continue; // another starter moved it first
      }
      const moved = readPidFile(aside);
      // Moved a lock linked in after our read (its owner is alive): put it back where it was.
      if (moved !== other && moved !== undefined && processAlive(moved)) {
        try {
          linkSync(aside, pidPath);
        } catch {
          /* a third starter got in; the checks above sort it out on the next turn */
        }
      }
      unlinkSync(aside);
    }
    throw new Error('could not take the agent pid lock');
  } finally {
    try {
      unlinkSync(mine);
    } catch {
      /* already gone */
    }
  }
}

function log(msg: string): void {
  process.stdout.write(`${new Date().toISOString()} ${msg}\n`);
}

async function cmdServe(flags: Record<string, string>): Promise<number> {
  const nodeDir = resolve(need(flags, 'dir'));
  const p = agentPaths(nodeDir);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  chmodSync(p.dir, 0o700);
  process.env.ALOFT_NODE_DIR = nodeDir;
  let tcp: { host: string; port: number; token: string } | undefined;
  if (flags['listen-tcp']) {
    const hp = parseHostPort(flags['listen-tcp']);
    const tokenFile = need(flags, 'token-file');
    const token = readFileSync(tokenFile, 'utf8').trim();
    if (!token) throw new UsageError(`token file ${tokenFile} is empty`);
    tcp = { ...hp, token };
  }
  takePidLock(p.pid);
  const resources = await detectResources();
  let listeners: Awaited<ReturnType<typeof startListeners>> | undefined;
  let exiting = false;
  const exit = (code = 0) => {
    if (exiting) return;
    exiting = true;
    listeners?.close();
    try {
      if (readFileSync(p.pid, 'utf8').trim() === String(process.pid)) unlinkSync(p.pid);
    } catch {
      /* gone */
    }
    log('agent exiting');
    process.exit(code);
  };
  const agent = new Agent({ nodeDir, version: AGENT_VERSION, resources, log, exit: () => exit(0) });
  agent.start();
  listeners = await startListeners(agent, p.socket, tcp);
  const info: StartInfo = { pid: process.pid, socket: p.socket, ...(listeners.tcpAddress ? { tcp: listeners.tcpAddress } : {}) };
  // Whole or not at all: a starter reading it half-written would take this agent for a hung one.
  writeFileSync(`${p.info}.${process.pid}`, JSON.stringify(info), { mode: 0o600 });
  renameSync(`${p.info}.${process.pid}`, p.info);
  log(`agent ${AGENT_VERSION} (protocol ${AGENT_PROTOCOL_VERSION}) serving ${p.socket}${info.tcp ? ` and tcp ${info.tcp.host}:${info.tcp.port}` : ''}; ${resources.cpus} cpus`);
  // Jobs run in their own process groups and keep running: a restarted agent re-attaches.
  process.on('SIGTERM', () => exit(0));
  process.on('SIGINT', () => exit(0));
  process.on('SIGHUP', () => undefined);
  process.on('unhandledRejection', (err) => log(`unhandled: ${(err as Error)?.stack ?? String(err)}`));
  process.on('uncaughtException', (err) => {
    log(`fatal: ${err.stack ?? err.message}`);
    exit(1);
  });
  const readyFd = flags['ready-fd'] ? Number(flags['ready-fd']) : undefined;
  if (readyFd !== undefined) {
    try {
      writeSync(readyFd, JSON.stringify(info) + '\n');
      closeSync(readyFd);
    } catch {
      /* the starter went away; keep serving */
    }
  }
  return -1;
}

async function cmdPipe(flags: Record<string, string>): Promise<number> {
  const path = need(flags, 'socket');
  return new Promise((done) => {
    const sock = net.connect(path);
    sock.once('error', (err) => {
      process.stderr.write(`cannot reach agent at ${path}: ${err.message}\n`);
      done(1);
    });
    sock.once('connect', () => {
      process.stdin.pipe(sock);
      sock.pipe(process.stdout);
      sock.on('close', () => done(0));
    });
  });
}

export async function main(argv: string[]): Promise<void> {
  let code: number;
  try {
    const { cmd, flags } = parseArgs(argv);
    switch (cmd) {
      case 'start':
        code = await cmdStart(flags);
        break;
      case 'serve':
        code = await cmdServe(flags);
        break;
      case 'pipe':
        code = await cmdPipe(flags);
        break;
      case 'reap': {
        const ids = (flags.jobs ?? '').split(',').filter(Boolean).map(Number);
        process.stdout.write(JSON.stringify(reap(resolve(need(flags, 'dir')), ids)) + '\n');
        code = 0;
        break;
      }
      case 'version':
        process.stdout.write(`${AGENT_VERSION} protocol ${AGENT_PROTOCOL_VERSION}\n`);
        code = 0;
        break;
      default:
        throw new UsageError(`usage: agent start|serve --dir NODE_DIR [--listen-tcp HOST:PORT --token-file F] | reap --dir NODE_DIR --jobs ID,... | pipe --socket PATH | version`);
    }
  } catch (err) {
    process.stderr.write(`aloft-agent: ${(err as Error).message}\n`);
    code = err instanceof UsageError ? 2 : 1;
  }
  if (code >= 0) {
    process.exitCode = code;
    // stdout of a pipe may still be flushing; exit once it has.
    if (process.stdout.writableLength === 0) process.exit(code);
    else process.stdout.once('drain', () => process.exit(code));
  }
}

void main(process.argv.slice(2));

