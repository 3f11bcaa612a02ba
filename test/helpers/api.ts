// Raw calls to a daemon's HTTP API over its unix socket, for tests that send what no client would.
// In the remote run (test/helpers/remote.ts) they go to the home's API server over TCP with its
// token, as a remote client's would.
import http from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import { remoteApiOf } from './remote.js';

/** http.request options reaching `home`'s daemon (or its API server in the remote run) at `path`. */
export function apiRequest(home: string, path: string, headers: Record<string, string> = {}): http.RequestOptions {
  const remote = remoteApiOf(home);
  if (!remote) return { socketPath: join(home, 'daemon.sock'), path, headers };
  const u = new URL(remote.url);
  return { host: u.hostname, port: Number(u.port), path, headers: { authorization: `Bearer ${remote.token}`, ...headers } };
}

/** A websocket to `home`'s event stream (`query` without '?'), over the unix socket or, remote, TCP with the token. */
export function eventsSocket(home: string, query: string): WebSocket {
  const remote = remoteApiOf(home);
  if (!remote) return new WebSocket(`ws+unix://${join(home, 'daemon.sock')}:/v1/events?${query}`);
  return new WebSocket(`${remote.url.replace(/^http/, 'ws')}/v1/events?${query}`, { headers: { authorization: `Bearer ${remote.token}` } });
}

export interface RawAnswer {
  status: number;
  body: any;
  text: string;
}

/**
 * POST /v1/rpc/<method> with `body` (a string is sent as is); rejects after `timeoutMs`. `token`:
 * another caller's (remote run; a.adminEnv().ALOFT_API_TOKEN for an admin).
 */
export async function rpc(home: string, method: string, body: unknown, timeoutMs = 10_000, token?: string): Promise<RawAnswer> {
  // Over TCP a token is rate-limited: a 429 is waited out (Retry-After) as the CLI does, and the
  // answer the test is about is the one after it.
  for (;;) {
    const r = await rpcOnce(home, method, body, timeoutMs, token);
    if (r.status !== 429) return r;
    await new Promise((res) => setTimeout(res, 1000 * Number(r.headers['retry-after'] ?? '1')));
  }
}

function rpcOnce(home: string, method: string, body: unknown, timeoutMs: number, token?: string): Promise<RawAnswer & { headers: http.IncomingHttpHeaders }> {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { ...apiRequest(home, `/v1/rpc/${method}`, { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }), method: 'POST' },
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
          resolve({ status: res.statusCode ?? 0, body: parsed, text, headers: res.headers });
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
