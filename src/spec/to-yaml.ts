// A normalized Task back to SkyPilot's task YAML (what the dashboard's `y` shows): parsing the
// result gives the same task. Defaults are left out, so it reads like a YAML a person wrote.
import { stringify } from 'yaml';
import { storeByName } from '../storage/stores.js';
import type { AcceleratorRequest, InfraSelector, Quantity, ResourcesSpec, StorageFileMount, Task } from './types.js';

const quantity = (q: Quantity): string | number => (q.atLeast ? `${q.value}+` : q.value);

function infraText(i: InfraSelector): string | undefined {
  if (!i.cloud && !i.region && !i.zone) return undefined;
  // a zone without a region: aws/*/us-east-1a
  return [i.cloud ?? '*', i.region ?? (i.zone ? '*' : undefined), i.zone].filter((p) => p !== undefined).join('/');
}

function accelerators(a: AcceleratorRequest[]): string | Record<string, number | null> {
  if (a.length === 1) return `${a[0]!.name}:${a[0]!.count}`;
  // {A100: 8, H100: 8}; the same name twice (T4:1 and T4:4) as SkyPilot's set {'T4:1', 'T4:4'}
  const repeats = new Set(a.map((x) => x.name)).size < a.length;
  return Object.fromEntries(a.map((x) => (repeats ? [`${x.name}:${x.count}`, null] : [x.name, x.count])));
}

function candidate(r: ResourcesSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const infra = infraText(r.infra);
  if (infra) out.infra = infra;
  if (r.cpus) out.cpus = quantity(r.cpus);
  if (r.memory) out.memory = quantity(r.memory);
  if (r.accelerators?.length) out.accelerators = accelerators(r.accelerators);
  if (r.acceleratorArgs) out.accelerator_args = r.acceleratorArgs;
  if (r.instanceType) out.instance_type = r.instanceType;
  if (r.useSpot) out.use_spot = true;
  if (r.diskSize !== undefined) out.disk_size = r.diskSize;
  if (r.diskTier) out.disk_tier = r.diskTier;
  if (r.networkTier) out.network_tier = r.networkTier;
  if (r.ports.length) out.ports = r.ports;
  if (r.imageId !== undefined) out.image_id = r.imageId;
  if (Object.keys(r.labels).length) out.labels = r.labels;
  if (r.autostop) {
    const a = r.autostop;
    out.autostop =
      a.idleMinutes < 0 ? false : !a.down && !a.waitFor ? a.idleMinutes : { idle_minutes: a.idleMinutes, ...(a.down ? { down: true } : {}), ...(a.waitFor ? { wait_for: a.waitFor } : {}) };
  }
  if (r.jobRecovery) {
    const j = r.jobRecovery;
    out.job_recovery = {
      ...(j.strategy ? { strategy: j.strategy } : {}),
      ...(j.maxRestartsOnErrors ? { max_restarts_on_errors: j.maxRestartsOnErrors } : {}),
      ...(j.recoverOnExitCodes.length ? { recover_on_exit_codes: j.recoverOnExitCodes } : {}),
    };
  }
  return out;
}

/** A bucket mount as SkyPilot writes it: `DEST: s3://b/key` or `DEST: {name|source, store, mode, ...}`. */
function storageEntry(m: StorageFileMount): unknown {
  const scheme = m.store ? storeByName(m.store)?.scheme : undefined;
  const url = (prefix: string) => `${scheme ?? m.store}://${m.bucket}${prefix ? `/${prefix}` : ''}`;
  if (m.shorthand) return url(m.prefix);
  const out: Record<string, unknown> = {};
  if (m.named) {
    out.name = m.bucket;
    if (m.upload) out.source = m.upload.list ? m.upload.paths : m.upload.paths[0];
    if (m.prefix) out._bucket_sub_path = m.prefix;
  } else out.source = url(m.prefix);
  if (m.store) out.store = m.store;
  if (m.mode !== 'MOUNT') out.mode = m.mode;
  if (!m.persistent) out.persistent = false;
  const cached: Record<string, string | number | boolean> = {};
  for (const f of m.rcloneFlags) {
    const [k, v] = f.replace(/^--/, '').split(/=(.*)/s);
    cached[k!.replace(/-/g, '_')] = v === undefined ? true : /^\d+$/.test(v) ? Number(v) : v;
  }
  if (m.readOnly && m.mode === 'MOUNT_CACHED') cached.read_only = true;
  if (Object.keys(cached).length) out.config = { mount_cached: cached };
  else if (m.readOnly) out.config = { mount: { read_only: true } };
  return out;
}

/** The task as a YAML document; a pipeline as `---`-separated documents. */
export function taskToYaml(task: Task | readonly Task[]): string {
  if (Array.isArray(task)) return (task as readonly Task[]).map((t) => taskToYaml(t)).join('---\n');
  const t = task as Task;
  const doc: Record<string, unknown> = {};
  if (t.name !== undefined) doc.name = t.name;
  if (t.workdir !== undefined) doc.workdir = t.workdir;
  else if (t.gitWorkdir) doc.workdir = { url: t.gitWorkdir.url, ...(t.gitWorkdir.ref !== undefined ? { ref: t.gitWorkdir.ref } : {}) };
  if (t.numNodes !== 1) doc.num_nodes = t.numNodes;
  if (t.service) doc.service = t.service.raw;
  const cands = t.resources.candidates.map(candidate);
  if (t.resources.mode === 'single') {
    if (cands[0] && Object.keys(cands[0]).length) doc.resources = cands[0];
  } else doc.resources = { [t.resources.mode]: cands };
  if (Object.keys(t.envs).length) doc.envs = t.envs;
  if (Object.keys(t.secrets).length) doc.secrets = t.secrets;
  const mounts: Array<[string, unknown]> = [...t.fileMounts.map((m): [string, unknown] => [m.dest, m.source]), ...(t.storageMounts ?? []).map((m): [string, unknown] => [m.dest, storageEntry(m)])];
  if (mounts.length) doc.file_mounts = Object.fromEntries(mounts);
  if (t.config) doc.config = t.config;
  if (t.setup !== undefined) doc.setup = t.setup;
  if (t.run !== undefined) doc.run = t.run;
  return stringify(doc, { lineWidth: 0 });
}
