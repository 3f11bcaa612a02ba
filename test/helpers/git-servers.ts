// Git servers on loopback for the git-workdir tests: `git daemon` (git://, public) and git's own
// smart-HTTP backend behind HTTP Basic auth (a private https-style repository that needs a token).
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { closedPort, waitFor } from './cli.js';
import net from 'node:net';

export interface GitDaemon {
  url: (repo: string) => string;
  stop(): Promise<void>;
}

/** `git daemon` serving every repository under `root` read-only. */
export async function startGitDaemon(root: string): Promise<GitDaemon> {
  const port = await closedPort();
  const child: ChildProcess = spawn('git', ['daemon', '--reuseaddr', '--export-all', `--base-path=${root}`, '--listen=127.0.0.1', `--port=${port}`, root], {
    stdio: 'ignore',
    detached: true,
  });
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.end();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      }),
    15_000,
    'git daemon',
  );
  return {
    url: (repo) => `git://127.0.0.1:${port}/${repo}`,
    async stop() {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* gone */
      }
    },
  };
}

export interface GitHttp {
  url: (repo: string) => string;
  /** requests refused for want of the token */
  refused: number;
  stop(): Promise<void>;
}

/** git http-backend (CGI) behind Basic auth: any user name, the password must be `token`. */
export async function startGitHttp(root: string, token: string): Promise<GitHttp> {
  const state = { refused: 0 };
  const server = http.createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const pass = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString().split(':').slice(1).join(':') : undefined;
    if (pass !== token) {
      state.refused++;
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="aloft-test"' }).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
        REMOTE_USER: 'git',
        REMOTE_ADDR: '127.0.0.1',
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let sent = false;
    cgi.stdout.on('data', (c: Buffer) => {
      if (sent) {
        res.write(c);
        return;
      }
      head = Buffer.concat([head, c]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      sent = true;
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on('end', () => res.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (repo) => `http://127.0.0.1:${port}/${repo}`,
    get refused() {
      return state.refused;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
