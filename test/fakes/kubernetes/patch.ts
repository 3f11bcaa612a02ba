// PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and strategic merge patch as
// far as clients use it on core types (lists of named items — containers, env, volumes, ports —
// merge by name; `$patch: delete` removes an item; other directives are dropped).
import { ApiError } from './store.js';

type J = any;
const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

export function mergePatch(target: J, patch: J): J {
  if (!isObj(patch)) return patch;
  const out: Record<string, unknown> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const MERGE_KEYS: Record<string, string> = { volumeMounts: 'mountPath', ports: 'containerPort', hostAliases: 'ip' };

export function strategicMergePatch(target: J, patch: J, field = ''): J {
  if (Array.isArray(patch)) {
    const key = MERGE_KEYS[field] ?? 'name';
    if (!Array.isArray(target) || !patch.every((p) => isObj(p) && key in p)) return patch.map((p) => strip(p));
    const out = target.map((t) => ({ ...t }));
    for (const p of patch) {
      const i = out.findIndex((t: J) => t?.[key] === p[key]);
      if (p.$patch === 'delete') {
        if (i >= 0) out.splice(i, 1);
      } else if (i >= 0) out[i] = strategicMergePatch(out[i], p);
      else out.push(strip(p));
    }
    return out;
  }
  if (!isObj(patch)) return patch;
  if (patch['$patch'] === 'replace') return strip(patch);
  const out: Record<string, unknown> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) delete out[k];
    else out[k] = strategicMergePatch(out[k], v, k);
  }
  return out;
}

function strip(v: J): J {
  if (Array.isArray(v)) return v.map(strip);
  if (!isObj(v)) return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('$')).map(([k, x]) => [k, strip(x)]));
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw ApiError.badRequest(`invalid JSON pointer "${path}"`);
  return path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function jsonPatch(doc: J, ops: J): J {
  if (!Array.isArray(ops)) throw ApiError.badRequest('json patch must be an array of operations');
  let root = structuredClone(doc);
  const parentOf = (path: string[]): [J, string] => {
    let cur = root;
    for (const seg of path.slice(0, -1)) {
      cur = cur?.[Array.isArray(cur) ? Number(seg) : seg];
      if (cur === undefined) throw new ApiError(422, 'Invalid', `doc is missing path: "/${path.join('/')}": missing value`);
    }
    return [cur, path[path.length - 1]!];
  };
  const get = (path: string[]) => path.reduce((c: J, s) => (c === undefined ? undefined : c[Array.isArray(c) ? Number(s) : s]), root);
  const add = (path: string[], value: J) => {
    if (path.length === 0) return void (root = value);
    const [p, k] = parentOf(path);
    if (Array.isArray(p)) p.splice(k === '-' ? p.length : Number(k), 0, value);
    else p[k] = value;
  };
  const remove = (path: string[]) => {
    const [p, k] = parentOf(path);
    if (Array.isArray(p)) p.splice(Number(k), 1);
    else {
      if (!(k in p)) throw new ApiError(422, 'Invalid', `doc is missing key: /${path.join('/')}: missing value`);
      delete p[k];
    }
  };
  for (const op of ops) {
    const path = pointer(op.path ?? '');
    switch (op.op) {
      case 'add': add(path, op.value); break;
      case 'remove': remove(path); break;
      case 'replace': remove(path); add(path, op.value); break;
      case 'move': { const v = get(pointer(op.from)); remove(pointer(op.from)); add(path, v); break; }
      case 'copy': add(path, structuredClone(get(pointer(op.from)))); break;
      case 'test':
        if (JSON.stringify(get(path)) !== JSON.stringify(op.value)) throw new ApiError(422, 'Invalid', `testing value /${path.join('/')} failed: test failed`);
        break;
      default: throw ApiError.badRequest(`Unexpected kind: ${op.op}`);
    }
  }
  return root;
}
