// The kubelet's work for one pod: sandbox, image "pulls", init containers in order to completion,
// then the containers, restarts by restartPolicy with CrashLoopBackOff, status (phase,
// conditions, container states) written back to the store, graceful termination and eviction.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, containerArgv, containerEnv, containerMounts, etcHosts, prepareVolumes } from './container-config.js';
import { normalizeImage, type FakeContext } from './context.js';
import { ContainerLog } from './logs.js';
import { containerStatus, podPhase, type ContainerRuntimeState } from './pod-status.js';
import { Sandbox, StartError, type RunningContainer } from './sandbox.js';
import { now, type KObj } from './store.js';


type Cond = { status: 'True' | 'False'; time: string; reason?: string; message?: string };

const sleep = (ms: number, signal: AbortSignal): Promise<boolean> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const t = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve(true)), ms);
    const onAbort = () => (clearTimeout(t), resolve(false));
    signal.addEventListener('abort', onAbort, { once: true });
  });

export class PodRunner {
  readonly ns: string;
  readonly name: string;
  readonly uid: string;
  readonly containers: ContainerRuntimeState[];
  private sandbox?: Sandbox;
  private readonly dir: string;
  private readonly abort = new AbortController();
  private stopping = false;
  private readonly conds = new Map<string, Cond>();
  private podIP = '';
  private startTime = '';
  private failed?: { reason?: string; message?: string };
  private done: Promise<void> = Promise.resolve();
  private sandboxGone?: Promise<void>;

  constructor(
    private readonly ctx: FakeContext,
    pod: KObj,
    readonly nodeName: string,
    private readonly pulled: Set<string>,
  ) {
    this.ns = pod.metadata.namespace!;
    this.name = pod.metadata.name;
    this.uid = pod.metadata.uid!;
    this.dir = join(ctx.rootDir, 'pods', `${this.ns}_${this.name}_${this.uid}`);
    const mk = (spec: any, init: boolean): ContainerRuntimeState => ({
      name: spec.name,
      init,
      spec,
      state: { waiting: { reason: init ? 'PodInitializing' : 'ContainerCreating' } },
      lastState: {},
      restartCount: 0,
      logs: [],
      done: false,
    });
    this.containers = [...(pod.spec.initContainers ?? []).map((c: any) => mk(c, true)), ...pod.spec.containers.map((c: any) => mk(c, false))];
    this.setCond('PodScheduled', true);
  }

  private get pod(): KObj | undefined {
    return this.ctx.store.get('pods', this.ns, this.name);
  }

  private event(type: 'Normal' | 'Warning', reason: string, message: string, c?: ContainerRuntimeState): void {
    const pod = this.pod;
    if (!pod) return;
    const fieldPath = c ? `spec.${c.init ? 'initContainers' : 'containers'}{${c.name}}` : undefined;
    this.ctx.events.record(pod, type, reason, message, { component: 'kubelet', host: this.nodeName }, fieldPath);
  }

  private setCond(type: string, ok: boolean, reason?: string, message?: string): void {
    const cur = this.conds.get(type);
    const status = ok ? 'True' : 'False';
    this.conds.set(type, { status, time: cur?.status === status ? cur.time : now(), ...(reason ? { reason } : {}), ...(message ? { message } : {}) });
  }

  container(name: string): ContainerRuntimeState | undefined {
    return this.containers.find((c) => c.name === name);
  }

  /** Starts a process in a running container (`kubectl exec`). */
  exec(c: ContainerRuntimeState, argv: string[], tty: boolean): ChildProcess {
    if (!c.running || !this.sandbox) throw new Error(`container not running ("${c.name}")`);
    return this.sandbox.exec(c.running, argv, { env: c.env ?? {}, workingDir: c.workingDir ?? '/', tty });
  }

  get pausePid(): number | undefined {
    return this.sandbox?.pausePid;
  }

  get ip(): string {
    return this.podIP;
  }

