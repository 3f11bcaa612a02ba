// Which view is on screen and how we got there (breadcrumbs), with each level's list state so
// esc returns to the same selection, filter and sort.
import type { SortKey } from '../render/sort.js';

export type ViewSpec =
  | { kind: 'clusters' }
  | { kind: 'jobs'; cluster: string }
  | { kind: 'logs'; cluster: string; job?: number }
  | { kind: 'requests' }
  | { kind: 'events' }
  | { kind: 'gpus'; accelerator?: string }
  | { kind: 'managed' }
  /** a managed job's output across all its attempts (recoveries) */
  | { kind: 'managed-logs'; id: number };

export interface NavEntry {
  view: ViewSpec;
  /** key of the selected row */
  selected?: string;
  filter: string;
  sort: SortKey;
}

export type NavState = readonly NavEntry[];

export type NavAction =
  | { type: 'push'; view: ViewSpec }
  | { type: 'pop' }
  | { type: 'reset'; views: ViewSpec[] }
  | { type: 'patch'; patch: Partial<Omit<NavEntry, 'view'>> };

const entry = (view: ViewSpec): NavEntry => ({ view, filter: '', sort: view.kind === 'clusters' ? 'name' : 'age' });

export const initialNav = (): NavState => [entry({ kind: 'clusters' })];

export function navReduce(state: NavState, a: NavAction): NavState {
  switch (a.type) {
    case 'push':
      return [...state, entry(a.view)];
    case 'pop':
      return state.length > 1 ? state.slice(0, -1) : state;
    case 'reset':
      return a.views.length ? a.views.map(entry) : initialNav();
    case 'patch': {
      const top = state[state.length - 1]!;
      return [...state.slice(0, -1), { ...top, ...a.patch }];
    }
  }
}

export function viewTitle(v: ViewSpec): string {
  switch (v.kind) {
    case 'jobs':
      return `jobs(${v.cluster})`;
    case 'logs':
      return v.job === undefined ? `logs(${v.cluster})` : `logs(${v.cluster}/${v.job})`;
    case 'gpus':
      return v.accelerator ? `gpus(${v.accelerator})` : 'gpus';
    case 'managed-logs':
      return `logs(managed/${v.id})`;
    default:
      return v.kind;
  }
}

/** `:` palette commands → the stack they open. Returns an error line for unknown input. */
export function parsePalette(text: string): { views: ViewSpec[] } | { error: string } {
  const [cmd = '', ...args] = text.trim().replace(/^:/, '').split(/\s+/);
  const arg = args[0];
  switch (cmd) {
    case 'clusters':
    case 'cl':
    case 'c':
      return { views: [{ kind: 'clusters' }] };
    case 'jobs':
    case 'j':
    case 'queue':
      if (!arg) return { error: 'usage: :jobs CLUSTER' };
      return { views: [{ kind: 'clusters' }, { kind: 'jobs', cluster: arg }] };
    case 'logs':
      if (!arg) return { error: 'usage: :logs CLUSTER [JOB]' };
      if (args[1] !== undefined && !/^\d+$/.test(args[1])) return { error: `usage: :logs CLUSTER [JOB] (JOB is a job id, not "${args[1]}")` };
      return { views: [{ kind: 'clusters' }, { kind: 'logs', cluster: arg, job: args[1] !== undefined ? Number(args[1]) : undefined }] };
    case 'requests':
    case 'req':
    case 'r':
      return { views: [{ kind: 'requests' }] };
    case 'events':
    case 'ev':
    case 'e':
      return { views: [{ kind: 'events' }] };
    case 'gpus':
    case 'gpu':
    case 'g':
      return { views: arg ? [{ kind: 'gpus' }, { kind: 'gpus', accelerator: arg }] : [{ kind: 'gpus' }] };
    case 'managed':
    case 'mj':
    case 'm': {
      if (!arg) return { views: [{ kind: 'managed' }] };
      const id = Number(arg);
      if (!Number.isInteger(id) || id < 1) return { error: 'usage: :managed [ID]' };
      return { views: [{ kind: 'managed' }, { kind: 'managed-logs', id }] };
    }
    default:
      return { error: `unknown command :${cmd} (try :clusters, :jobs CLUSTER, :managed, :requests, :events, :gpus)` };
  }
}

export const PALETTE_COMMANDS = ['clusters', 'jobs CLUSTER', 'logs CLUSTER [JOB]', 'managed [ID]', 'requests', 'events', 'gpus [GPU]'];
