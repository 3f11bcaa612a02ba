// The HTTP side of the fake API server: discovery, REST routing for /api/v1, list (with label and
// field selectors, limit/continue), watch, server-side Tables, pod logs, and the websocket
// upgrades for exec and port-forward. Plain http; a bearer token is checked like a real server
// (401 otherwise).
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type net from 'node:net';
import { WebSocketServer } from 'ws';
import { parse as parseYaml } from 'yaml';
import type { FakeContext } from './context.js';
import type { ControlPlane } from './controllers.js';
import type { PodRunner } from './pod-runner.js';
import type { ContainerRuntimeState } from './pod-status.js';
import { aggregatedDiscovery, apiGroupList, apiVersions, findResource, openapiV3CoreV1, openapiV3Index, resourceList, versionInfo, type ResourceDef } from './resources.js';
import type { Rest } from './rest.js';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, SelectorError } from './selectors.js';
import { ApiError, type KObj } from './store.js';
import { chooseProtocol, EXEC_PROTOCOLS, PORTFORWARD_PROTOCOLS, serveExec, servePortForward } from './streams.js';
import { toTable, wantsTable, type IncludeObject } from './tables.js';
import { serveWatch } from './watch.js';

const truthy = (v: string | null) => v === 'true' || v === '1';

interface Route {
  r: ResourceDef;
  ns?: string;
  name?: string;
  sub?: string;
}

export class ApiServer {
  private readonly http: http.Server;
  private readonly wss = new WebSocketServer({ noServer: true, handleProtocols: (_offered, req) => (req as IncomingMessage & { chosen?: string | false }).chosen ?? false });
  private readonly open = new Set<() => void>();

