// Shared by the serving tests: a service's state through the CLI, and a client that hammers an
// endpoint and counts what failed.
import http from 'node:http';
import type { ReplicaRecord, ServiceRecord } from '../../src/protocol/model.js';
import { ROOT, waitFor, type AloftEnv } from './cli.js';
import { join } from 'node:path';

export const SERVE_FIXTURES = join(ROOT, 'test', 'fixtures', 'serve');

export async function services(a: AloftEnv): Promise<ServiceRecord[]> {
  const r = await a.run(['serve', 'status', '-o', 'json']);
  if (r.code !== 0) throw new Error(`serve status failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ServiceRecord[];
}

export async function service(a: AloftEnv, name: string): Promise<ServiceRecord | undefined> {
  return (await services(a)).find((s) => s.name === name);
}

export const ready = (s: ServiceRecord | undefined): ReplicaRecord[] => (s?.replicas ?? []).filter((r) => r.status === 'READY');

/** Waits until the service satisfies `ok`; on a timeout, says what the controller did. */
export async function waitService(a: AloftEnv, name: string, ok: (s: ServiceRecord) => boolean, what: string, timeoutMs = 120_000): Promise<ServiceRecord> {
  try {
    return await waitFor(async () => {
      const s = await service(a, name);
      return s && ok(s) ? s : undefined;
    }, timeoutMs, what);
  } catch (err) {
    const log = (await a.run(['serve', 'logs', '--controller', name, '--no-follow']).catch(() => ({ stdout: '' }))).stdout;
    throw new Error(`${String(err)}\nservice: ${JSON.stringify(await service(a, name).catch(() => undefined))}\ncontroller log:\n${log.split('\n').slice(-40).join('\n')}`);
  }
}

export function get(url: string, agent?: http.Agent, timeoutMs = 60_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/**
 * `workers` clients sending GETs back to back (kept-alive connections, as real clients do) until
 * stopped; every failure (a refused connection, a 5xx, a broken response) is kept.
 */
export function hammer(url: string, workers = 4, path = '/') {
  const agent = new http.Agent({ keepAlive: true, maxSockets: workers });
  const out = { ok: 0, failures: [] as string[], bodies: new Map<string, number>(), stopped: false };
  const loops = Array.from({ length: workers }, async () => {
    while (!out.stopped) {
      try {
        const r = await get(url + path, agent);
        if (r.status !== 200) out.failures.push(`${r.status} ${r.body.slice(0, 200)}`);
        else {
          out.ok++;
          const key = r.body.replace(/,?"pid":\d+/, '');
          out.bodies.set(key, (out.bodies.get(key) ?? 0) + 1);
        }
      } catch (err) {
        out.failures.push(String(err));
      }
    }
  });
  return {
    stats: out,
    /** resolves once `n` more requests have succeeded */
    async more(n: number, timeoutMs = 60_000) {
      const target = out.ok + n;
      await waitFor(() => out.ok >= target, timeoutMs, `${n} more answered requests (failures so far: ${out.failures.slice(0, 3).join('; ')})`);
    },
    async stop() {
      out.stopped = true;
      await Promise.all(loops);
      agent.destroy();
      return out;
    },
  };
}
