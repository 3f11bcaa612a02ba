// EC2 Query protocol on the wire: form-encoded parameters in (`Filter.1.Name`, `InstanceId.2`,
// `TagSpecification.1.Tag.1.Key` …), XML out (lists as <item>), errors as <Response><Errors>,
// and AWS Signature V4 checked against the fake's credentials.
import { createHash, createHmac, randomUUID } from 'node:crypto';

export const XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** An EC2 error: code (e.name in the SDK), message, HTTP status (500 for capacity, like EC2). */
export class Ec2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** Flat form parameters with helpers for EC2's numbered lists and nested structures. */
export class Params {
  constructor(readonly flat: Map<string, string>) {}

  static parse(body: string, query: URLSearchParams): Params {
    const m = new Map<string, string>();
    for (const [k, v] of query) m.set(k, v);
    for (const [k, v] of new URLSearchParams(body)) m.set(k, v);
    return new Params(m);
  }

  get(key: string): string | undefined {
    return this.flat.get(key);
  }

  need(key: string): string {
    const v = this.flat.get(key);
    if (v === undefined || v === '') throw new Ec2Error('MissingParameter', `The request must contain the parameter ${key}`);
    return v;
  }

  int(key: string): number | undefined {
    const v = this.flat.get(key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Ec2Error('InvalidParameterValue', `Value (${v}) for parameter ${key} is invalid.`);
    return n;
  }

  bool(key: string): boolean | undefined {
    const v = this.flat.get(key);
    return v === undefined ? undefined : v === 'true';
  }

  /** `Prefix.1`, `Prefix.2`… as strings (also the `Prefix.N.Value` form some lists use). */
  list(prefix: string): string[] {
    const out: Array<[number, string]> = [];
    const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)$`);
    for (const [k, v] of this.flat) {
      const m = re.exec(k);
      if (m) out.push([Number(m[1]), v]);
    }
    return out.sort((a, b) => a[0] - b[0]).map((x) => x[1]);
  }

  /** `Prefix.N.*` as sub-parameter sets, in N order. */
  structs(prefix: string): Params[] {
    const groups = new Map<number, Map<string, string>>();
    const p = prefix + '.';
    for (const [k, v] of this.flat) {
      if (!k.startsWith(p)) continue;
      const rest = k.slice(p.length);
      const dot = rest.indexOf('.');
      if (dot < 0) continue;
      const n = Number(rest.slice(0, dot));
      if (!Number.isInteger(n)) continue;
      const g = groups.get(n) ?? new Map<string, string>();
      g.set(rest.slice(dot + 1), v);
      groups.set(n, g);
    }
    return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => new Params(g));
  }

  /** `Prefix.*` as one sub-parameter set (a nested structure). */
  sub(prefix: string): Params {
    const g = new Map<string, string>();
    const p = prefix + '.';
    for (const [k, v] of this.flat) if (k.startsWith(p)) g.set(k.slice(p.length), v);
    return new Params(g);
  }

  /** Filters: name → accepted values. */
  filters(): Map<string, string[]> {
    const f = new Map<string, string[]>();
    for (const s of this.structs('Filter')) {
      const name = s.get('Name');
      if (name) f.set(name, [...(f.get(name) ?? []), ...s.list('Value')]);
    }
    return f;
  }
}

export type Xml = string | number | boolean | undefined | null | XmlObject | Xml[];
export interface XmlObject {
  [k: string]: Xml;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Renders a value: objects as elements, arrays as <item> lists, undefined left out. */
export function xml(name: string, v: Xml): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return `<${name}>${v.map((x) => xml('item', x)).join('')}</${name}>`;
  if (typeof v === 'object') return `<${name}>${Object.entries(v).map(([k, x]) => xml(k, x)).join('')}</${name}>`;
  return `<${name}>${esc(String(v))}</${name}>`;
}

export function response(action: string, body: XmlObject): string {
  const inner = Object.entries({ requestId: randomUUID(), ...body })
    .map(([k, x]) => xml(k, x))
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${XMLNS}">${inner}</${action}Response>`;
}

export function errorBody(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${esc(code)}</Code><Message>${esc(message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`;
}

// ---- Signature V4 ----

const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export interface SignedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface VerifiedCaller {
  accessKeyId: string;
  region: string;
  service: string;
}

/**
 * Checks an AWS4-HMAC-SHA256 Authorization header against `secrets` (access key id → secret).
 * Throws the error EC2 answers with (AuthFailure / SignatureDoesNotMatch / MissingAuthenticationToken).
 */
export function verifySigV4(req: SignedRequest, secrets: Map<string, string>): VerifiedCaller {
  const auth = String(req.headers.authorization ?? '');
  if (!auth) throw new Ec2Error('MissingAuthenticationToken', 'Request is missing Authentication Token', 401);
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]+)$/.exec(auth);
  if (!m) throw new Ec2Error('IncompleteSignature', 'Authorization header requires a valid AWS4-HMAC-SHA256 signature.', 400);
  const [, akid, date, region, service, signedHeaders, signature] = m as unknown as string[];
  const secret = secrets.get(akid!);
  if (secret === undefined) throw new Ec2Error('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const names = signedHeaders!.split(';');
  const canonicalHeaders = names
    .map((n) => {
      const v = req.headers[n];
      const value = (Array.isArray(v) ? v.join(',') : String(v ?? '')).trim().replace(/\s+/g, ' ');
      return `${n}:${value}\n`;
    })
    .join('');
  const query = [...req.query.entries()]
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const path = req.path.split('/').map((seg) => uriEncode(decodeURIComponent(seg))).join('/') || '/';
  const payload = String(req.headers['x-amz-content-sha256'] ?? '') || sha256(req.body);
  const canonical = [req.method, path, query, canonicalHeaders, signedHeaders, payload].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), 'aws4_request');
  const expected = createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
  if (expected !== signature) {
    throw new Ec2Error(
      'AuthFailure',
      'AWS was not able to validate the provided access credentials',
      401,
    );
  }
  return { accessKeyId: akid!, region: region!, service: service! };
}
