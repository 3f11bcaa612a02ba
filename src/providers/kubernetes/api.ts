// The REST calls the provider makes, through the real SDK's CoreV1Api, with API errors turned into
// one line (the server's Status message, or why the server could not be reached).
import { ApiException, CoreV1Api, Watch, type CoreV1Event, type V1ConfigMap, type V1Node, type V1Pod, type V1Secret, type V1Service } from '@kubernetes/client-node';
import type { KubeContext } from './kubeconfig.js';

export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

function statusMessage(body: unknown): { message?: string; reason?: string } {
  let b = body;
  if (typeof body === 'string') {
    try {
      b = JSON.parse(body);
    } catch {
      return { message: body.trim().slice(0, 300) || undefined };
    }
  }
  const s = b as { message?: string; reason?: string } | undefined;
  return { message: s?.message, reason: s?.reason };
}

/** One line for any error of an API call in `context`. */
export function apiError(context: string, what: string, err: unknown): KubeApiError {
  if (err instanceof KubeApiError) return err;
  if (err instanceof ApiException) {
    const { message, reason } = statusMessage(err.body);
    const code = err.code;
    const why =
      code === 401
        ? 'unauthorized (the kubeconfig credentials were refused)'
        : code === 403
          ? `forbidden${message ? `: ${message}` : ''}`
          : (message ?? `HTTP ${code}`);
    return new KubeApiError(`context ${context}: ${what}: ${why}`, code, reason);
  }
  const e = err as NodeJS.ErrnoException & { cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code;
  const msg = code ? `${code}${e.cause?.message ? ` (${e.cause.message})` : ''}` : (e?.message ?? String(err));
  return new KubeApiError(`context ${context}: ${what}: cannot reach the API server: ${msg.split('\n')[0]}`);
}

export class KubeApi {
  readonly core: CoreV1Api;

  constructor(readonly ctx: KubeContext) {
    this.core = ctx.kc.makeApiClient(CoreV1Api);
  }

  get name(): string {
    return this.ctx.name;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw apiError(this.ctx.name, what, err);
    }
  }

  listNodes(): Promise<V1Node[]> {
    return this.call('list nodes', async () => (await this.core.listNode()).items);
  }

  /** Every pod that may hold resources, in all namespaces (for free capacity). */
  listActivePods(): Promise<V1Pod[]> {
    return this.call('list pods', async () => (await this.core.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' })).items);
  }

  listPods(namespace: string, labelSelector: string): Promise<V1Pod[]> {
    return this.call(`list pods in ${namespace}`, async () => (await this.core.listNamespacedPod({ namespace, labelSelector })).items);
  }

  readPod(namespace: string, name: string): Promise<V1Pod | undefined> {
    return this.call(`read pod ${name}`, async () => {
      try {
        return await this.core.readNamespacedPod({ namespace, name });
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return undefined;
        throw err;
      }
    });
  }

  createPod(namespace: string, body: V1Pod): Promise<V1Pod> {
    return this.call(`create pod ${body.metadata?.name}`, () => this.core.createNamespacedPod({ namespace, body }));
  }

  async deletePod(namespace: string, name: string, gracePeriodSeconds?: number): Promise<void> {
    await this.call(`delete pod ${name}`, async () => {
      try {
        await this.core.deleteNamespacedPod({ namespace, name, ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}) });
      } catch (err) {
        if (!(err instanceof ApiException && err.code === 404)) throw err;
      }
    });
  }

  async deletePods(namespace: string, labelSelector: string, gracePeriodSeconds?: number): Promise<void> {
    await this.call(`delete pods in ${namespace}`, () =>
      this.core.deleteCollectionNamespacedPod({ namespace, labelSelector, ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}) }),
    );
  }

  listServices(namespace: string, labelSelector: string): Promise<V1Service[]> {
    return this.call(`list services in ${namespace}`, async () => (await this.core.listNamespacedService({ namespace, labelSelector })).items);
  }

  createService(namespace: string, body: V1Service): Promise<V1Service> {
    return this.call(`create service ${body.metadata?.name}`, () => this.core.createNamespacedService({ namespace, body }));
  }

  async deleteService(namespace: string, name: string): Promise<void> {
    await this.call(`delete service ${name}`, async () => {
      try {
        await this.core.deleteNamespacedService({ namespace, name });
      } catch (err) {
        if (!(err instanceof ApiException && err.code === 404)) throw err;
      }
    });
  }

  listSecrets(namespace: string, labelSelector: string): Promise<V1Secret[]> {
    return this.call(`list secrets in ${namespace}`, async () => (await this.core.listNamespacedSecret({ namespace, labelSelector })).items);
  }

  async deleteSecrets(namespace: string, labelSelector: string): Promise<void> {
    await this.call(`delete secrets in ${namespace}`, () => this.core.deleteCollectionNamespacedSecret({ namespace, labelSelector }));
  }

  listConfigMaps(namespace: string, labelSelector: string): Promise<V1ConfigMap[]> {
    return this.call(`list configmaps in ${namespace}`, async () => (await this.core.listNamespacedConfigMap({ namespace, labelSelector })).items);
  }

  /** Creates a ConfigMap, or leaves one of that name in place (a retried provisioning). */
  async ensureConfigMap(namespace: string, body: V1ConfigMap): Promise<void> {
    await this.call(`create configmap ${body.metadata?.name}`, async () => {
      try {
        await this.core.createNamespacedConfigMap({ namespace, body });
      } catch (err) {
        if (!(err instanceof ApiException && err.code === 409)) throw err;
      }
    });
  }

  async deleteConfigMaps(namespace: string, labelSelector: string): Promise<void> {
    await this.call(`delete configmaps in ${namespace}`, () => this.core.deleteCollectionNamespacedConfigMap({ namespace, labelSelector }));
  }

  /** Events about one object, oldest first. */
  eventsFor(namespace: string, name: string): Promise<CoreV1Event[]> {
    return this.call(`list events of ${name}`, async () => {
      const list = await this.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
      return list.items.sort((a, b) => eventTime(a) - eventTime(b));
    });
  }

  async version(): Promise<string> {
    return this.call('get version', async () => {
      const { VersionApi } = await import('@kubernetes/client-node');
      const v = await this.ctx.kc.makeApiClient(VersionApi).getCode();
      return v.gitVersion;
    });
  }

  /** Watches pods of a namespace matching `labelSelector`; returns a stop function. `done` gets the error that ended it. */
  async watchPods(
    namespace: string,
    labelSelector: string,
    onEvent: (type: string, pod: V1Pod) => void,
    done: (err?: unknown) => void,
  ): Promise<() => void> {
    const w = new Watch(this.ctx.kc);
    const ctl = await w.watch(`/api/v1/namespaces/${namespace}/pods`, { labelSelector }, (type: string, obj: V1Pod) => onEvent(type, obj), (err: unknown) => done(err ?? undefined));
    return () => ctl.abort();
  }
}

function eventTime(e: CoreV1Event): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t as unknown as string).getTime() : 0;
}
