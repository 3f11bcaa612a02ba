// The API surface the fake serves: one row per resource, from which discovery (/api, /apis,
// aggregated discovery v2), routing and `kubectl api-resources` all follow.
export interface ResourceDef {
  /** plural, as in URLs */
  name: string;
  singularName: string;
  kind: string;
  group: string; // '' = core
  version: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  subresources?: { name: string; kind: string; verbs: string[]; group?: string; version?: string }[];
}

const RW = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const RESOURCES: ResourceDef[] = [
  { name: 'namespaces', singularName: 'namespace', kind: 'Namespace', group: '', version: 'v1', namespaced: false, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['ns'], subresources: [{ name: 'status', kind: 'Namespace', verbs: ['get', 'patch', 'update'] }] },
  { name: 'nodes', singularName: 'node', kind: 'Node', group: '', version: 'v1', namespaced: false, verbs: RW, shortNames: ['no'], subresources: [{ name: 'status', kind: 'Node', verbs: ['get', 'patch', 'update'] }] },
  {
    name: 'pods', singularName: 'pod', kind: 'Pod', group: '', version: 'v1', namespaced: true, verbs: RW, shortNames: ['po'], categories: ['all'],
    subresources: [
      { name: 'attach', kind: 'PodAttachOptions', verbs: ['create', 'get'] },
      { name: 'binding', kind: 'Binding', verbs: ['create'] },
      { name: 'eviction', kind: 'Eviction', verbs: ['create'], group: 'policy', version: 'v1' },
      { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
      { name: 'status', kind: 'Pod', verbs: ['get', 'patch', 'update'] },
    ],
  },
  { name: 'services', singularName: 'service', kind: 'Service', group: '', version: 'v1', namespaced: true, verbs: RW.filter((v) => v !== 'deletecollection'), shortNames: ['svc'], categories: ['all'], subresources: [{ name: 'status', kind: 'Service', verbs: ['get', 'patch', 'update'] }] },
  { name: 'endpoints', singularName: 'endpoints', kind: 'Endpoints', group: '', version: 'v1', namespaced: true, verbs: RW, shortNames: ['ep'] },
  { name: 'secrets', singularName: 'secret', kind: 'Secret', group: '', version: 'v1', namespaced: true, verbs: RW },
  { name: 'configmaps', singularName: 'configmap', kind: 'ConfigMap', group: '', version: 'v1', namespaced: true, verbs: RW, shortNames: ['cm'] },
  { name: 'serviceaccounts', singularName: 'serviceaccount', kind: 'ServiceAccount', group: '', version: 'v1', namespaced: true, verbs: RW, shortNames: ['sa'] },
  { name: 'events', singularName: 'event', kind: 'Event', group: '', version: 'v1', namespaced: true, verbs: RW, shortNames: ['ev'] },
];

export function findResource(group: string, version: string, name: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.name === name);
}

export function byKind(kind: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.kind === kind);
}

export function apiVersionOf(r: ResourceDef): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** Legacy discovery: GET /api/v1 (APIResourceList). */
export function resourceList(group: string, version: string): Record<string, unknown> | undefined {
  const rs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (rs.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const r of rs) {
    resources.push({ name: r.name, singularName: r.singularName, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs, ...(r.shortNames ? { shortNames: r.shortNames } : {}), ...(r.categories ? { categories: r.categories } : {}) });
    for (const s of r.subresources ?? []) {
      resources.push({ name: `${r.name}/${s.name}`, singularName: '', namespaced: r.namespaced, ...(s.group ? { group: s.group, version: s.version } : {}), kind: s.kind, verbs: s.verbs });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

/** GET /apis: the fake serves only the core group, so the list is empty (as on a cluster with no extra groups). */
export function apiGroupList(): Record<string, unknown> {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
}

/** Aggregated discovery (apidiscovery.k8s.io/v2), what kubectl ≥ 1.30 asks for first. */
export function aggregatedDiscovery(core: boolean): Record<string, unknown> {
  const items = !core
    ? []
    : [
        {
          metadata: { creationTimestamp: null },
          versions: [
            {
              version: 'v1',
              freshness: 'Current',
              resources: RESOURCES.filter((r) => r.group === '').map((r) => ({
                resource: r.name,
                responseKind: { group: '', version: '', kind: r.kind },
                scope: r.namespaced ? 'Namespaced' : 'Cluster',
                singularResource: r.singularName,
                verbs: r.verbs,
                ...(r.shortNames ? { shortNames: r.shortNames } : {}),
                ...(r.categories ? { categories: r.categories } : {}),
                ...(r.subresources
                  ? {
                      subresources: r.subresources.map((s) => ({
                        subresource: s.name,
                        responseKind: { group: s.group ?? '', version: s.version ?? '', kind: s.kind },
                        verbs: s.verbs,
                      })),
                    }
                  : {}),
              })),
            },
          ],
        },
      ];
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}

export function versionInfo(): Record<string, unknown> {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0-aloft-fake',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: 'go1.23.4',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** GET /openapi/v3: the index of group-version documents. */
export function openapiV3Index(): Record<string, unknown> {
  return { paths: { 'api/v1': { serverRelativeURL: '/openapi/v3/api/v1?hash=aloftfake0001' } } };
}

/**
 * GET /openapi/v3/api/v1: enough of the document for kubectl to learn that the server validates
 * fields itself (a PATCH operation per kind with the `fieldValidation` query parameter), so
 * `kubectl apply/create` sends `fieldValidation=Strict` instead of validating against schemas
 * the fake does not publish.
 */
export function openapiV3CoreV1(): Record<string, unknown> {
  const param = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
  const query = ['dryRun', 'fieldManager', 'fieldValidation', 'pretty'].map(param);
  const paths: Record<string, unknown> = {};
  for (const r of RESOURCES.filter((x) => x.group === '')) {
    const gvk = { 'x-kubernetes-group-version-kind': { group: '', version: 'v1', kind: r.kind } };
    const base = r.namespaced ? `/api/v1/namespaces/{namespace}/${r.name}` : `/api/v1/${r.name}`;
    const op = (verb: string, action: string) => ({ operationId: `${verb}${r.namespaced ? 'Namespaced' : ''}${r.kind}`, tags: ['core_v1'], parameters: query, 'x-kubernetes-action': action, ...gvk, responses: { '200': { description: 'OK' } } });
    paths[base] = { get: op('list', 'list'), post: op('create', 'post') };
    paths[`${base}/{name}`] = { get: op('read', 'get'), put: op('replace', 'put'), patch: op('patch', 'patch'), delete: op('delete', 'delete') };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas: {} } };
}
