// Services as the daemon serves them (`aloft serve up/update/status/down/logs`). A version's task
// is stored without secret values; the values sit in a 0600 file under ALOFT_HOME/serve/NAME/
// while the service lives (a replica launched after a daemon restart needs them), next to the
// controller's log, the load balancer's log, config and control socket.
import { createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogStreamItem } from '../../protocol/api.js';
import type { ServiceRecord, UpdateMode } from '../../protocol/model.js';
import { redactSecrets } from '../../spec/redact.js';
import { autoscalingPolicyText, checkServiceTask, DEFAULT_LB_POLICY, servicePort } from '../../spec/service.js';
import type { Task } from '../../spec/types.js';
import { UserError } from '../../util/errors.js';
import { shortId } from '../../util/names.js';
import type { DaemonContext } from '../context.js';
import { DaemonBackend } from '../managed/backend.js';
import { sameSource } from '../team/uploads.js';
import { streamClusterLog } from '../managed/logs.js';
import { describeDemand, demandOf } from '../pipeline/jobs.js';
import { ServiceController } from './controller.js';
import { live } from './replicas.js';

const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,28}[a-z0-9])?$/;

export function validateServiceName(name: string): string {
  // mj-N are managed jobs' clusters
  if (!SERVICE_NAME.test(name) || name === 'mj') {
    throw new UserError(`invalid service name '${name}': use 1-30 lowercase letters, digits and dashes, starting with a letter and not ending with a dash`);
  }
  return name;
}

const num = (name: string, def: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : def;
};

export class Services {
  readonly controller: ServiceController;
  private readonly root: string;

  constructor(private readonly ctx: DaemonContext) {
    this.root = join(ctx.home, 'serve');
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    this.controller = new ServiceController(ctx.store, new DaemonBackend(ctx), {
      loadTask: (name, version) => this.loadTask(name, version),
      log: (name, line) => this.log(name, line),
      dirOf: (name) => this.dir(name),
      forget: (name) => rmSync(this.dir(name), { recursive: true, force: true }),
      lbEnv: { ...process.env, ALOFT_READY_FD: '' },
      qpsWindowSeconds: num('ALOFT_SERVE_QPS_WINDOW_SECONDS', 60),
      statsIntervalMs: num('ALOFT_SERVE_STATS_INTERVAL_MS', 2000),
      unhealthyGraceMs: 3000,
      recheckMs: 5000,
      host: process.env.ALOFT_SERVE_HOST || '0.0.0.0',
      portStart: num('ALOFT_SERVE_PORT_START', 30001),
      portRange: 1000,
    });
  }

  dir(name: string): string {
    const d = join(this.root, name);
    mkdirSync(d, { recursive: true, mode: 0o700 });
    return d;
  }

  controllerLog(name: string): string {
    return join(this.root, name, 'controller.log');
  }

  private log(name: string, line: string): void {
    try {
      appendFileSync(join(this.dir(name), 'controller.log'), `${new Date().toISOString()} ${line}\n`, { mode: 0o600 });
    } catch {
      /* the service's folder went with it */
    }
  }

  private secretsPath(name: string): string {
    return join(this.root, name, 'secrets.json');
  }

