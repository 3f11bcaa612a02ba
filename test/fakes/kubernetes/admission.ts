// What the API server does to an object between decoding and storing it: defaulting (the fields a
// `kubectl get -o yaml` shows that nobody wrote), validation with the real error wording, and
// allocation (service cluster IPs and node ports).
import { randomBytes } from 'node:crypto';
import { parseQuantity } from './quantity.js';
import { ApiError, type KObj } from './store.js';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
/** Resources the API server lets you overcommit; everything else (extended resources like nvidia.com/gpu) must be requested whole with requests = limits. */
const NATIVE = new Set(['cpu', 'memory', 'ephemeral-storage', 'storage']);

type Cause = { field: string; message: string; reason?: string };

export function generateNameSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const b = randomBytes(5);
  return [...b].map((x) => alphabet[x % alphabet.length]).join('');
}

export function validateMeta(o: KObj, namespaced: boolean, causes: Cause[], nameRe = DNS1123_SUBDOMAIN): void {
  const name = o.metadata.name;
  if (!name) causes.push({ field: 'metadata.name', message: 'Required value: name or generateName is required', reason: 'FieldValueRequired' });
  else if (!nameRe.test(name) || name.length > 253)
    causes.push({
      field: 'metadata.name',
      message: `Invalid value: "${name}": a lowercase RFC 1123 ${nameRe === DNS1123_LABEL ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters, '-'${nameRe === DNS1123_LABEL ? '' : " or '.'"}, and must start and end with an alphanumeric character`,
    });
  if (!namespaced && o.metadata.namespace) delete o.metadata.namespace;
  for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
    if (!QUALIFIED_NAME.test(k)) causes.push({ field: 'metadata.labels', message: `Invalid value: "${k}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
    if (!LABEL_VALUE.test(v) || v.length > 63)
      causes.push({ field: 'metadata.labels', message: `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
  }
}

function defaultContainer(c: any): void {
  const tag = /:([^/:@]+)$/.exec(c.image ?? '')?.[1];
  c.imagePullPolicy ??= !tag || tag === 'latest' ? 'Always' : 'IfNotPresent';
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  // A limit without a request makes the request equal to it (the scheduler counts requests).
  for (const [k, v] of Object.entries(c.resources.limits ?? {})) {
    c.resources.requests ??= {};
    if (c.resources.requests[k] === undefined) c.resources.requests[k] = v;
  }
  for (const p of c.ports ?? []) p.protocol ??= 'TCP';
}

function validateContainers(list: any[], field: string, causes: Cause[]): void {
  const seen = new Set<string>();
  list.forEach((c: any, i: number) => {
    const f = `${field}[${i}]`;
    if (!c.name) causes.push({ field: `${f}.name`, message: 'Required value', reason: 'FieldValueRequired' });
    else if (!DNS1123_LABEL.test(c.name)) causes.push({ field: `${f}.name`, message: `Invalid value: "${c.name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character` });
    else if (seen.has(c.name)) causes.push({ field: `${f}.name`, message: `Duplicate value: "${c.name}"`, reason: 'FieldValueDuplicate' });
    seen.add(c.name);
    if (!c.image) causes.push({ field: `${f}.image`, message: 'Required value', reason: 'FieldValueRequired' });
    const limits = c.resources?.limits ?? {};
    const requests = c.resources?.requests ?? {};
    for (const [k, v] of Object.entries(requests)) {
      const q = parseQuantity(v)!;
      if (!NATIVE.has(k) && !k.startsWith('hugepages-')) {
        if (!Number.isInteger(q)) causes.push({ field: `${f}.resources.requests[${k}]`, message: `Invalid value: "${v}": must be an integer` });
        if (limits[k] === undefined) causes.push({ field: `${f}.resources.limits`, message: 'Required value: Limit must be set for non overcommitable resources', reason: 'FieldValueRequired' });
        else if (parseQuantity(limits[k]) !== q) causes.push({ field: `${f}.resources.requests`, message: `Invalid value: "${v}": must be equal to ${k} limit of ${limits[k]}` });
      } else if (limits[k] !== undefined && q > parseQuantity(limits[k])!) {
        causes.push({ field: `${f}.resources.requests`, message: `Invalid value: "${v}": must be less than or equal to ${k} limit of ${limits[k]}` });
      }
      if (q < 0) causes.push({ field: `${f}.resources.requests[${k}]`, message: `Invalid value: "${v}": must be greater than or equal to 0` });
    }
    for (const m of c.volumeMounts ?? []) {
      if (!m.mountPath?.startsWith('/')) causes.push({ field: `${f}.volumeMounts.mountPath`, message: `Invalid value: "${m.mountPath}": must be an absolute path` });
    }
  });
}

function qosClass(pod: KObj): string {
  const cs = [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])];
  const has = (c: any, k: 'requests' | 'limits', r: string) => c.resources?.[k]?.[r] !== undefined;
  if (cs.every((c) => !Object.keys(c.resources?.requests ?? {}).length && !Object.keys(c.resources?.limits ?? {}).length)) return 'BestEffort';
  const guaranteed = cs.every((c) =>
    ['cpu', 'memory'].every((r) => has(c, 'limits', r) && parseQuantity(c.resources.limits[r]) === parseQuantity(c.resources.requests?.[r] ?? c.resources.limits[r])),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export function admitPod(pod: KObj, serviceAccountExists: (name: string) => boolean): void {
  const s = (pod.spec ??= {});
  const causes: Cause[] = [];
  validateMeta(pod, true, causes);
  if (!Array.isArray(s.containers) || s.containers.length === 0) causes.push({ field: 'spec.containers', message: 'Required value', reason: 'FieldValueRequired' });
  else validateContainers(s.containers, 'spec.containers', causes);
  if (s.initContainers) validateContainers(s.initContainers, 'spec.initContainers', causes);
  const volumes = new Set<string>((s.volumes ?? []).map((v: any) => v.name));
  for (const [i, c] of [...(s.initContainers ?? []), ...(s.containers ?? [])].entries())
    for (const m of c.volumeMounts ?? [])
      if (!volumes.has(m.name)) causes.push({ field: `spec.containers[${i}].volumeMounts[0].name`, message: `Not found: "${m.name}"`, reason: 'FieldValueNotFound' });
  if (s.restartPolicy && !['Always', 'OnFailure', 'Never'].includes(s.restartPolicy))
    causes.push({ field: 'spec.restartPolicy', message: `Unsupported value: "${s.restartPolicy}": supported values: "Always", "OnFailure", "Never"`, reason: 'FieldValueNotSupported' });
  for (const [i, t] of (s.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []).entries())
    for (const [j, e] of (t.matchExpressions ?? []).entries()) {
      const f = `spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[${i}].matchExpressions[${j}]`;
      if (!['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'].includes(e.operator)) causes.push({ field: `${f}.operator`, message: `Invalid value: "${e.operator}": not a valid selector operator`, reason: 'FieldValueInvalid' });
      else if ((e.operator === 'In' || e.operator === 'NotIn') && !(e.values?.length > 0)) causes.push({ field: `${f}.values`, message: 'Required value: must be specified when `operator` is \'In\' or \'NotIn\'', reason: 'FieldValueRequired' });
    }
  if (causes.length) throw ApiError.invalid('Pod', pod.metadata.name, causes);

  s.restartPolicy ??= 'Always';
  s.terminationGracePeriodSeconds ??= 30;
  s.dnsPolicy ??= 'ClusterFirst';
  s.schedulerName ??= 'default-scheduler';
  s.serviceAccountName ??= s.serviceAccount ?? 'default';
  s.serviceAccount = s.serviceAccountName;
  s.securityContext ??= {};
  s.enableServiceLinks ??= true;
  s.priority ??= 0;
  s.preemptionPolicy ??= 'PreemptLowerPriority';
  for (const c of [...(s.initContainers ?? []), ...s.containers]) defaultContainer(c);
  for (const v of s.volumes ?? []) if (!Object.keys(v).some((k) => k !== 'name')) v.emptyDir = {};
  // DefaultTolerationSeconds admission: pods ride out 5 minutes of a NotReady/unreachable node.
  s.tolerations ??= [];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'])
    if (!s.tolerations.some((t: any) => t.key === key && (t.effect ?? 'NoExecute') === 'NoExecute'))
      s.tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  if (!serviceAccountExists(s.serviceAccountName))
    throw new ApiError(403, 'Forbidden', `pods "${pod.metadata.name}" is forbidden: error looking up service account ${pod.metadata.namespace}/${s.serviceAccountName}: serviceaccount "${s.serviceAccountName}" not found`, { name: pod.metadata.name, kind: 'pods' });
  pod.status = { phase: 'Pending', qosClass: qosClass(pod) };
}

export class ServiceAllocator {
  private nextIp = 1 + Math.floor(Math.random() * 200);
  private readonly usedPorts = new Set<number>();

  admit(svc: KObj, isUpdate: boolean): void {
    const s = (svc.spec ??= {});
    const causes: Cause[] = [];
    validateMeta(svc, true, causes, DNS1123_LABEL);
    s.type ??= 'ClusterIP';
    if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(s.type))
      causes.push({ field: 'spec.type', message: `Unsupported value: "${s.type}": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"`, reason: 'FieldValueNotSupported' });
    if (s.type !== 'ExternalName' && !(s.ports?.length > 0)) causes.push({ field: 'spec.ports', message: 'Required value', reason: 'FieldValueRequired' });
    for (const [i, p] of (s.ports ?? []).entries()) {
      if (!(p.port >= 1 && p.port <= 65535)) causes.push({ field: `spec.ports[${i}].port`, message: `Invalid value: ${p.port}: must be between 1 and 65535, inclusive` });
      if (s.ports.length > 1 && !p.name) causes.push({ field: `spec.ports[${i}].name`, message: 'Required value', reason: 'FieldValueRequired' });
      if (p.nodePort !== undefined && !isUpdate && this.usedPorts.has(p.nodePort))
        causes.push({ field: `spec.ports[${i}].nodePort`, message: `Invalid value: ${p.nodePort}: provided port is already allocated` });
    }
    if (causes.length) throw ApiError.invalid('Service', svc.metadata.name, causes);
    if (s.type !== 'ExternalName' && s.clusterIP !== 'None' && !s.clusterIP) {
      const n = this.nextIp++;
      s.clusterIP = `10.96.${(n >> 8) & 255}.${n & 255}`;
    }
    if (s.clusterIP) s.clusterIPs ??= [s.clusterIP];
    s.sessionAffinity ??= 'None';
    s.ipFamilies ??= ['IPv4'];
    s.ipFamilyPolicy ??= 'SingleStack';
    s.internalTrafficPolicy ??= 'Cluster';
    if (s.type === 'NodePort' || s.type === 'LoadBalancer') s.externalTrafficPolicy ??= 'Cluster';
    for (const p of s.ports ?? []) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port;
      if ((s.type === 'NodePort' || s.type === 'LoadBalancer') && p.nodePort === undefined) {
        let port: number;
        do port = 30000 + Math.floor(Math.random() * 2768);
        while (this.usedPorts.has(port));
        p.nodePort = port;
      }
      if (p.nodePort !== undefined) this.usedPorts.add(p.nodePort);
    }
    svc.status ??= { loadBalancer: {} };
  }

  release(svc: KObj): void {
    for (const p of svc.spec?.ports ?? []) if (p.nodePort !== undefined) this.usedPorts.delete(p.nodePort);
  }
}

