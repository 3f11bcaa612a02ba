// Type checking of request bodies the way the API server's Go JSON decoder does it: a value of
// the wrong JSON type is refused with the decoder's own words, e.g. a node-affinity value sent as
// a number ("cannot unmarshal number into Go struct field NodeSelectorRequirement.spec.affinity…
// .values of type string"). Clients that build pod specs from untyped data (SkyPilot's int label
// values) hit exactly this on a real cluster, so the fake must too. Unknown fields pass (the real
// server only warns about them).
import { parseQuantity } from './quantity.js';

interface S {
  struct: string;
  fields: Record<string, T>;
}
type T = 'string' | 'int32' | 'int64' | 'bool' | 'quantity' | S | { arr: T; goType: string } | { map: T; goType: string };

const str: T = 'string';
const strings: T = { arr: 'string', goType: '[]string' };
const strMap: T = { map: 'string', goType: 'map[string]string' };
const quantities: T = { map: 'quantity', goType: 'v1.ResourceList' };
const arr = (t: S): T => ({ arr: t, goType: `[]v1.${t.struct}` });

const ObjectMeta: S = { struct: 'ObjectMeta', fields: { name: str, generateName: str, namespace: str, labels: strMap, annotations: strMap, finalizers: strings } };
const Requirement: S = { struct: 'NodeSelectorRequirement', fields: { key: str, operator: str, values: strings } };
const Term: S = { struct: 'NodeSelectorTerm', fields: { matchExpressions: arr(Requirement), matchFields: arr(Requirement) } };
const Affinity: S = {
  struct: 'Affinity',
  fields: {
    nodeAffinity: {
      struct: 'NodeAffinity',
      fields: {
        requiredDuringSchedulingIgnoredDuringExecution: { struct: 'NodeSelector', fields: { nodeSelectorTerms: arr(Term) } },
        preferredDuringSchedulingIgnoredDuringExecution: arr({ struct: 'PreferredSchedulingTerm', fields: { weight: 'int32', preference: Term } }),
      },
    },
  },
};
const KeyRef: S = { struct: 'SecretKeySelector', fields: { name: str, key: str, optional: 'bool' } };
const EnvVar: S = {
  struct: 'EnvVar',
  fields: {
    name: str,
    value: str,
    valueFrom: { struct: 'EnvVarSource', fields: { fieldRef: { struct: 'ObjectFieldSelector', fields: { fieldPath: str, apiVersion: str } }, secretKeyRef: KeyRef, configMapKeyRef: { struct: 'ConfigMapKeySelector', fields: { name: str, key: str, optional: 'bool' } } } },
  },
};
const Container: S = {
  struct: 'Container',
  fields: {
    name: str,
    image: str,
    command: strings,
    args: strings,
    workingDir: str,
    imagePullPolicy: str,
    stdin: 'bool',
    tty: 'bool',
    env: arr(EnvVar),
    envFrom: arr({ struct: 'EnvFromSource', fields: { prefix: str, secretRef: { struct: 'SecretEnvSource', fields: { name: str, optional: 'bool' } }, configMapRef: { struct: 'ConfigMapEnvSource', fields: { name: str, optional: 'bool' } } } }),
    resources: { struct: 'ResourceRequirements', fields: { limits: quantities, requests: quantities } },
    volumeMounts: arr({ struct: 'VolumeMount', fields: { name: str, mountPath: str, subPath: str, readOnly: 'bool' } }),
    ports: arr({ struct: 'ContainerPort', fields: { name: str, containerPort: 'int32', hostPort: 'int32', protocol: str } }),
  },
};
const Volume: S = {
  struct: 'Volume',
  fields: {
    name: str,
    emptyDir: { struct: 'EmptyDirVolumeSource', fields: { medium: str, sizeLimit: 'quantity' } },
    hostPath: { struct: 'HostPathVolumeSource', fields: { path: str, type: str } },
    secret: { struct: 'SecretVolumeSource', fields: { secretName: str, defaultMode: 'int32', optional: 'bool' } },
    configMap: { struct: 'ConfigMapVolumeSource', fields: { name: str, defaultMode: 'int32', optional: 'bool' } },
  },
};
const PodSpec: S = {
  struct: 'PodSpec',
  fields: {
    containers: arr(Container),
    initContainers: arr(Container),
    volumes: arr(Volume),
    nodeSelector: strMap,
    nodeName: str,
    restartPolicy: str,
    serviceAccountName: str,
    hostname: str,
    subdomain: str,
    schedulerName: str,
    priorityClassName: str,
    terminationGracePeriodSeconds: 'int64',
    activeDeadlineSeconds: 'int64',
    hostNetwork: 'bool',
    shareProcessNamespace: 'bool',
    tolerations: arr({ struct: 'Toleration', fields: { key: str, operator: str, value: str, effect: str, tolerationSeconds: 'int64' } }),
    affinity: Affinity,
  },
};
const ServicePort: S = { struct: 'ServicePort', fields: { name: str, protocol: str, port: 'int32', nodePort: 'int32' } };

