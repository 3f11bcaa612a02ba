// The system tools node isolation drives (util-linux's unshare/nsenter/mount, iproute2's ip, the
// firewall's nft or iptables), found on PATH or in the sbin directories a root login has.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

const found = new Map<string, string | undefined>();

/** Absolute path of a tool, or undefined when it is not installed. */
export function tool(name: string): string | undefined {
  if (found.has(name)) return found.get(name);
  let path: string | undefined;
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), ...SBIN]) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      path = join(dir, name);
      break;
    } catch {
      /* not here */
    }
  }
  found.set(name, path);
  return path;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool (never through a shell unless it is bash itself); never rejects. */
export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      tool(cmd) ?? cmd,
      args,
      // Scripts it runs call mount, pivot_root and ip by name: sbin on PATH, as for a root login.
      { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 4 << 20, env: { ...process.env, PATH: [process.env.PATH, ...SBIN].filter(Boolean).join(delimiter) } },
      (err, stdout, stderr) => {
        const e = err as (Error & { code?: unknown; killed?: boolean; signal?: string }) | null;
        const code = e ? (typeof e.code === 'number' ? e.code : 1) : 0;
        const why = e?.killed ? `${cmd} did not finish in ${Math.round((opts.timeoutMs ?? 30_000) / 1000)}s` : e?.signal ? `${cmd} was killed by ${e.signal}` : e && typeof e.code !== 'number' ? e.message : '';
        resolve({ code, stdout: String(stdout), stderr: String(stderr) || why || (code !== 0 ? `${cmd} exited with ${code}` : '') });
      },
    );
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
  });
}

/** Runs a tool and throws with its own words when it fails. */
export async function must(what: string, cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${what}: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ') || `${cmd} exited with ${r.code}`}`);
  return r.stdout;
}
