// Request bodies checked the way the API server's Go JSON decoder checks them, against the full
// schema of every core type (taken from @kubernetes/client-node's generated models, which are
// generated from the Kubernetes OpenAPI document):
//   - a value of the wrong JSON type is refused with the decoder's own words, e.g. a node-affinity
//     value sent as a number: "json: cannot unmarshal number into Go struct field
//     NodeSelectorRequirement.spec.affinity….values of type string" (seed 003: SkyPilot's int
//     label values hit exactly this on a real cluster);
//   - unknown fields are listed as the strict decoder names them (`spec.containers[0].imagePullPolcy`):
//     with fieldValidation=Strict (what kubectl sends) the request fails, otherwise the server
//     answers with a Warning header, as a real one does.
// The models are those of client-node 1.4 (Kubernetes 1.34 types): a field newer than the fake's
// advertised 1.32 is accepted.
import * as models from '@kubernetes/client-node';
import { parseQuantity } from './quantity.js';

interface Attr {
  name: string;
  baseName: string;
  type: string;
  format: string;
}
type Model = { attributeTypeMap?: Attr[] };
const MODELS = models as unknown as Record<string, Model | undefined>;

/** The model class of each kind the fake serves. */
const ROOT: Record<string, string> = { Event: 'CoreV1Event' };
const rootModel = (kind: string): string => ROOT[kind] ?? `V1${kind}`;

/** V1NodeSelectorRequirement → NodeSelectorRequirement, CoreV1ResourceClaim → ResourceClaim */
const goStruct = (cls: string): string => cls.replace(/^([A-Z][a-z]+)*V\d+((alpha|beta)\d+)?/, '');
/** Resource lists are maps of quantities, not of strings. */
const QUANTITY_MAPS = new Set(['limits', 'requests', 'capacity', 'allocatable', 'hard', 'used']);

function goType(type: string, format: string): string {
  if (type === 'string') return format === 'byte' ? '[]uint8' : 'string';
  if (type === 'number') return format === 'double' ? 'float64' : format || 'int32';
  if (type === 'boolean') return 'bool';
  if (type === 'Date') return 'v1.Time';
  if (type === 'IntOrString') return 'intstr.IntOrString';
  let m = /^Array<(.+)>$/.exec(type);
  if (m) return `[]${goType(m[1]!, '')}`;
  m = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (m) return `map[string]${goType(m[1]!, format)}`;
  return `v1.${goStruct(type)}`;
}

const jsonKind = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v;

export interface DecodeResult {
  /** the decoder's error, if a value has the wrong type */
  error?: string;
  /** fields no schema knows, as `spec.containers[0].foo` */
  unknown: string[];
}

/** Checks `value` (and drops its unknown fields, as the decoder does). */
export function decodeCheck(kind: string, value: unknown): DecodeResult {
  const unknown: string[] = [];
  let error: string | undefined;
  const fail = (v: unknown, struct: string, path: string, type: string) =>
    (error ??= `json: cannot unmarshal ${jsonKind(v)} into Go struct field ${struct}.${path} of type ${type}`);

  // `path` names the field as Go's type errors do (no indexes); `strict` as the strict decoder does.
  const walk = (type: string, format: string, v: unknown, struct: string, path: string, strict: string, quantity: boolean): void => {
    if (error || v === null || v === undefined) return;
    if (quantity) {
      if ((typeof v === 'string' || typeof v === 'number') && parseQuantity(v) !== undefined) return;
      error = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
      return;
    }
    switch (type) {
      case 'any':
        return;
      case 'string':
      case 'Date':
        if (typeof v !== 'string') fail(v, struct, path, goType(type, format));
        return;
      case 'number':
        if (typeof v !== 'number' || (format !== 'double' && !Number.isInteger(v))) fail(v, struct, path, goType(type, format));
        return;
      case 'boolean':
        if (typeof v !== 'boolean') fail(v, struct, path, 'bool');
        return;
      case 'IntOrString':
        if (typeof v !== 'string' && !(typeof v === 'number' && Number.isInteger(v))) fail(v, struct, path, 'intstr.IntOrString');
        return;
    }
    let m = /^Array<(.+)>$/.exec(type);
    if (m) {
      if (!Array.isArray(v)) return void fail(v, struct, path, goType(type, format));
      v.forEach((item, i) => walk(m![1]!, format, item, struct, path, `${strict}[${i}]`, false));
      return;
    }
    m = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (m) {
      if (jsonKind(v) !== 'object') return void fail(v, struct, path, goType(type, format));
      for (const [k, item] of Object.entries(v as Record<string, unknown>)) walk(m[1]!, format, item, struct, path, `${strict}[${k}]`, false);
      return;
    }
    const model = MODELS[type];
    if (!model?.attributeTypeMap) return; // a string-like alias (MicroTime) or a type the models do not describe
    if (jsonKind(v) !== 'object') return void fail(v, struct, path, goType(type, format));
    const attrs = new Map(model.attributeTypeMap.map((a) => [a.baseName, a]));
    const own = goStruct(type);
    for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
      const a = attrs.get(k);
      const p = path ? `${path}.${k}` : k;
      const s = strict ? `${strict}.${k}` : k;
      if (!a) {
        unknown.push(s);
        delete (v as Record<string, unknown>)[k]; // dropped, as the decoder does
        continue;
      }
      if (QUANTITY_MAPS.has(k) && a.type === '{ [key: string]: string; }' && jsonKind(item) === 'object')
        for (const q of Object.values(item as Record<string, unknown>)) walk('string', '', q, own, p, s, true);
      else walk(a.type, a.format, item, own, p, s, false);
    }
  };
  walk(rootModel(kind), '', value, kind, '', '', false);
  return { error, unknown };
}
