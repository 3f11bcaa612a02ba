// The Transport of a pod: commands through the exec API (bash in the node's home), uploads as a
// one-way tar stream into `tar -x` (no rsync: the seed fork replaced rsync over exec, which
// deadlocks at teardown, with exactly this), and the agent socket through an exec'd byte pipe.
// On channel protocol v4, stdin cannot be closed without closing the connection (and losing the
// output), so input is framed (u32 length + bytes, a zero length ends it) and unframed in the pod
// by the runtime's node before it reaches the command.
import { Duplex, type Readable } from 'node:stream';
import { posix } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { shellQuote } from '../../util/shell.js';
import type { ExecOptions, ExecResult, Transport } from '../types.js';
import { commandScript } from '../command-script.js';
import { ExecLostError, offeredProtocols, openExec, V4, type ExecSession, type ExecTarget } from './exec.js';
import { NODE_BIN } from './pod-spec.js';

export interface PodRef {
  context: string;
  server: string;
  kc: KubeConfig;
  namespace: string;
  pod: string;
  container: string;
  /** the node's home in the pod (absolute) */
  home: string;
  env?: Record<string, string>;
}

// Reads framed stdin, writes the payload to stdout, exits at the zero-length frame.
const UNFRAME_JS = String.raw`let q=[],n=0;const out=process.stdout;function pump(){for(;;){if(n<4)return;let h=Buffer.concat(q);q=[h];const len=h.readUInt32BE(0);if(len===0){process.stdin.pause();out.end(()=>process.exit(0));return}if(n<4+len)return;const ok=out.write(h.subarray(4,4+len));q=[h.subarray(4+len)];n-=4+len;if(!ok){process.stdin.pause();out.once('drain',()=>{process.stdin.resume();pump()});return}}}process.stdin.on('data',d=>{q.push(d);n+=d.length;pump()});process.stdin.on('end',()=>out.end())`;

// A byte pipe to a unix socket in the pod (the agent's), run by the runtime's node.
const PIPE_JS = String.raw`const s=require('net').connect(process.argv[1]);s.on('connect',()=>{process.stdin.pipe(s);s.pipe(process.stdout)});s.on('error',e=>{process.stderr.write('cannot reach agent at '+process.argv[1]+': '+e.message+'\n');process.exit(1)});s.on('close',()=>process.exit(0));process.stdin.on('end',()=>s.end())`;

/** Which protocol each API server speaks (learnt on the first exec; stdin framing depends on it). */
const negotiated = new Map<string, string>();

function frame(chunk: Buffer): Buffer {
  const h = Buffer.allocUnsafe(4);
  h.writeUInt32BE(chunk.length, 0);
  return Buffer.concat([h, chunk]);
}

const SIGNALLED = 128 + 9;

export class KubernetesTransport implements Transport {
  constructor(readonly ref: PodRef) {}

  private target(): ExecTarget {
    return { kc: this.ref.kc, namespace: this.ref.namespace, pod: this.ref.pod, container: this.ref.container };
  }

  private protoKey(): string {
    return `${this.ref.server}\0${offeredProtocols().join(',')}`;
  }

  /** The protocol this server speaks, learnt with a no-op exec when not known yet. */
  async protocol(): Promise<string> {
    const known = negotiated.get(this.protoKey());
    if (known) return known;
    const s = await openExec(this.target(), ['true'], { stdin: false });
    negotiated.set(this.protoKey(), s.protocol);
    await s.done.catch(() => undefined);
    return s.protocol;
  }

  /**
   * The script bash runs: the node's environment, its home as working directory, a remote timeout.
   * PATH stays the image's: aloft's own node is always called by its full path, so jobs (which
   * inherit the agent's environment) see the image as it is.
   */
  wrap(command: string, env: Record<string, string> = {}, timeoutMs?: number): string {
    return commandScript(command, { env: { ...this.ref.env, ...env }, home: this.ref.home, timeoutMs });
  }