  constructor(
    private readonly ctx: FakeContext,
    private readonly control: ControlPlane,
    private readonly rest: Rest,
    private readonly token: string,
  ) {
    this.http = http.createServer((req, res) => void this.handle(req, res));
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket as net.Socket, head));
  }

  listen(host: string, port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => resolve((this.http.address() as net.AddressInfo).port));
    });
  }

  async close(): Promise<void> {
    for (const stop of this.open) stop();
    for (const ws of this.wss.clients) ws.terminate();
    this.http.closeAllConnections();
    await new Promise<void>((r) => this.http.close(() => r()));
  }

  // kubectl (client-go) never sends a bearer token to a plain-http server, so a request without
  // credentials is served (like an anonymous user with full rights); a wrong token is refused.
  private authorized(req: IncomingMessage): boolean {
    const h = req.headers.authorization;
    return h === undefined || h === `Bearer ${this.token}`;
  }

  private static send(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
    res.end(text);
  }

  private static fail(res: ServerResponse, err: unknown): void {
    const e = err instanceof ApiError ? err : err instanceof SelectorError ? ApiError.badRequest(err.message) : new ApiError(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`);
    if (!(err instanceof ApiError) && !(err instanceof SelectorError)) process.stderr.write(`fake kube: ${(err as Error).stack}\n`);
    if (res.headersSent) return void res.end();
    ApiServer.send(res, e.code, e.toStatus());
  }

  private route(parts: string[]): Route | undefined {
    // parts after /api/v1
    if (parts[0] === 'namespaces' && parts.length >= 3) {
      const r = findResource('', 'v1', parts[2]!);
      if (r?.namespaced) return { r, ns: parts[1], name: parts[3], sub: parts[4] };
    }
    const r = findResource('', 'v1', parts[0] ?? '');
    if (!r || (r.namespaced && parts[1] !== undefined)) return undefined;
    return { r, name: parts[1], sub: parts[2] };
  }

  private async body(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString();
  }

  private async parsed(req: IncomingMessage): Promise<unknown> {
    const text = await this.body(req);
    if (!text.trim()) return {};
    try {
      return /yaml/.test(req.headers['content-type'] ?? '') ? parseYaml(text) : JSON.parse(text);
    } catch (err) {
      throw ApiError.badRequest(`the body of the request could not be decoded: ${(err as Error).message}`);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://fake');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      if (['healthz', 'livez', 'readyz'].includes(parts[0] ?? '')) return ApiServer.send(res, 200, 'ok', 'text/plain');
      if (!this.authorized(req)) return ApiServer.send(res, 401, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
      const accept = req.headers.accept ?? '';
      const aggregated = /as=APIGroupDiscoveryList/.test(accept) && /g=apidiscovery\.k8s\.io/.test(accept) && /v=v2(?![a-z0-9])/.test(accept);
      if (req.method === 'GET' && parts.length === 1 && parts[0] === 'version') return ApiServer.send(res, 200, versionInfo());
      if (req.method === 'GET' && parts.length === 1 && (parts[0] === 'api' || parts[0] === 'apis')) {
        if (aggregated) return ApiServer.send(res, 200, aggregatedDiscovery(parts[0] === 'api'), 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
        return ApiServer.send(res, 200, parts[0] === 'api' ? apiVersions(`${this.ctx.apiHost}:${this.ctx.apiPort}`) : apiGroupList());
      }
      if (req.method === 'GET' && parts.length === 2 && parts[0] === 'api' && parts[1] === 'v1') return ApiServer.send(res, 200, resourceList('', 'v1'));
      if (req.method === 'GET' && parts[0] === 'openapi' && parts[1] === 'v3') {
        if (parts.length === 2) return ApiServer.send(res, 200, openapiV3Index());
        if (parts[2] === 'api' && parts[3] === 'v1' && parts.length === 4) return ApiServer.send(res, 200, openapiV3CoreV1());
      }
      const route = parts[0] === 'api' && parts[1] === 'v1' ? this.route(parts.slice(2)) : undefined;
      if (!route) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      await this.dispatch(req, res, url, route);
    } catch (err) {
      ApiServer.fail(res, err);
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, url: URL, { r, ns, name, sub }: Route): Promise<void> {
    const q = url.searchParams;
    const table = wantsTable(req.headers.accept);
    const include = (q.get('includeObject') as IncludeObject | null) ?? 'Metadata';
    const out = (code: number, o: KObj) => ApiServer.send(res, code, table ? toTable(r.kind, [o], { resourceVersion: o.metadata.resourceVersion }, include) : o);
    const dryRun = q.getAll('dryRun').includes('All');
    const method = req.method ?? 'GET';
    const fv = { mode: q.get('fieldValidation') ?? 'Warn', warnings: [] as string[] };
    const warn = () => {
      if (fv.warnings.length) res.setHeader('Warning', fv.warnings.map((w) => `299 - ${JSON.stringify(w)}`));
    };
    if (sub && !(r.subresources ?? []).some((s) => s.name === sub)) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (sub === 'exec' || sub === 'portforward' || sub === 'attach') throw ApiError.badRequest('Upgrade request required');
    if (sub === 'log') return this.logs(res, ns!, name!, q);
    if (sub === 'eviction' && method === 'POST') return ApiServer.send(res, 201, this.rest.evict(ns!, name!, await this.parsed(req)));
    if (sub === 'binding' && method === 'POST') return ApiServer.send(res, 201, this.rest.bind(ns!, name!, await this.parsed(req)));
    if (!name) {
      if (method === 'GET') return this.list(res, r, ns, q, table, include);
      if (method === 'POST') {
        const created = this.rest.create(r, ns, await this.parsed(req), dryRun, fv);
        warn();
        return out(201, created);
      }
      if (method === 'DELETE') {
        const items = this.select(r, ns, q).map((o) => this.rest.delete(r, o.metadata.namespace, o.metadata.name, {}));
        return ApiServer.send(res, 200, { kind: `${r.kind}List`, apiVersion: 'v1', metadata: { resourceVersion: this.ctx.store.resourceVersion }, items });
      }
      throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    }
    switch (method) {
      case 'GET':
        return out(200, this.rest.get(r, ns, name));
      case 'PUT': {
        const updated = this.rest.update(r, ns, name, await this.parsed(req), sub, fv);
        warn();
        return out(200, updated);
      }
      case 'PATCH': {
        const patched = this.rest.patch(r, ns, name, req.headers['content-type'] ?? '', await this.body(req), sub, fv);
        warn();
        return out(200, patched);
      }
      case 'DELETE': {
        const body = (await this.parsed(req)) as { gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string } };
        const g = q.get('gracePeriodSeconds');
        const grace = g !== null ? Number(g) : body.gracePeriodSeconds;
        return out(200, this.rest.delete(r, ns, name, { gracePeriodSeconds: grace, preconditions: body.preconditions }));
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    }
  }

  private select(r: ResourceDef, ns: string | undefined, q: URLSearchParams): KObj[] {
    const labels = parseLabelSelector(q.get('labelSelector'));
    const fields = parseFieldSelector(q.get('fieldSelector'), r.name);
    return this.ctx.store.list(r.name, r.namespaced ? ns : undefined).filter((o) => matchLabels(labels, o.metadata.labels) && matchFields(fields, o));
  }

  private list(res: ServerResponse, r: ResourceDef, ns: string | undefined, q: URLSearchParams, table: boolean, include: IncludeObject): void {
    const render = (o: KObj) => (table ? toTable(r.kind, [o], { resourceVersion: o.metadata.resourceVersion }, include) : o);
    if (truthy(q.get('watch'))) {
      const t = q.get('timeoutSeconds');
      return serveWatch(
        this.ctx.store,
        res,
        {
          resource: r.name,
          ns: r.namespaced ? ns : undefined,
          labelSelector: q.get('labelSelector') ?? undefined,
          fieldSelector: q.get('fieldSelector') ?? undefined,
          resourceVersion: q.get('resourceVersion') ?? undefined,
          timeoutSeconds: t ? Number(t) : undefined,
          sendInitialEvents: truthy(q.get('sendInitialEvents')),
          render,
        },
        (stop) => {
          this.open.add(stop);
          res.on('close', () => this.open.delete(stop));
        },
      );
    }
    const rv = this.ctx.store.resourceVersion;
    let items = this.select(r, ns, q);
    let offset = 0;
    const cont = q.get('continue');
    if (cont) {
      try {
        offset = (JSON.parse(Buffer.from(cont, 'base64').toString()) as { offset: number }).offset;
      } catch {
        throw ApiError.badRequest('continue key is not valid: illegal base64 data at input byte 0');
      }
    }
    const limit = Number(q.get('limit') ?? 0);
    let next: string | undefined;
    if (offset) items = items.slice(offset);
    if (limit > 0 && items.length > limit) {
      next = Buffer.from(JSON.stringify({ offset: offset + limit, rv })).toString('base64');
      items = items.slice(0, limit);
    }
    const meta = { resourceVersion: rv, ...(next ? { continue: next, remainingItemCount: this.select(r, ns, q).length - offset - limit } : {}) };
    if (table) return ApiServer.send(res, 200, toTable(r.kind, items, meta, include));
    // Items of a typed list carry no kind/apiVersion of their own on a real server.
    const stripped = items.map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
    ApiServer.send(res, 200, { kind: `${r.kind}List`, apiVersion: 'v1', metadata: meta, items: stripped });
  }

  private pickContainer(pod: KObj, requested: string | null): string {
    const names: string[] = pod.spec.containers.map((c: any) => c.name);
    const inits: string[] = (pod.spec.initContainers ?? []).map((c: any) => c.name);
    if (requested) {
      if (!names.includes(requested) && !inits.includes(requested)) throw ApiError.badRequest(`container ${requested} is not valid for pod ${pod.metadata.name}`);
      return requested;
    }
    if (names.length === 1) return names[0]!;
    throw ApiError.badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]${inits.length ? ` or one of the init containers: [${inits.join(' ')}]` : ''}`);
  }

  private runnerOf(pod: KObj): PodRunner | undefined {
    return this.control.runners.get(pod.metadata.uid!);
  }

  private async logs(res: ServerResponse, ns: string, name: string, q: URLSearchParams): Promise<void> {
    const pod = this.ctx.store.get('pods', ns, name);
    if (!pod) throw ApiError.notFound('pods', name);
    const cname = this.pickContainer(pod, q.get('container'));
    const c: ContainerRuntimeState | undefined = this.runnerOf(pod)?.container(cname);
    const previous = truthy(q.get('previous'));
    const log = previous ? c?.logs[c.logs.length - 2] : c?.logs[c.logs.length - 1];
    if (!log) {
      if (previous) throw ApiError.badRequest(`previous terminated container "${cname}" in pod "${name}" not found`);
      const w = c?.state['waiting']?.reason ?? (pod.spec.initContainers?.some((i: any) => i.name === cname) ? 'PodInitializing' : 'ContainerCreating');
      const why = w === 'ErrImagePull' || w === 'ImagePullBackOff' ? 'trying and failing to pull image' : w;
      throw ApiError.badRequest(`container "${cname}" in pod "${name}" is waiting to start: ${why}`);
    }
    const since = q.get('sinceSeconds') ? new Date(Date.now() - Number(q.get('sinceSeconds')) * 1000) : q.get('sinceTime') ? new Date(q.get('sinceTime')!) : undefined;
    const tail = q.get('tailLines');
    const limit = q.get('limitBytes');
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    const abort = new AbortController();
    const stop = () => abort.abort();
    this.open.add(stop);
    res.on('close', stop);
    await log.read({ follow: truthy(q.get('follow')), tailLines: tail !== null && Number(tail) >= 0 ? Number(tail) : undefined, timestamps: truthy(q.get('timestamps')), sinceTime: since, limitBytes: limit ? Number(limit) : undefined }, (b) => res.write(b), abort.signal);
    this.open.delete(stop);
    res.end();
  }

  private upgrade(req: IncomingMessage, socket: net.Socket, head: Buffer): void {
    const reject = (e: ApiError) => {
      const body = JSON.stringify(e.toStatus());
      socket.end(`HTTP/1.1 ${e.code} ${http.STATUS_CODES[e.code]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    try {
      if (!this.authorized(req)) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      const url = new URL(req.url ?? '/', 'http://fake');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const route = parts[0] === 'api' && parts[1] === 'v1' ? this.route(parts.slice(2)) : undefined;
      if (!route || route.r.name !== 'pods' || !route.name || (route.sub !== 'exec' && route.sub !== 'portforward'))
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') throw ApiError.badRequest(`upgrade to ${req.headers.upgrade} is not supported by this server (websocket only)`);
      const pod = this.ctx.store.get('pods', route.ns, route.name);
      if (!pod) throw ApiError.notFound('pods', route.name);
      if (!pod.spec.nodeName) throw ApiError.badRequest(`pod ${route.name} does not have a host assigned`);
      const runner = this.runnerOf(pod);
      const offered = new Set((req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim()).filter(Boolean));
      const q = url.searchParams;
      if (route.sub === 'portforward') {
        const ports = q.getAll('ports').flatMap((p) => p.split(',')).map(Number);
        if (!ports.length || ports.some((p) => !(p > 0 && p < 65536))) throw ApiError.badRequest('at least one port must be specified');
        if (!runner?.ip) throw ApiError.badRequest(`pod ${route.name} is not running`);
        (req as IncomingMessage & { chosen?: string | false }).chosen = chooseProtocol(offered, PORTFORWARD_PROTOCOLS);
        this.wss.handleUpgrade(req, socket, head, (ws) => servePortForward(ws, runner.ip, ports, () => `${route.name}_${route.ns}`));
        return;
      }
      const cname = this.pickContainer(pod, q.get('container'));
      const c = runner?.container(cname);
      if (!c?.running) throw ApiError.badRequest(`container not found ("${cname}")`);
      const argv = q.getAll('command');
      if (!argv.length) throw ApiError.badRequest('you must specify at least 1 command');
      const opts = { argv, stdin: truthy(q.get('stdin')), stdout: truthy(q.get('stdout')), stderr: truthy(q.get('stderr')), tty: truthy(q.get('tty')) };
      (req as IncomingMessage & { chosen?: string | false }).chosen = chooseProtocol(offered, EXEC_PROTOCOLS);
      this.wss.handleUpgrade(req, socket, head, (ws) => serveExec(ws, opts, () => runner!.exec(c, argv, opts.tty)));
    } catch (err) {
      reject(err instanceof ApiError ? err : new ApiError(500, 'InternalError', (err as Error).message));
    }
  }
}