  private secrets(name: string): Record<string, Record<string, string>> {
    const p = this.secretsPath(name);
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as Record<string, Record<string, string>>) : {};
  }

  private loadTask(name: string, version: number): Task {
    const stored = this.ctx.store.serviceVersionTask(name, version) as Task | undefined;
    if (!stored) throw new Error(`service ${name} has no version ${version}`);
    return { ...stored, secrets: this.secrets(name)[String(version)] ?? {} };
  }

  private saveVersion(name: string, version: number, task: Task): void {
    this.ctx.store.putServiceVersion(name, version, redactSecrets(task));
    if (Object.keys(task.secrets).length > 0) {
      this.dir(name);
      writeFileSync(this.secretsPath(name), JSON.stringify({ ...this.secrets(name), [String(version)]: task.secrets }), { mode: 0o600 });
    }
  }

  /** `serve up`: the record, written before anything starts; the controller takes it from there. */
  up(p: { task: Task; name?: string }, user?: string): ServiceRecord {
    const { store } = this.ctx;
    checkServiceTask(p.task);
    const name = p.name ? validateServiceName(p.name) : `sky-service-${shortId(2)}`;
    const existing = store.getService(name);
    if (existing) throw new UserError(`service '${name}' already exists (${existing.status}); \`aloft serve update ${name} YAML\` changes it, \`aloft serve down ${name}\` removes it`);
    const taken = store.listClusters().find((c) => new RegExp(`^${name}-\\d+$`).test(c.name));
    if (taken) throw new UserError(`cluster '${taken.name}' exists, and service '${name}' names its replica clusters ${name}-1, ${name}-2, …; pick another service name or \`aloft down ${taken.name}\``);
    const spec = p.task.service!;
    const task = withServicePort(p.task);
    rmSync(join(this.root, name), { recursive: true, force: true }); // leftovers of an earlier service of this name
    this.saveVersion(name, 1, task);
    const now = Date.now();
    const rec: ServiceRecord = {
      name,
      ...(user ? { user } : {}),
      status: 'CONTROLLER_INIT',
      createdAt: now,
      version: 1,
      versions: [{ version: 1, createdAt: now, minReplicas: spec.minReplicas }],
      activeVersions: [],
      updateMode: 'rolling',
      replicaPort: servicePort(task),
      loadBalancingPolicy: spec.loadBalancingPolicy ?? DEFAULT_LB_POLICY,
      policy: autoscalingPolicyText(spec),
      requestedResources: describeResources(task),
      tls: spec.tls !== undefined,
      replicas: [],
      nextReplicaId: 1,
      autoscaler: { target: spec.minReplicas, latestEverReady: 0, launchFailures: 0 },
    };
    store.putService(rec);
    this.log(name, `service up: version 1, ${rec.policy}, replicas on port ${rec.replicaPort}, ${rec.requestedResources}`);
    this.controller.start(name);
    return rec;
  }

  /** `serve update`: a new version; replicas roll (or switch, blue_green) to it. */
  update(p: { name: string; task: Task; mode?: UpdateMode }): { service: ServiceRecord; reused: boolean } {
    const { store } = this.ctx;
    checkServiceTask(p.task);
    const cur = this.require(p.name);
    if (cur.status === 'SHUTTING_DOWN' || cur.status === 'FAILED_CLEANUP') throw new UserError(`service '${p.name}' is ${cur.status}; it cannot be updated`);
    const task = withServicePort(p.task);
    const mode = p.mode ?? 'rolling';
    const prev = this.loadTask(p.name, cur.version);
    // SkyServe: when only `service:` changed (and there are no file mounts), the replicas stay.
    const reused = task.fileMounts.length === 0 && prev.fileMounts.length === 0 && sameReplicaTask(prev, task);
    const version = cur.version + 1;
    this.saveVersion(p.name, version, task);
    const spec = task.service!;
    const rec = store.tx(() => {
      const s = store.getService(p.name)!;
      const clip = (n: number) => Math.max(spec.minReplicas, Math.min(spec.maxReplicas, n));
      return store.putService({
        ...s,
        version,
        versions: [...s.versions, { version, createdAt: Date.now(), mode, minReplicas: spec.minReplicas, ...(reused ? { reusedReplicas: true } : {}) }],
        updateMode: mode,
        loadBalancingPolicy: spec.loadBalancingPolicy ?? DEFAULT_LB_POLICY,
        policy: autoscalingPolicyText(spec),
        requestedResources: describeResources(task),
        replicas: reused ? s.replicas.map((r) => (r.endedAt === undefined && (live(r) || r.status === 'PENDING' || r.status === 'PROVISIONING') ? { ...r, version } : r)) : s.replicas,
        autoscaler: { ...s.autoscaler, target: clip(s.autoscaler.target), upSince: undefined, downSince: undefined },
      });
    });
    this.log(p.name, `update to version ${version} (${mode})${reused ? ': only the service section changed, the replicas stay' : ''}`);
    this.controller.wake(p.name);
    return { service: rec, reused };
  }

  down(p: { names?: string[]; all?: boolean; purge?: boolean }): { services: string[]; missing: string[] } {
    const { store } = this.ctx;
    const all = store.listServices();
    const names = p.all ? all.map((s) => s.name) : (p.names ?? []);
    if (!p.all && names.length === 0) throw new UserError('say which services to tear down (NAMES or -a)');
    const missing = names.filter((n) => !all.some((s) => s.name === n));
    const found = names.filter((n) => !missing.includes(n));
    for (const n of found) {
      store.tx(() => {
        const s = store.getService(n)!;
        if (s.status !== 'SHUTTING_DOWN' || (p.purge && !s.purge)) store.putService({ ...s, status: 'SHUTTING_DOWN', ...(p.purge ? { purge: true } : {}) });
      });
      this.log(n, `serve down${p.purge ? ' --purge' : ''}`);
      this.controller.wake(n);
    }
    return { services: found, missing };
  }

  require(name: string): ServiceRecord {
    const s = this.ctx.store.getService(name);
    if (!s) throw new UserError(`service '${name}' does not exist (see \`aloft serve status\`)`, 'NO_SERVICE');
    return s;
  }

  /** `serve logs`: the controller's or the balancer's log, or a replica's job output. */
  async streamLogs(q: { name: string; replica?: number; target?: 'controller' | 'lb'; follow: boolean; tail?: number }, send: (i: LogStreamItem) => void, signal: AbortSignal): Promise<void> {
    const svc = this.require(q.name);
    if (q.target) {
      const path = q.target === 'controller' ? this.controllerLog(q.name) : join(this.root, q.name, 'lb.log');
      await followFile(path, q, send, signal, () => this.ctx.store.getService(q.name) !== undefined);
      send({ type: 'end', job: null });
      return;
    }
    const r = svc.replicas.find((x) => x.id === q.replica);
    if (!r) {
      const ids = svc.replicas.map((x) => x.id);
      throw new UserError(`service '${q.name}' has no replica ${q.replica}${ids.length ? ` (replicas: ${ids.join(', ')})` : ' (no replicas now)'}`);
    }
    if (r.clusterUid === undefined || r.jobId === undefined) {
      send({ type: 'text', text: `(aloft) replica ${r.id} is ${r.status}${r.statusReason ? `: ${r.statusReason}` : ''}; it has no output yet\n` });
      send({ type: 'end', job: null });
      return;
    }
    await streamClusterLog(this.ctx, { cluster: r.cluster, clusterUid: r.clusterUid, jobId: r.jobId, startedAt: r.launchedAt }, q.follow, send, signal);
    send({ type: 'end', job: null });
  }
}