  async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const script = this.wrap(command, opts.env, opts.timeoutMs);
    const input = opts.stdin;
    const hasStdin = input !== undefined;
    const framed = hasStdin && (await this.protocol()) === V4;
    const argv = framed ? ['bash', '-c', `${NODE_BIN} -e ${shellQuote(UNFRAME_JS)} | bash -c ${shellQuote(script)}`] : ['bash', '-c', script];
    const s = await openExec(this.target(), argv, { stdin: hasStdin });
    negotiated.set(this.protoKey(), s.protocol);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    s.onStdout((c) => (opts.onStdout ? opts.onStdout(c) : out.push(c)));
    s.onStderr((c) => (opts.onStderr ? opts.onStderr(c) : err.push(c)));
    let killed = false;
    const kill = () => {
      killed = true;
      s.close();
    };
    // The remote `timeout` normally ends the command; this is the backstop.
    const timer = opts.timeoutMs ? setTimeout(kill, opts.timeoutMs + 3000) : undefined;
    opts.signal?.addEventListener('abort', kill, { once: true });
    if (hasStdin) void this.feed(s, input!, framed).catch(() => kill());
    try {
      const st = await s.done;
      const stderr = Buffer.concat(err).toString('utf8') + (st.message ? `${st.message}\n` : '');
      return { code: st.code, stdout: Buffer.concat(out).toString('utf8'), stderr };
    } catch (e) {
      if (killed) return { code: SIGNALLED, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      throw e;
    } finally {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', kill);
    }
  }

  private async feed(s: ExecSession, input: string | Buffer | Readable, framed: boolean): Promise<void> {
    const put = (b: Buffer) => (b.length ? s.write(framed ? frame(b) : b) : Promise.resolve());
    if (typeof input === 'string' || Buffer.isBuffer(input)) {
      const b = Buffer.from(input);
      for (let i = 0; i < b.length; i += 256 * 1024) await put(b.subarray(i, i + 256 * 1024));
    } else {
      for await (const chunk of input) await put(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
    }
    if (framed) await s.write(frame(Buffer.alloc(0)));
    else s.endStdin();
  }

  async upload(tar: Readable, destDir: string): Promise<void> {
    const d = shellQuote(destDir);
    // One way, like the seed fork's fix for rsync over exec; files belong to the pod's user.
    const r = await this.exec(`mkdir -p ${d} && tar -xf - -C ${d} --no-same-owner`, { stdin: tar });
    if (r.code !== 0) throw new Error(`upload to ${destDir} in pod ${this.ref.pod} failed: ${r.stderr.trim().split('\n').pop() || `exit code ${r.code}`}`);
  }

  async connect(socketPath: string): Promise<Duplex> {
    const path = posix.isAbsolute(socketPath) ? socketPath : posix.join(this.ref.home, socketPath);
    const s = await openExec(this.target(), [NODE_BIN, '-e', PIPE_JS, path], { stdin: true });
    let stderr = '';
    let settled = false;
    const duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        s.write(chunk).then(() => cb(), cb);
      },
      final(cb) {
        // v4 cannot close stdin alone: the pipe ends with the connection instead.
        if (!s.endStdin()) s.close();
        cb();
      },
      destroy(err, cb) {
        s.close();
        cb(err);
      },
    });
    s.onStdout((c) => duplex.push(c));
    s.onStderr((c) => (stderr += c.toString('utf8')));
    s.done.then(
      (st) => {
        settled = true;
        if (st.code !== 0) duplex.destroy(new Error(stderr.trim() || st.message || `agent pipe in pod ${this.ref.pod} exited with ${st.code}`));
        else duplex.push(null);
      },
      (e: Error) => {
        settled = true;
        duplex.destroy(e instanceof ExecLostError ? e : new Error(String(e)));
      },
    );
    void settled;
    return duplex;
  }

  close(): void {}
}
