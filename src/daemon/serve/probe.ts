// SkyServe's readiness probe: GET (or POST with post_data as JSON) of the readiness path on the
// replica, ready when it answers 200 within timeout_seconds.
import http from 'node:http';
import type { ReadinessProbe } from '../../spec/types.js';

export interface ProbeResult {
  ok: boolean;
  /** what went wrong, one line */
  detail?: string;
}

export function probeReplica(url: string, p: ReadinessProbe): Promise<ProbeResult> {
  const body = p.postData !== undefined ? JSON.stringify(p.postData) : undefined;
  const target = new URL(p.path, url);
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: target.hostname,
        port: Number(target.port || 80),
        path: target.pathname + target.search,
        method: body !== undefined ? 'POST' : 'GET',
        agent: false,
        headers: {
          ...(p.headers ?? {}),
          ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode === 200 ? { ok: true } : { ok: false, detail: `${req.method} ${p.path} answered ${res.statusCode}` }));
        res.once('error', () => resolve({ ok: false, detail: `${req.method} ${p.path}: the response broke off` }));
      },
    );
    req.setTimeout(p.timeoutSeconds * 1000, () => req.destroy(Object.assign(new Error(`no answer within ${p.timeoutSeconds}s`), { code: 'TIMEOUT' })));
    req.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, detail: `${body !== undefined ? 'POST' : 'GET'} ${p.path}: ${err.code === 'TIMEOUT' ? err.message : (err.code ?? err.message)}` }));
    req.end(body);
  });
}
