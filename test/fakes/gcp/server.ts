// The GCE REST API v1 over plain http (`/compute/v1/projects/...`), as @google-cloud/compute and
// gcloud call it: JSON bodies, the API's error envelope, list pagination and filters, zonal and
// global operations with `wait`. `/_fake/...` lets a test or a person at `npm run fake -- gcp`
// inject zone errors, set a region's CPU quota and preempt SPOT instances.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkBearer, type ServiceAccount } from './auth.js';
import { parseFilter } from './filter.js';
import { ApiError, newId, type GceModel, type Injection, type Json } from './model.js';

const IMAGE_PROJECTS = new Set(['ubuntu-os-cloud', 'ubuntu-os-accelerator-images', 'deeplearning-platform-release', 'debian-cloud']);

function page<T>(items: T[], q: URLSearchParams): { items: T[]; nextPageToken?: string } {
  const max = Math.min(Number(q.get('maxResults') ?? 500) || 500, 500);
  const start = Number(q.get('pageToken') ?? 0) || 0;
  const slice = items.slice(start, start + max);
  return start + max < items.length ? { items: slice, nextPageToken: String(start + max) } : { items: slice };
}

function filtered<T extends Json>(items: T[], q: URLSearchParams): T[] {
  let pred;
  try {
    pred = parseFilter(q.get('filter') ?? undefined);
  } catch (err) {
    throw new ApiError(400, 'invalid', (err as Error).message);
  }
  return items.filter((i) => pred(i));
}

/** Internal fields (leading `_`) never leave the fake. */
function publicView(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(publicView);
  if (v && typeof v === 'object') {
    const out: Json = {};
    for (const [k, x] of Object.entries(v)) if (!k.startsWith('_')) out[k] = publicView(x);
    return out;
  }
  return v;
}

export interface GceServer {
  server: http.Server;
  port: number;
  /** `http://127.0.0.1:PORT/compute/v1/` */
  endpoint: string;
  /** every API call as METHOD path (tests count the calls status -r makes) */
  calls: string[];
  close(): Promise<void>;
}