/** A replica port named only in `service.ports` is opened on the replicas too (clouds need it). */
function withServicePort(task: Task): Task {
  const port = servicePort(task);
  return {
    ...task,
    resources: {
      ...task.resources,
      candidates: task.resources.candidates.map((c) => (c.ports.length ? c : { ...c, ports: [String(port)] })),
    },
  };
}

function describeResources(task: Task): string {
  const c = task.resources.candidates[0];
  return describeDemand(task.numNodes, demandOf(task)) + (c?.useSpot ? ' [spot]' : '');
}

/**
 * The same replica task but for the `service:` section (secret values compared too). A remote
 * client's workdir is the same when it came from the same directory, as a local one's path is.
 */
function sameReplicaTask(a: Task, b: Task): boolean {
  const strip = (t: Task) => sameSource(JSON.stringify({ ...t, service: undefined, source: undefined }));
  return strip(a) === strip(b);
}

async function followFile(
  path: string,
  q: { follow: boolean; tail?: number },
  send: (i: LogStreamItem) => void,
  signal: AbortSignal,
  alive: () => boolean,
): Promise<void> {
  let offset = 0;
  if (existsSync(path) && q.tail !== undefined) {
    const text = readFileSync(path, 'utf8');
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const shown = lines.slice(-q.tail).join('\n');
    if (shown) send({ type: 'text', text: shown + '\n' });
    offset = Buffer.byteLength(text);
  }
  const readMore = async () => {
    if (!existsSync(path)) return;
    const size = statSync(path).size;
    if (size <= offset) return;
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      createReadStream(path, { start: offset, end: size - 1 })
        .on('data', (c) => chunks.push(c as Buffer))
        .on('end', resolve)
        .on('error', reject);
    });
    offset = size;
    send({ type: 'text', text: Buffer.concat(chunks).toString('utf8') });
  };
  await readMore();
  while (q.follow && !signal.aborted && alive()) {
    await new Promise((r) => setTimeout(r, 250));
    await readMore();
  }
}