export const SCHEMAS: Record<string, T> = {
  Pod: { struct: 'Pod', fields: { metadata: ObjectMeta, spec: PodSpec } },
  Service: { struct: 'Service', fields: { metadata: ObjectMeta, spec: { struct: 'ServiceSpec', fields: { type: str, selector: strMap, clusterIP: str, ports: arr(ServicePort), externalTrafficPolicy: str } } } },
  Secret: { struct: 'Secret', fields: { metadata: ObjectMeta, type: str, data: { map: 'string', goType: 'map[string][]uint8' }, stringData: strMap } },
  ConfigMap: { struct: 'ConfigMap', fields: { metadata: ObjectMeta, data: strMap } },
  Namespace: { struct: 'Namespace', fields: { metadata: ObjectMeta } },
  Node: { struct: 'Node', fields: { metadata: ObjectMeta, spec: { struct: 'NodeSpec', fields: { unschedulable: 'bool' } } } },
};

const jsonKind = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'object' : typeof v === 'boolean' ? 'bool' : typeof v;

/** Returns the decoder's error text, or undefined when `value` fits the schema. */
export function typeError(kind: string, value: unknown): string | undefined {
  const schema = SCHEMAS[kind];
  if (!schema) return undefined;
  let struct = kind;
  const fail = (v: unknown, path: string[], goType: string): string =>
    `json: cannot unmarshal ${jsonKind(v)} into Go struct field ${struct}.${path.join('.')} of type ${goType}`;
  const walk = (t: T, v: unknown, path: string[]): string | undefined => {
    if (v === null || v === undefined) return undefined; // JSON null leaves the Go zero value
    if (t === 'string') return typeof v === 'string' ? undefined : fail(v, path, 'string');
    if (t === 'bool') return typeof v === 'boolean' ? undefined : fail(v, path, 'bool');
    if (t === 'int32' || t === 'int64') return typeof v === 'number' && Number.isInteger(v) ? undefined : fail(v, path, t);
    if (t === 'quantity') {
      if ((typeof v === 'string' || typeof v === 'number') && parseQuantity(v) !== undefined) return undefined;
      return "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
    }
    if ('struct' in t) {
      if (jsonKind(v) !== 'object') return fail(v, path, `v1.${t.struct}`);
      const saved = struct;
      struct = t.struct;
      // Go names the innermost struct that holds the failing field, and the full path to it.
      for (const [k, ft] of Object.entries(t.fields)) {
        const e = walk(ft, (v as Record<string, unknown>)[k], [...path, k]);
        if (e) return e;
      }
      struct = saved;
      return undefined;
    }
    if ('arr' in t) {
      if (!Array.isArray(v)) return fail(v, path, t.goType);
      for (const item of v) {
        const e = walk(t.arr, item, path);
        if (e) return e;
      }
      return undefined;
    }
    if (jsonKind(v) !== 'object') return fail(v, path, t.goType);
    for (const item of Object.values(v as Record<string, unknown>)) {
      const e = walk(t.map, item, path);
      if (e) return e;
    }
    return undefined;
  };
  return walk(schema, value, []);
}