  start(): void {
    this.done = this.run().catch((err) => {
      if (this.stopping) return;
      process.stderr.write(`fake kube: pod ${this.ns}/${this.name}: ${(err as Error).stack}\n`);
      this.failed = { reason: 'FailedCreatePodSandBox', message: String((err as Error).message) };
      this.event('Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(err as Error).message}`);
      this.sync();
    });
  }

  private async run(): Promise<void> {
    this.podIP = this.ctx.allocatePodIp();
    this.startTime = now();
    this.sync();
    const pod = this.pod;
    if (!pod) return;
    this.sandbox = await Sandbox.create(pod.spec.hostname ?? this.name);
    if (this.stopping) return void (await this.sandbox.destroy());
    this.setCond('PodReadyToStartContainers', true);
    let volumes: Map<string, string> | undefined;
    while (!volumes) {
      try {
        volumes = prepareVolumes(this.ctx, pod, this.dir);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        this.event('Warning', 'FailedMount', err.message);
        if (!(await sleep(this.ctx.timing.imagePullBackoffMs, this.abort.signal))) return;
      }
    }
    this.sync();
    const restartPolicy: string = pod.spec.restartPolicy;
    for (const c of this.containers.filter((x) => x.init)) {
      let backoff = this.ctx.timing.crashLoopBackoffMs;
      for (;;) {
        const code = await this.runOnce(c, volumes);
        if (code === undefined) return;
        if (code === 0) break;
        if (restartPolicy === 'Never') {
          this.failed = {};
          c.done = true;
          this.sync();
          return this.finish();
        }
        if (!(await this.backOff(c, backoff))) return;
        backoff = Math.min(backoff * 2, this.ctx.timing.crashLoopBackoffMs * 8);
      }
      c.done = true;
      this.sync();
    }
    await Promise.all(
      this.containers
        .filter((x) => !x.init)
        .map(async (c) => {
          let backoff = this.ctx.timing.crashLoopBackoffMs;
          for (;;) {
            const code = await this.runOnce(c, volumes!);
            if (code === undefined) return;
            if (!(restartPolicy === 'Always' || (restartPolicy === 'OnFailure' && code !== 0))) {
              c.done = true;
              this.sync();
              return;
            }
            if (!(await this.backOff(c, backoff))) return;
            backoff = Math.min(backoff * 2, this.ctx.timing.crashLoopBackoffMs * 8);
          }
        }),
    );
    if (!this.stopping) await this.finish();
  }

  /** A pod that will run nothing more: its sandbox goes (leftover processes are killed), its status stays. */
  private async finish(): Promise<void> {
    await this.destroySandbox();
    this.sync();
  }

  private async backOff(c: ContainerRuntimeState, ms: number): Promise<boolean> {
    c.restartCount++;
    const msg = `back-off ${Math.round(ms / 100) / 10}s restarting failed container=${c.name} pod=${this.name}_${this.ns}(${this.uid})`;
    c.state = { waiting: { reason: 'CrashLoopBackOff', message: msg } };
    this.event('Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${this.name}_${this.ns}(${this.uid})`, c);
    this.sync();
    return sleep(ms, this.abort.signal);
  }

  /** Pulls the image the fake's way: instantly, or failing with the runtime's words until it becomes pullable. */
  private async pull(c: ContainerRuntimeState): Promise<boolean> {
    const image: string = c.spec.image;
    const key = `${this.nodeName}\0${image}`;
    let backoff = this.ctx.timing.imagePullBackoffMs;
    for (;;) {
      if (this.ctx.isPullable(image)) {
        if (this.pulled.has(key) && c.spec.imagePullPolicy !== 'Always') {
          this.event('Normal', 'Pulled', `Container image "${image}" already present on machine`, c);
          return true;
        }
        this.event('Normal', 'Pulling', `Pulling image "${image}"`, c);
        const t0 = Date.now();
        if (this.ctx.timing.pullMs && !(await sleep(this.ctx.timing.pullMs, this.abort.signal))) return false;
        const secs = `${((Date.now() - t0) / 1000).toFixed(3)}s`;
        this.event('Normal', 'Pulled', `Successfully pulled image "${image}" in ${secs} (${secs} including waiting). Image size: 0 bytes.`, c);
        this.pulled.add(key);
        return true;
      }
      const ref = normalizeImage(image);
      const err = `rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`;
      this.event('Normal', 'Pulling', `Pulling image "${image}"`, c);
      this.event('Warning', 'Failed', `Failed to pull image "${image}": ${err}`, c);
      this.event('Warning', 'Failed', 'Error: ErrImagePull', c);
      c.state = { waiting: { reason: 'ErrImagePull', message: err } };
      this.sync();
      if (!(await sleep(this.ctx.timing.imagePullBackoffMs, this.abort.signal))) return false;
      c.state = { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}": ErrImagePull: ${err}` } };
      this.event('Normal', 'BackOff', `Back-off pulling image "${image}"`, c);
      this.event('Warning', 'Failed', 'Error: ImagePullBackOff', c);
      this.sync();
      if (!(await sleep(backoff, this.abort.signal))) return false;
      backoff = Math.min(backoff * 2, this.ctx.timing.imagePullBackoffMs * 8);
    }
  }

  /** One run of a container: pull, create, start, wait. Undefined when the pod is stopping. */
  private async runOnce(c: ContainerRuntimeState, volumes: Map<string, string>): Promise<number | undefined> {
    if (this.stopping || !(await this.pull(c)) || this.stopping) return undefined;
    const pod = this.pod;
    if (!pod || !this.sandbox) return undefined;
    const image = this.ctx.image(c.spec.image);
    let env: Record<string, string>;
    let argv: string[];
    for (;;) {
      try {
        env = containerEnv(this.ctx, pod, c.spec, image);
        argv = containerArgv(c.spec, image, env);
        break;
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        c.state = { waiting: { reason: 'CreateContainerConfigError', message: err.message } };
        this.event('Warning', 'Failed', `Error: ${err.message}`, c);
        this.sync();
        if (!(await sleep(this.ctx.timing.imagePullBackoffMs, this.abort.signal))) return undefined;
      }
    }
    const workingDir: string = c.spec.workingDir ?? image.workingDir ?? '/';
    const id = randomBytes(32).toString('hex');
    const log = new ContainerLog();
    this.event('Normal', 'Created', `Created container: ${c.name}`, c);
    let running: RunningContainer;
    try {
      running = await this.sandbox.start({
        name: c.name,
        dir: join(this.dir, 'containers', `${c.name}-${c.restartCount}`),
        argv,
        env,
        workingDir,
        mounts: containerMounts(c.spec, volumes),
        files: image.files,
        hide: image.hide,
        etcHosts: etcHosts(pod),
        stdin: !!c.spec.stdin,
      });
    } catch (err) {
      if (this.stopping) return undefined;
      // What the runtime reports when a container cannot start: StartError, exit code 128.
      const message = `failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: ${(err as Error).message}: unknown`;
      if (!(err instanceof StartError)) process.stderr.write(`fake kube: pod ${this.ns}/${this.name} container ${c.name}: ${message}\n`);
      this.event('Warning', 'Failed', `Error: ${message}`, c);
      const t = now();
      c.state = { terminated: { exitCode: 128, reason: 'StartError', message, startedAt: t, finishedAt: t } };
      c.lastState = { terminated: c.state['terminated'] };
      this.sync();
      return 128;
    }
    running.process.stdout!.on('data', (d: Buffer) => log.append('stdout', d));
    running.process.stderr!.on('data', (d: Buffer) => log.append('stderr', d));
    c.logs.push(log);
    if (c.logs.length > 2) c.logs.shift();
    Object.assign(c, { running, env, workingDir, containerID: `containerd://${id}` });
    const startedAt = now();
    c.state = { running: { startedAt } };
    this.event('Normal', 'Started', `Started container ${c.name}`, c);
    this.sync();
    const exit = await running.exited;
    // The container's leftovers (background processes it started) die with it.
    this.sandbox?.signalContainer(running, 'SIGKILL');
    running.release();
    await new Promise<void>((r) => (running.process.stdout!.closed ? r() : running.process.stdout!.once('close', () => r())));
    log.end();
    c.running = undefined;
    const terminated = { exitCode: exit.code, reason: exit.code === 0 ? 'Completed' : 'Error', startedAt, finishedAt: now(), containerID: c.containerID };
    c.state = { terminated };
    c.lastState = {};
    this.sync();
    if (this.stopping) return undefined;
    c.lastState = { terminated };
    return exit.code;
  }

  /** Writes the pod's status from this runner's state. */
  sync(): void {
    const phase = podPhase(this.containers, !!this.failed, this.pod?.spec.restartPolicy ?? 'Always');
    const init = this.containers.filter((c) => c.init);
    const main = this.containers.filter((c) => !c.init);
    const terminal = phase === 'Succeeded' || phase === 'Failed';
    const initPending = init.filter((c) => !c.done).map((c) => c.name);
    this.setCond('Initialized', initPending.length === 0, initPending.length ? 'ContainersNotInitialized' : terminal && phase === 'Succeeded' && init.length ? 'PodCompleted' : undefined, initPending.length ? `containers with incomplete status: [${initPending.join(' ')}]` : undefined);
    const unready = main.filter((c) => !c.state['running']).map((c) => c.name);
    const readyReason = terminal ? 'PodCompleted' : unready.length ? 'ContainersNotReady' : undefined;
    const readyMsg = unready.length && !terminal ? `containers with unready status: [${unready.join(' ')}]` : undefined;
    this.setCond('ContainersReady', unready.length === 0, readyReason, readyMsg);
    this.setCond('Ready', unready.length === 0, readyReason, readyMsg);
    if (this.failed?.reason === 'Evicted') this.setCond('DisruptionTarget', true, 'TerminationByKubelet', this.failed.message);
    if (terminal || !this.sandbox) this.setCond('PodReadyToStartContainers', !!this.sandbox && this.sandbox.alive);
    const order = ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled', 'DisruptionTarget'];
    const hostIP = this.ctx.nodeIp(this.nodeName);
    this.ctx.store.mutate('pods', this.ns, this.name, (p) => {
      if (p.metadata.uid !== this.uid) return false;
      p.status = {
        phase,
        conditions: order
          .filter((t) => this.conds.has(t))
          .map((t) => {
            const c = this.conds.get(t)!;
            return { type: t, status: c.status, lastProbeTime: null, lastTransitionTime: c.time, ...(c.reason ? { reason: c.reason } : {}), ...(c.message ? { message: c.message } : {}) };
          }),
        ...(this.failed?.reason ? { reason: this.failed.reason, message: this.failed.message } : {}),
        hostIP,
        hostIPs: [{ ip: hostIP }],
        ...(this.podIP ? { podIP: this.podIP, podIPs: [{ ip: this.podIP }] } : {}),
        ...(this.startTime ? { startTime: this.startTime } : {}),
        ...(init.length ? { initContainerStatuses: init.map(containerStatus) } : {}),
        containerStatuses: main.map(containerStatus),
        qosClass: p.status?.qosClass,
      };
    });
  }

  private async destroySandbox(): Promise<void> {
    const sb = this.sandbox;
    if (!sb) return;
    this.sandboxGone ??= sb.destroy();
    await this.sandboxGone;
  }

  /**
   * Stops the pod: SIGTERM to every running container, SIGKILL (the whole sandbox) once they
   * have exited or the grace period is over. `evicted` leaves the pod Failed/Evicted.
   */
  async terminate(graceSeconds: number, evicted?: string): Promise<void> {
    const first = !this.stopping;
    this.stopping = true;
    this.abort.abort();
    if (evicted) this.failed = { reason: 'Evicted', message: evicted };
    if (first) {
      const running = this.containers.filter((c) => c.running);
      for (const c of running) {
        this.event('Normal', 'Killing', `Stopping container ${c.name}`, c);
        if (graceSeconds > 0) this.sandbox?.signalContainer(c.running!, 'SIGTERM');
      }
      if (evicted) this.event('Warning', 'Evicted', evicted);
      if (graceSeconds > 0)
        await Promise.race([Promise.all(running.map((c) => c.running?.exited)), new Promise((r) => setTimeout(r, graceSeconds * 1000).unref())]);
    }
    await this.destroySandbox();
    await this.done;
    if (evicted) this.sync();
  }

  /** Removes the pod's directory once nothing of it runs any more. */
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