export function admitSecret(sec: KObj): void {
  const causes: Cause[] = [];
  validateMeta(sec, true, causes);
  sec.type ??= 'Opaque';
  for (const [k, v] of Object.entries(sec.data ?? {}))
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw ApiError.badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 0 (key ${k})`);
  if (sec.stringData) {
    sec.data ??= {};
    for (const [k, v] of Object.entries(sec.stringData as Record<string, string>)) sec.data[k] = Buffer.from(v).toString('base64');
    delete sec.stringData;
  }
  for (const k of Object.keys(sec.data ?? {}))
    if (!/^[-._a-zA-Z0-9]+$/.test(k)) causes.push({ field: 'data[' + k + ']', message: `Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'` });
  if (causes.length) throw ApiError.invalid('Secret', sec.metadata.name, causes);
}

export function admitNamespace(ns: KObj): void {
  const causes: Cause[] = [];
  validateMeta(ns, false, causes, DNS1123_LABEL);
  if (causes.length) throw ApiError.invalid('Namespace', ns.metadata.name, causes);
  ns.metadata.labels = { ...(ns.metadata.labels ?? {}), 'kubernetes.io/metadata.name': ns.metadata.name };
  ns.spec = { finalizers: ['kubernetes'] };
  ns.status = { phase: 'Active' };
}

export function admitGeneric(o: KObj, kind: string, namespaced: boolean): void {
  const causes: Cause[] = [];
  validateMeta(o, namespaced, causes);
  if (causes.length) throw ApiError.invalid(kind, o.metadata.name, causes);
}
