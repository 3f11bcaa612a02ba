// Raw calls to a daemon's HTTP API over its unix socket, for tests that send what no client would.
import http from 'node:http';
import { join } from 'node:path';

export interface RawAnswer {
  status: number;
  body: any;
  text: string;
}

/** POST /v1/rpc/<method> with `body` (a string is sent as is); rejects after `timeoutMs`. */
export function rpc(home: string, method: string, body: unknown, timeoutMs = 10_000): Promise<RawAnswer> {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath: join(home, 'daemon.sock'), path: `/v1/rpc/${method}`, method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer to ${method} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** A valid Task for the API (what the CLI sends for `-- CMD`), with `patch` on top. */
export function apiTask(patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    numNodes: 1,
    resources: { mode: 'single', candidates: [{ infra: {}, useSpot: false, ports: [], labels: {} }] },
    envs: {},
    secrets: {},
    fileMounts: [],
    run: 'true',
    ...patch,
  };
}