export async function serveGce(model: GceModel, sa: ServiceAccount, opts: { host?: string; waitMaxMs?: number } = {}): Promise<GceServer> {
  const calls: string[] = [];
  const p = model.project;
  const L = (path: string) => model.link(path);

  const routes: Array<[string, RegExp, (m: string[], q: URLSearchParams, body: Json) => unknown]> = [
    ['GET', /^projects\/([^/]+)$/, () => ({
      kind: 'compute#project', id: '1234567890', name: p, selfLink: L(''), commonInstanceMetadata: { kind: 'compute#metadata', items: [] },
      defaultServiceAccount: `123-compute@developer.gserviceaccount.com`, xpnProjectStatus: 'UNSPECIFIED_XPN_PROJECT_STATUS', defaultNetworkTier: 'PREMIUM',
    })],
    ['GET', /^projects\/[^/]+\/regions$/, (_m, q) => ({ kind: 'compute#regionList', ...page(filtered(model.regions().map(region), q), q), selfLink: L('regions') })],
    ['GET', /^projects\/[^/]+\/regions\/([^/]+)$/, ([r]) => {
      if (!model.regions().includes(r!)) throw new ApiError(404, 'notFound', `The resource 'projects/${p}/regions/${r}' was not found`);
      return region(r!);
    }],
    ['GET', /^projects\/[^/]+\/zones$/, (_m, q) => ({ kind: 'compute#zoneList', ...page(filtered([...model.zones.keys()].sort().map(zone), q), q), selfLink: L('zones') })],
    ['GET', /^projects\/[^/]+\/zones\/([^/]+)$/, ([z]) => (model.zone(z!), zone(z!))],
    ['GET', /^projects\/[^/]+\/zones\/([^/]+)\/machineTypes\/([^/]+)$/, ([z, t]) => {
      const mt = model.zone(z!).machineTypes.get(t!);
      if (!mt) throw new ApiError(404, 'notFound', `The resource 'projects/${p}/zones/${z}/machineTypes/${t}' was not found`);
      return { kind: 'compute#machineType', id: newId(), name: t, zone: z, guestCpus: mt.cpus, memoryMb: Math.round(mt.memGiB * 1024), selfLink: L(`zones/${z}/machineTypes/${t}`) };
    }],
    ['GET', /^projects\/([^/]+)\/global\/images\/family\/([^/]+)$/, ([ip, f]) => image(ip!, f!)],
    ['GET', /^projects\/([^/]+)\/zones\/[^/]+\/imageFamilyViews\/([^/]+)$/, ([ip, f]) => ({ kind: 'compute#imageFamilyView', image: image(ip!, f!) })],
    ['GET', /^projects\/[^/]+\/zones\/([^/]+)\/instances$/, ([z], q) => {
      model.zone(z!);
      const all = [...model.instances.values()].filter((i) => i.zone === z);
      return { kind: 'compute#instanceList', id: `projects/${p}/zones/${z}/instances`, ...page(filtered(all, q), q), selfLink: L(`zones/${z}/instances`) };
    }],
    ['POST', /^projects\/[^/]+\/zones\/([^/]+)\/instances$/, ([z], _q, body) => model.insertInstance(z!, body)],
    ['GET', /^projects\/[^/]+\/zones\/([^/]+)\/instances\/([^/]+)$/, ([z, n]) => model.instance(z!, n!)],
    ['DELETE', /^projects\/[^/]+\/zones\/([^/]+)\/instances\/([^/]+)$/, ([z, n]) => model.deleteInstance(z!, n!)],
    ['POST', /^projects\/[^/]+\/zones\/([^/]+)\/instances\/([^/]+)\/stop$/, ([z, n]) => model.stopInstance(z!, n!)],
    ['POST', /^projects\/[^/]+\/zones\/([^/]+)\/instances\/([^/]+)\/start$/, ([z, n]) => model.startInstance(z!, n!)],
    ['POST', /^projects\/[^/]+\/zones\/([^/]+)\/instances\/([^/]+)\/setLabels$/, ([z, n], _q, body) => {
      const inst = model.instance(z!, n!);
      const op = model.newOperation(`zones/${z}`, 'setLabels', inst.selfLink as string, inst.id);
      model.run(`zones/${z}`, op, async () => void (inst.labels = { ...((body.labels ?? {}) as Record<string, string>) }));
      return op;
    }],
    ['GET', /^projects\/[^/]+\/aggregated\/instances$/, (_m, q) => {
      const all = filtered([...model.instances.values()], q);
      const items: Json = {};
      for (const z of [...model.zones.keys()].sort()) {
        const mine = all.filter((i) => i.zone === z);
        items[`zones/${z}`] = mine.length
          ? { instances: mine }
          : { warning: { code: 'NO_RESULTS_ON_PAGE', message: 'There are no results for scope \'zones/' + z + '\' on this page.', data: [{ key: 'scope', value: `zones/${z}` }] } };
      }
      return { kind: 'compute#instanceAggregatedList', id: `projects/${p}/aggregated/instances`, items, selfLink: L('aggregated/instances') };
    }],
    ['GET', /^projects\/[^/]+\/aggregated\/operations$/, (_m, q) => {
      const items: Json = {};
      for (const [key, op] of model.operations) {
        const scope = key.slice(0, key.lastIndexOf('/'));
        if (!filtered([op], q).length) continue;
        const entry = (items[scope] ??= { operations: [] }) as { operations: Json[] };
        entry.operations.push(op);
      }
      return { kind: 'compute#operationAggregatedList', id: `projects/${p}/aggregated/operations`, items, selfLink: L('aggregated/operations') };
    }],
    ['GET', /^projects\/[^/]+\/zones\/([^/]+)\/operations$/, ([z], q) => {
      const ops = [...model.operations.entries()].filter(([k]) => k.startsWith(`zones/${z}/`)).map(([, o]) => o);
      return { kind: 'compute#operationList', ...page(filtered(ops, q), q), selfLink: L(`zones/${z}/operations`) };
    }],
    ['GET', /^projects\/[^/]+\/zones\/([^/]+)\/operations\/([^/]+)$/, ([z, o]) => model.getOperation(`zones/${z}`, o!)],
    ['POST', /^projects\/[^/]+\/zones\/([^/]+)\/operations\/([^/]+)\/wait$/, ([z, o]) => model.waitOperation(`zones/${z}`, o!, opts.waitMaxMs ?? 30_000)],
    ['GET', /^projects\/[^/]+\/global\/operations\/([^/]+)$/, ([o]) => model.getOperation('global', o!)],
    ['POST', /^projects\/[^/]+\/global\/operations\/([^/]+)\/wait$/, ([o]) => model.waitOperation('global', o!, opts.waitMaxMs ?? 30_000)],
    ['GET', /^projects\/[^/]+\/global\/firewalls$/, (_m, q) => ({ kind: 'compute#firewallList', ...page(filtered([...model.firewalls.values()], q), q), selfLink: L('global/firewalls') })],
    ['POST', /^projects\/[^/]+\/global\/firewalls$/, (_m, _q, body) => model.insertFirewall(body)],
    ['GET', /^projects\/[^/]+\/global\/firewalls\/([^/]+)$/, ([n]) => model.firewall(n!)],
    ['DELETE', /^projects\/[^/]+\/global\/firewalls\/([^/]+)$/, ([n]) => model.deleteFirewall(n!)],
    ['PATCH', /^projects\/[^/]+\/global\/firewalls\/([^/]+)$/, ([n], _q, body) => model.patchFirewall(n!, body)],
    ['GET', /^projects\/[^/]+\/global\/networks\/([^/]+)$/, ([n]) => {
      if (n !== 'default') throw new ApiError(404, 'notFound', `The resource 'projects/${p}/global/networks/${n}' was not found`);
      return { kind: 'compute#network', id: '1', name: 'default', autoCreateSubnetworks: true, selfLink: L('global/networks/default') };
    }],
  ];

  function region(r: string): Json {
    const zs = [...model.zones.values()].filter((z) => z.region === r).map((z) => L(`zones/${z.zone}`));
    return { kind: 'compute#region', id: newId(), name: r, status: 'UP', zones: zs, selfLink: L(`regions/${r}`), quotas: [{ metric: 'CPUS', limit: model.cpuQuota.get(r) ?? 1000, usage: 0 }] };
  }
  function zone(z: string): Json {
    return { kind: 'compute#zone', id: newId(), name: z, status: 'UP', region: L(`regions/${model.zones.get(z)!.region}`), selfLink: L(`zones/${z}`), availableCpuPlatforms: ['Intel Cascade Lake'] };
  }
  function image(project: string, family: string): Json {
    if (!IMAGE_PROJECTS.has(project)) throw new ApiError(404, 'notFound', `The resource 'projects/${project}/global/images/family/${family}' was not found`);
    const name = `${family}-v20261101`;
    return {
      kind: 'compute#image', id: newId(), name, family, status: 'READY', diskSizeGb: '10', architecture: 'X86_64',
      selfLink: `${model.base()}projects/${project}/global/images/${name}`, sourceType: 'RAW',
    };
  }

  function control(method: string, path: string, body: Json): unknown {
    // /_fake/zones/Z/fail {code, times}   DELETE /_fake/zones/Z/fail
    let m = /^zones\/([^/]+)\/fail$/.exec(path);
    if (m) {
      model.zone(m[1]!);
      if (method === 'DELETE') model.zoneFailures.delete(m[1]!);
      else model.zoneFailures.set(m[1]!, { code: (body.code as Injection['code']) ?? 'ZONE_RESOURCE_POOL_EXHAUSTED', times: body.times as number | undefined });
      return { ok: true };
    }
    m = /^regions\/([^/]+)\/quota$/.exec(path);
    if (m) {
      if (method === 'DELETE') model.cpuQuota.delete(m[1]!);
      else model.cpuQuota.set(m[1]!, Number(body.cpus));
      return { ok: true };
    }
    m = /^zones\/([^/]+)\/instances\/([^/]+)\/preempt$/.exec(path);
    if (m) return model.preempt(m[1]!, m[2]!).then(() => ({ ok: true }));
    if (path === 'attempts') return model.attempts;
    if (path === 'calls') return { count: calls.length, calls: calls.slice(-200) };
    throw new ApiError(404, 'notFound', `no fake control ${path}`);
  }

  /** One API call; the plain server and the batch endpoint both go through it. */
  async function handle(method: string, rawUrl: string, authorization: string | undefined, text: string): Promise<{ status: number; body: unknown }> {
    const url = new URL(rawUrl, 'http://x');
    let body: Json = {};
    try {
      if (text) body = JSON.parse(text) as Json;
    } catch {
      return { status: 400, body: { error: { code: 400, message: 'Invalid JSON payload received.', errors: [{ message: 'Invalid JSON payload received.', domain: 'global', reason: 'parseError' }], status: 'INVALID_ARGUMENT' } } };
    }
    try {
      if (url.pathname.startsWith('/_fake/')) return { status: 200, body: await control(method, url.pathname.slice(7), body) };
      if (!url.pathname.startsWith('/compute/v1/')) throw new ApiError(404, 'notFound', `no API at ${url.pathname}`);
      const denied = checkBearer(authorization, sa);
      if (denied) {
        return { status: 401, body: { error: { code: 401, message: denied, errors: [{ message: denied, domain: 'global', reason: 'authError', location: 'Authorization', locationType: 'header' }], status: 'UNAUTHENTICATED' } } };
      }
      const path = url.pathname.slice('/compute/v1/'.length).replace(/\/$/, '');
      calls.push(`${method} ${path}`);
      const proj = /^projects\/([^/]+)/.exec(path)?.[1];
      if (proj && proj !== p && !(IMAGE_PROJECTS.has(proj) && method === 'GET')) {
        throw new ApiError(404, 'notFound', `The resource 'projects/${proj}' was not found`);
      }
      for (const [m, re, fn] of routes) {
        const hit = re.exec(path);
        if (hit && m === method) return { status: 200, body: publicView(await fn(hit.slice(1).map(decodeURIComponent), url.searchParams, body)) };
      }
      throw new ApiError(404, 'notFound', `The requested URL /compute/v1/${path} was not found on this server (${method}).`);
    } catch (err) {
      if (err instanceof ApiError) {
        const status = { 404: 'NOT_FOUND', 409: 'ALREADY_EXISTS', 400: 'INVALID_ARGUMENT' }[err.status] ?? 'FAILED_PRECONDITION';
        return { status: err.status, body: { error: { code: err.status, message: err.message, errors: [{ message: err.message, domain: 'global', reason: err.reason }], status } } };
      }
      return { status: 500, body: { error: { code: 500, message: String((err as Error).message), errors: [{ message: String(err), domain: 'global', reason: 'backendError' }] } } };
    }
  }

  /** `POST /batch/compute/v1`: multipart/mixed of application/http requests (gcloud sends several instances this way). */
  async function batch(contentType: string, text: string, authorization: string | undefined): Promise<{ type: string; body: string }> {
    const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
    if (!boundary) throw new ApiError(400, 'invalid', 'multipart/mixed without a boundary');
    const parts = text.split(`--${boundary}`).slice(1).filter((x) => !x.startsWith('--'));
    const out: string[] = [];
    for (const part of parts) {
      const norm = part.replace(/\r\n/g, '\n').replace(/^\n/, '');
      const [outer, ...rest] = norm.split('\n\n');
      const id = /content-id:\s*<?([^>\n]+)>?/i.exec(outer ?? '')?.[1] ?? '';
      const inner = rest.join('\n\n');
      const [head, ...bodyParts] = inner.split('\n\n');
      const [requestLine, ...headers] = (head ?? '').split('\n');
      const [method, target] = (requestLine ?? '').split(' ');
      const auth = headers.find((h) => /^authorization:/i.test(h))?.replace(/^authorization:\s*/i, '') ?? authorization;
      const r = await handle(method ?? 'GET', target ?? '/', auth, bodyParts.join('\n\n').trim());
      const json = JSON.stringify(r.body);
      out.push(
        `--batch_aloft\r\nContent-Type: application/http\r\nContent-ID: <response-${id}>\r\n\r\n` +
          `HTTP/1.1 ${r.status} ${http.STATUS_CODES[r.status] ?? ''}\r\nContent-Type: application/json; charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}\r\n`,
      );
    }
    return { type: 'multipart/mixed; boundary=batch_aloft', body: out.join('') + '--batch_aloft--\r\n' };
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const type = req.headers['content-type'] ?? '';
      if ((req.url ?? '').startsWith('/batch/') && type.startsWith('multipart/mixed')) {
        try {
          const b = await batch(type, text, req.headers.authorization);
          res.writeHead(200, { 'content-type': b.type, 'content-length': Buffer.byteLength(b.body) });
          return res.end(b.body);
        } catch (err) {
          const r = { error: { code: 400, message: (err as Error).message } };
          return void res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(r));
        }
      }
      const r = await handle(req.method ?? 'GET', req.url ?? '/', req.headers.authorization, text);
      const json = JSON.stringify(r.body);
      res.writeHead(r.status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(json) });
      res.end(json);
    });
  });
  // Long-lived keep-alive like Google's front ends (Node's 5 s default races clients reusing sockets).
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, opts.host ?? '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    endpoint: `http://127.0.0.1:${port}/compute/v1/`,
    calls,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
