// Label selectors (`app=x,tier!=db,env in (a,b),!legacy`) and field selectors
// (`metadata.name=x,status.phase!=Running`) as the API server parses them for list and watch.
// A malformed selector throws SelectorError, which the server answers with 400 BadRequest.
export class SelectorError extends Error {}

type LabelReq =
  | { key: string; op: 'exists' | '!exists' }
  | { key: string; op: '=' | '!='; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] };

const KEY_RE = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) (out.push(cur), (cur = ''));
    else cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter((p) => p !== '');
}

function checkKey(key: string, all: string): string {
  if (!KEY_RE.test(key)) throw new SelectorError(`unable to parse requirement: invalid label key "${key}" in "${all}"`);
  return key;
}
function checkValue(v: string, all: string): string {
  if (!VALUE_RE.test(v) || v.length > 63) throw new SelectorError(`unable to parse requirement: invalid label value "${v}" in "${all}"`);
  return v;
}

export function parseLabelSelector(sel: string | undefined | null): LabelReq[] {
  if (!sel) return [];
  return splitTopLevel(sel).map((part): LabelReq => {
    let m = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(part);
    if (m) {
      const values = m[3]!.split(',').map((v) => checkValue(v.trim(), sel));
      return { key: checkKey(m[1]!, sel), op: m[2] as 'in' | 'notin', values };
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (m) return { key: checkKey(m[1]!, sel), op: m[2] === '!=' ? '!=' : '=', value: checkValue(m[3]!.trim(), sel) };
    m = /^!\s*(\S+)$/.exec(part);
    if (m) return { key: checkKey(m[1]!, sel), op: '!exists' };
    return { key: checkKey(part, sel), op: 'exists' };
  });
}

export function matchLabels(reqs: LabelReq[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists': return has;
      case '!exists': return !has;
      case '=': return has && l[r.key] === r.value;
      case '!=': return !has || l[r.key] !== r.value;
      case 'in': return has && r.values.includes(l[r.key]!);
      case 'notin': return !has || !r.values.includes(l[r.key]!);
    }
  });
}

/** A Service's or ReplicaSet's map selector: every pair must be present (an empty map matches nothing for services). */
export function matchMap(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

interface FieldReq { path: string; op: '=' | '!='; value: string }

// The fields each resource lets you select on (the real server refuses others, and so do we:
// a client relying on an unsupported field selector would break on a real cluster).
const FIELDS: Record<string, string[]> = {
  '*': ['metadata.name', 'metadata.namespace'],
  pods: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
  events: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'],
  secrets: ['type'],
  nodes: ['spec.unschedulable'],
  namespaces: ['status.phase'],
};

function unescape(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

export function parseFieldSelector(sel: string | undefined | null, resource: string): FieldReq[] {
  if (!sel) return [];
  const allowed = new Set([...FIELDS['*']!, ...(FIELDS[resource] ?? [])]);
  return sel.split(/(?<!\\),/).filter((p) => p.trim() !== '').map((part) => {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(part.trim());
    if (!m) throw new SelectorError(`invalid selector: '${sel}'; can't understand '${part}'`);
    const path = m[1]!.trim();
    if (!allowed.has(path)) throw new SelectorError(`field label not supported: ${path}`);
    return { path, op: m[2] === '!=' ? '!=' : '=', value: unescape(m[3]!) };
  });
}

function fieldValue(obj: unknown, path: string): string {
  if (path === 'source') path = 'source.component';
  let cur: unknown = obj;
  for (const seg of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
  if (path === 'spec.unschedulable' || path === 'spec.hostNetwork') return String(cur === true);
  return cur === undefined || cur === null ? '' : String(cur);
}

export function matchFields(reqs: FieldReq[], obj: unknown): boolean {
  return reqs.every((r) => (fieldValue(obj, r.path) === r.value) === (r.op === '='));
}
