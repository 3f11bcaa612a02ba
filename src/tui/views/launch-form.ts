// The launch form without React: its fields, the values it still needs, path completion.
import type { LaunchForm, TaskVariables } from '../data/launch.js';

export type FieldId = 'path' | 'cluster' | 'infra' | 'gpus' | 'spot' | `env:${string}` | `secret:${string}`;

export function formFields(vars: TaskVariables | null): FieldId[] {
  return [
    'path',
    'cluster',
    'infra',
    'gpus',
    'spot',
    ...(vars?.envs ?? []).map((v): FieldId => `env:${v.name}`),
    ...(vars?.secrets ?? []).map((v): FieldId => `secret:${v.name}`),
  ];
}

export const emptyForm = (): LaunchForm => ({ path: '', useSpot: false, envs: {}, secrets: {} });

/** The text a field holds. */
export function fieldValue(f: LaunchForm, id: FieldId): string {
  if (id === 'path' || id === 'cluster' || id === 'infra' || id === 'gpus') return f[id] ?? '';
  if (id === 'spot') return f.useSpot ? 'yes' : 'no';
  if (id.startsWith('env:')) return f.envs[id.slice(4)] ?? '';
  return f.secrets[id.slice(7)] ?? '';
}

export function withField(f: LaunchForm, id: FieldId, v: string): LaunchForm {
  if (id === 'path' || id === 'cluster' || id === 'infra' || id === 'gpus') return { ...f, [id]: v };
  if (id === 'spot') return f;
  if (id.startsWith('env:')) return { ...f, envs: { ...f.envs, [id.slice(4)]: v } };
  return { ...f, secrets: { ...f.secrets, [id.slice(7)]: v } };
}

/**
 * The form as `aloft launch` takes it: empty text fields left out; an env or secret left empty is
 * taken from the shell when it is set there (`--env K`, `--secret K`), else it is missing.
 */
export function completeForm(f: LaunchForm, vars: TaskVariables): { form: LaunchForm; missing: string[] } {
  const trim = (s: string | undefined) => (s?.trim() ? s.trim() : undefined);
  const form: LaunchForm = { path: f.path.trim(), cluster: trim(f.cluster), infra: trim(f.infra), gpus: trim(f.gpus), useSpot: f.useSpot, envs: {}, secrets: {} };
  const missing: string[] = [];
  for (const v of vars.envs) {
    const typed = f.envs[v.name];
    if (typed) form.envs[v.name] = typed;
    else if (v.inShell) form.envs[v.name] = undefined;
    else missing.push(`env ${v.name}`);
  }
  for (const v of vars.secrets) {
    const typed = f.secrets[v.name];
    if (typed) form.secrets[v.name] = typed;
    else if (v.inShell) form.secrets[v.name] = undefined;
    else missing.push(`secret ${v.name}`);
  }
  return { form, missing };
}

export function commonPrefix(xs: readonly string[]): string {
  if (!xs.length) return '';
  let p = xs[0]!;
  for (const x of xs) while (!x.startsWith(p)) p = p.slice(0, -1);
  return p;
}

export const isTaskPath = (p: string): boolean => /\.ya?ml$/i.test(p.trim());
