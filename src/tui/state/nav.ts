// Which view is on screen and how we got there (breadcrumbs), with each level's list state so
// esc returns to the same selection, filter and sort. Titles and `:` commands are tables: a new
// view adds its spec, its title and its command here, and its component in views/registry.tsx.
import type { DescribeTarget } from '../../protocol/api.js';
import type { SortKey } from '../render/sort.js';

export type ViewSpec =
  | { kind: 'clusters' }
  /** one cluster's jobs, or (no cluster) every cluster's: k9s's all namespaces */
  | { kind: 'jobs'; cluster?: string }
  | { kind: 'logs'; cluster: string; job?: number }
  | { kind: 'requests' }
  | { kind: 'events' }
  | { kind: 'gpus'; accelerator?: string }
  | { kind: 'managed' }
  /** a managed job's output across all its attempts (recoveries) */
  | { kind: 'managed-logs'; id: number }
  /** services (SkyServe) with their replicas beneath */
  | { kind: 'services' }
  /** a service's controller or load balancer log */
  | { kind: 'serve-logs'; service: string; target: 'controller' | 'lb' }
  /** `d`: everything the daemon knows about an object; `y`: its task as YAML */
  | { kind: 'describe'; target: DescribeTarget; yaml?: boolean };

export type ViewKind = ViewSpec['kind'];

export interface NavEntry {
  view: ViewSpec;
  /** key of the selected row */
  selected?: string;
  /** a row to select as soon as it shows up (a request just created, not yet on the event stream) */
  want?: string;
  filter: string;
  sort: SortKey;
  /** the sort pressed twice: the other direction */
  reverse: boolean;
}

export type NavState = readonly NavEntry[];

export type NavAction =
  | { type: 'push'; view: ViewSpec }
  | { type: 'pop' }
  | { type: 'reset'; views: ViewSpec[]; want?: string }
  | { type: 'patch'; patch: Partial<Omit<NavEntry, 'view'>> };

const entry = (view: ViewSpec): NavEntry => ({ view, filter: '', sort: view.kind === 'clusters' ? 'name' : 'age', reverse: false });

export const initialNav = (): NavState => [entry({ kind: 'clusters' })];

export function navReduce(state: NavState, a: NavAction): NavState {
  switch (a.type) {
    case 'push':
      return [...state, entry(a.view)];
    case 'pop':
      return state.length > 1 ? state.slice(0, -1) : state;
    case 'reset': {
      const next = a.views.length ? a.views.map(entry) : [...initialNav()];
      if (a.want !== undefined) next[next.length - 1] = { ...next[next.length - 1]!, want: a.want };
      return next;
    }
    case 'patch': {
      const top = state[state.length - 1]!;
      return [...state.slice(0, -1), { ...top, ...a.patch }];
    }
  }
}

/** `describe(cluster alpha)`, `yaml(job alpha/2)`: what a describe page is about, in words. */
export function targetTitle(t: DescribeTarget): string {
  switch (t.kind) {
    case 'cluster':
      return `cluster ${t.cluster}`;
    case 'job':
      return `job ${t.cluster}/${t.job}`;
    case 'managed':
      return `managed job ${t.id}`;
    case 'request':
      return `request ${t.id}`;
  }
}

const TITLES: { [K in ViewKind]: (v: Extract<ViewSpec, { kind: K }>) => string } = {
  clusters: () => 'clusters',
  jobs: (v) => (v.cluster === undefined ? 'jobs(all)' : `jobs(${v.cluster})`),
  logs: (v) => (v.job === undefined ? `logs(${v.cluster})` : `logs(${v.cluster}/${v.job})`),
  requests: () => 'requests',
  events: () => 'events',
  gpus: (v) => (v.accelerator ? `gpus(${v.accelerator})` : 'gpus'),
  managed: () => 'managed',
  'managed-logs': (v) => `logs(managed/${v.id})`,
  services: () => 'services',
  'serve-logs': (v) => `logs(${v.service}/${v.target === 'lb' ? 'load-balancer' : 'controller'})`,
  describe: (v) => `${v.yaml ? 'yaml' : 'describe'}(${targetTitle(v.target)})`,
};

export function viewTitle(v: ViewSpec): string {
  return (TITLES[v.kind] as (v: ViewSpec) => string)(v);
}

interface PaletteCommand {
  names: readonly string[];
  /** how it reads in the palette's suggestions */
  usage: string;
  open(args: string[]): ViewSpec[] | { error: string };
}

const PALETTE: readonly PaletteCommand[] = [
  { names: ['clusters', 'cl', 'c'], usage: 'clusters', open: () => [{ kind: 'clusters' }] },
  {
    names: ['jobs', 'j', 'queue'],
    usage: 'jobs [CLUSTER]',
    // no cluster: every cluster's jobs (`sky queue` with no argument, k9s's all namespaces)
    open: ([c]) => (c ? [{ kind: 'clusters' }, { kind: 'jobs', cluster: c }] : [{ kind: 'jobs' }]),
  },
  {
    names: ['logs'],
    usage: 'logs CLUSTER [JOB]',
    open: ([c, j]) => {
      if (!c) return { error: 'usage: :logs CLUSTER [JOB]' };
      if (j !== undefined && !/^\d+$/.test(j)) return { error: `usage: :logs CLUSTER [JOB] (JOB is a job id, not "${j}")` };
      return [{ kind: 'clusters' }, { kind: 'logs', cluster: c, job: j !== undefined ? Number(j) : undefined }];
    },
  },
  {
    names: ['managed', 'mj', 'm'],
    usage: 'managed [ID]',
    open: ([a]) => {
      if (!a) return [{ kind: 'managed' }];
      const id = Number(a);
      if (!Number.isInteger(id) || id < 1) return { error: 'usage: :managed [ID]' };
      return [{ kind: 'managed' }, { kind: 'managed-logs', id }];
    },
  },
  { names: ['services', 'svc', 'serve'], usage: 'services', open: () => [{ kind: 'services' }] },
  { names: ['requests', 'req', 'r'], usage: 'requests', open: () => [{ kind: 'requests' }] },
  { names: ['events', 'ev', 'e'], usage: 'events', open: () => [{ kind: 'events' }] },
  {
    names: ['gpus', 'gpu', 'g'],
    usage: 'gpus [GPU]',
    open: ([a]) => (a ? [{ kind: 'gpus' }, { kind: 'gpus', accelerator: a }] : [{ kind: 'gpus' }]),
  },
];

export const PALETTE_COMMANDS: readonly string[] = PALETTE.map((c) => c.usage);

/** `:` palette commands → the stack they open. Returns an error line for unknown input. */
export function parsePalette(text: string): { views: ViewSpec[] } | { error: string } {
  const [cmd = '', ...args] = text.trim().replace(/^:/, '').split(/\s+/);
  const c = PALETTE.find((p) => p.names.includes(cmd));
  if (!c) return { error: `unknown command :${cmd} (try ${PALETTE.map((p) => `:${p.usage.split(' ')[0]}`).join(', ')})` };
  const r = c.open(args);
  return Array.isArray(r) ? { views: r } : r;
}
