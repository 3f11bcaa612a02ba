// The REST verbs on stored objects, with what the real registry adds per resource: create with
// generateName, admission and namespace checks; update with resourceVersion preconditions and
// pod-spec immutability; graceful pod deletion (deletionTimestamp, then the kubelet removes the
// pod once its processes are gone); namespace termination; eviction and binding subresources.
import { parse as parseYaml } from 'yaml';
import { admitGeneric, admitNamespace, admitPod, admitSecret, generateNameSuffix, type ServiceAllocator } from './admission.js';
import type { FakeContext } from './context.js';
import { decodeCheck } from './decode.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';
import { apiVersionOf, findResource, type ResourceDef } from './resources.js';
import { ApiError, clone, now, type KObj } from './store.js';

/** ?fieldValidation= (Strict: unknown fields fail the request; Warn, the default: Warning headers). */
export interface FieldValidation {
  mode: string;
  warnings: string[];
}

const reported = new Set<string>();

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export class Rest {
  constructor(
    private readonly ctx: FakeContext,
    private readonly services: ServiceAllocator,
  ) {}

  get(r: ResourceDef, ns: string | undefined, name: string): KObj {
    const o = this.ctx.store.get(r.name, r.namespaced ? ns : undefined, name);
    if (!o) throw ApiError.notFound(r.name, name, r.group);
    return o;
  }

  private checkNamespace(r: ResourceDef, ns: string | undefined, name: string): void {
    if (!r.namespaced) return;
    const n = this.ctx.store.get('namespaces', undefined, ns!);
    if (!n) throw ApiError.notFound('namespaces', ns!);
    if (n.metadata.deletionTimestamp && r.name !== 'events')
      throw new ApiError(403, 'Forbidden', `${r.name} "${name}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`, { kind: r.name });
  }

  private decode(r: ResourceDef, body: unknown, ns: string | undefined, fv?: FieldValidation): KObj {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw ApiError.badRequest(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
    const o = body as KObj;
    if (o.kind && o.kind !== r.kind) throw ApiError.badRequest(`the kind in the data (${o.kind}) does not match the expected kind (${r.kind})`);
    if (o.apiVersion && o.apiVersion !== apiVersionOf(r)) throw ApiError.badRequest(`the API version in the data (${o.apiVersion}) does not match the expected API version (${apiVersionOf(r)})`);
    this.checkFields(r, o, fv);
    o.kind = r.kind;
    o.apiVersion = apiVersionOf(r);
    o.metadata ??= { name: '' };
    if (r.namespaced) {
      if (o.metadata.namespace && ns && o.metadata.namespace !== ns) throw ApiError.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      o.metadata.namespace = ns;
    }
    return o;
  }

  private checkFields(r: ResourceDef, o: unknown, fv?: FieldValidation): void {
    const { error, unknown } = decodeCheck(r.kind, o);
    const cannot = `${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}`;
    if (error) throw ApiError.badRequest(`${cannot}: ${error}`);
    if (!unknown.length || fv?.mode === 'Ignore') return;
    if (fv?.mode === 'Strict') throw ApiError.badRequest(`${cannot}: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
    for (const f of unknown) {
      fv?.warnings.push(`unknown field "${f}"`);
      // Clients rarely show Warning headers; a test log does.
      if (!reported.has(`${r.kind} ${f}`)) process.stderr.write(`fake kube: ${r.kind} with unknown field "${f}" (a real API server drops it, with a warning)\n`);
      reported.add(`${r.kind} ${f}`);
    }
  }

  private admit(r: ResourceDef, o: KObj, isUpdate: boolean): void {
    switch (r.kind) {
      case 'Pod':
        if (!isUpdate) admitPod(o, (sa) => !!this.ctx.store.get('serviceaccounts', o.metadata.namespace, sa));
        break;
      case 'Service': this.services.admit(o, isUpdate); break;
      case 'Secret': admitSecret(o); break;
      case 'Namespace': if (!isUpdate) admitNamespace(o); break;
      default: admitGeneric(o, r.kind, r.namespaced);
    }
  }

  create(r: ResourceDef, ns: string | undefined, body: unknown, dryRun = false, fv?: FieldValidation): KObj {
    const o = this.decode(r, body, ns, fv);
    if (!o.metadata.name && o.metadata.generateName) o.metadata.name = o.metadata.generateName + generateNameSuffix();
    for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink'] as const) delete o.metadata[k];
    this.checkNamespace(r, ns, o.metadata.name);
    if (r.kind !== 'Pod' && r.kind !== 'Node') delete o.status;
    this.admit(r, o, false);
    if (r.kind === 'Node') o.status ??= {};
    if (dryRun) return o;
    const created = this.ctx.store.create(r.name, o);
    if (r.kind === 'Namespace') this.populateNamespace(created.metadata.name);
    return created;
  }

  /** What the service-account and root-CA controllers put in every new namespace. */
  populateNamespace(ns: string): void {
    const { store } = this.ctx;
    if (!store.get('serviceaccounts', ns, 'default')) store.create('serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } });
    if (!store.get('configmaps', ns, 'kube-root-ca.crt'))
      store.create('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: ns, annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } }, data: { 'ca.crt': '' } });
  }

  update(r: ResourceDef, ns: string | undefined, name: string, body: unknown, sub?: string, fv?: FieldValidation): KObj {
    const cur = this.get(r, ns, name);
    const o = this.decode(r, body, r.namespaced ? ns : undefined, fv);
    if (o.metadata.name && o.metadata.name !== name) throw ApiError.badRequest(`the name of the object (${o.metadata.name}) does not match the name on the URL (${name})`);
    o.metadata.name = name;
    if (o.metadata.resourceVersion && o.metadata.resourceVersion !== cur.metadata.resourceVersion) throw ApiError.conflict(r.name, name);
    return this.replace(r, cur, o, sub);
  }

  private replace(r: ResourceDef, cur: KObj, o: KObj, sub?: string): KObj {
    let next: KObj;
    if (sub === 'status') next = { ...cur, status: o.status };
    else {
      next = { ...o, metadata: { ...o.metadata, uid: cur.metadata.uid, creationTimestamp: cur.metadata.creationTimestamp, deletionTimestamp: cur.metadata.deletionTimestamp, deletionGracePeriodSeconds: cur.metadata.deletionGracePeriodSeconds } };
      for (const k of ['deletionTimestamp', 'deletionGracePeriodSeconds'] as const) if (next.metadata[k] === undefined) delete next.metadata[k];
      if (r.kind === 'Pod' || r.kind === 'Namespace' || r.kind === 'Service' || r.kind === 'Node') next.status = cur.status;
      if (r.kind === 'Pod') this.checkPodUpdate(cur, next);
      else if (r.kind !== 'Namespace') this.admit(r, next, true);
      if (r.kind === 'Namespace') next.spec = cur.spec;
    }
    return this.ctx.store.put(r.name, next);
  }

  private checkPodUpdate(cur: KObj, next: KObj): void {
    const strip = (s: any) => {
      const c = clone(s ?? {});
      for (const x of [...(c.containers ?? []), ...(c.initContainers ?? [])]) delete x.image;
      delete c.activeDeadlineSeconds;
      delete c.tolerations;
      return JSON.stringify(c);
    };
    if (strip(cur.spec) !== strip(next.spec))
      throw ApiError.invalid('Pod', cur.metadata.name, [
        { field: 'spec', message: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)', reason: 'FieldValueForbidden' },
      ]);
  }

  patch(r: ResourceDef, ns: string | undefined, name: string, contentType: string, body: string, sub?: string, fv?: FieldValidation): KObj {
    const cur = this.get(r, ns, name);
    let parsed: unknown;
    try {
      parsed = /apply-patch\+yaml/.test(contentType) ? parseYaml(body) : JSON.parse(body);
    } catch (err) {
      throw ApiError.badRequest(`error decoding patch: ${(err as Error).message}`);
    }
    const type = contentType.split(';')[0]!.trim();
    let next: KObj;
    if (type === 'application/json-patch+json') next = jsonPatch(cur, parsed);
    else if (type === 'application/merge-patch+json') next = mergePatch(cur, parsed);
    else if (type === 'application/strategic-merge-patch+json') next = strategicMergePatch(cur, parsed);
    else if (type === 'application/apply-patch+yaml') next = strategicMergePatch(cur, parsed);
    else throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`);
    const pv = (parsed as KObj)?.metadata?.resourceVersion;
    if (pv && pv !== cur.metadata.resourceVersion) throw ApiError.conflict(r.name, name);
    this.checkFields(r, next, fv);
    next.metadata.name = name;
    return this.replace(r, cur, next, sub);
  }

  delete(r: ResourceDef, ns: string | undefined, name: string, opts: DeleteOptions): KObj {
    const { store } = this.ctx;
    const cur = this.get(r, ns, name);
    if (opts.preconditions?.uid && opts.preconditions.uid !== cur.metadata.uid)
      throw new ApiError(409, 'Conflict', `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${cur.metadata.uid}`);
    if (opts.preconditions?.resourceVersion && opts.preconditions.resourceVersion !== cur.metadata.resourceVersion) throw ApiError.conflict(r.name, name);
    if (r.kind === 'Pod') return this.deletePod(cur, opts.gracePeriodSeconds);
    if (r.kind === 'Namespace') {
      if (['default', 'kube-system', 'kube-public', 'kube-node-lease'].includes(name))
        throw new ApiError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, kind: 'namespaces' });
      return (
        store.mutate('namespaces', undefined, name, (n) => {
          if (n.metadata.deletionTimestamp) return false;
          n.metadata.deletionTimestamp = now();
          n.status = { phase: 'Terminating' };
        }) ?? cur
      );
    }
    if (r.kind === 'Service') this.services.release(cur);
    store.remove(r.name, r.namespaced ? ns : undefined, name);
    return cur;
  }

  /** Graceful deletion: a running pod gets a deletionTimestamp and the kubelet finishes the job. */
  deletePod(cur: KObj, grace?: number): KObj {
    const { store } = this.ctx;
    const ns = cur.metadata.namespace;
    const name = cur.metadata.name;
    const phase = cur.status?.phase;
    let g = grace ?? cur.spec.terminationGracePeriodSeconds ?? 30;
    if (!cur.spec.nodeName || phase === 'Succeeded' || phase === 'Failed') g = 0;
    if (g === 0 && !cur.spec.nodeName) return store.remove('pods', ns, name) ?? cur;
    const marked = store.mutate('pods', ns, name, (p) => {
      const prev = p.metadata.deletionGracePeriodSeconds;
      if (p.metadata.deletionTimestamp && prev !== undefined && prev <= g) return false;
      p.metadata.deletionTimestamp = new Date(Date.now() + g * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
      p.metadata.deletionGracePeriodSeconds = g;
    });
    return marked ?? cur;
  }

  /** POST pods/NAME/eviction (policy/v1): a graceful delete, as there are no PodDisruptionBudgets here. */
  evict(ns: string, name: string, body: any): Record<string, unknown> {
    const cur = this.get(findResource('', 'v1', 'pods')!, ns, name);
    this.deletePod(cur, body?.deleteOptions?.gracePeriodSeconds);
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
  }

  bind(ns: string, name: string, body: any): Record<string, unknown> {
    const node = body?.target?.name;
    if (!node) throw ApiError.badRequest('binding target name is required');
    const p = this.ctx.store.mutate('pods', ns, name, (pod) => {
      if (pod.spec.nodeName) throw new ApiError(409, 'Conflict', `Operation cannot be fulfilled on pods/binding "${name}": pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
      pod.spec.nodeName = node;
    });
    if (!p) throw ApiError.notFound('pods', name);
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
  }
}
