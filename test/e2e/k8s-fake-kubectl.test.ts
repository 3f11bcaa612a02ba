// The Kubernetes fake held to the real protocol by the real kubectl 1.32 (so the fake answers what
// a real API server would, not what our own client expects): discovery and server-side tables,
// apply, exec over websocket (stdin, exit codes), logs (-c, -f), delete (graceful, kubectl waits
// on a watch), events, the scheduler's placement and FailedScheduling wording, and pods as real
// processes with their volumes at absolute paths that exist only inside the pod.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeKube, type FakeKube } from '../fakes/kubernetes/index.js';
import { waitFor } from '../helpers/cli.js';

const ROOT = resolve(__dirname, '..', '..');
const NS = 'fake-e2e';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command without blocking this process's event loop (the fake serves from it). */
function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 45_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

const isRoot = process.getuid?.() === 0;

// The fake runs pods in Linux namespaces and needs root (as here and in CI); kubectl is installed
// in both. On a dev machine without either the file is skipped; in CI it fails instead.
const hasKubectl = existsSync('/usr/bin/kubectl') || existsSync('/usr/local/bin/kubectl');
describe.skipIf((!isRoot || !hasKubectl) && !process.env.CI)('kubernetes fake, checked with the real kubectl', () => {
  let kube: FakeKube;
  let home: string;
  const kubectl = (args: string[], input?: string) =>
    run('kubectl', ['--kubeconfig', kube.kubeconfigPath, ...args], { input, env: { ...process.env, HOME: home, KUBECONFIG: '' } });
  const apply = (name: string, yaml: string) => {
    const file = join(home, `${name}.yaml`);
    writeFileSync(file, yaml);
    return kubectl(['apply', '-f', file]);
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'aloft-kubectl-home-'));
    kube = await startFakeKube({ fixture: 'mixed', namespace: NS });
  });
  afterAll(async () => {
    await kube?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('lists the fixture nodes and pods with -o wide (discovery, server-side tables)', async () => {
    const r = await kubectl(['get', 'nodes', '-o', 'wide']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME/);
    for (const n of ['gpu-a100-0', 'gpu-mi300x-0', 'gke-l4-pool-0', 'cpu-0']) expect(r.stdout).toMatch(new RegExp(`^${n}\\s+Ready\\s+<none>\\s+\\S+\\s+v1\\.32\\.0\\s+127\\.\\d+\\.\\d+\\.\\d+`, 'm'));
    const labels = await kubectl(['get', 'node', 'gpu-mi300x-0', '-o', 'jsonpath={.metadata.labels.amd\\.com/gpu\\.product-name} {.status.allocatable.amd\\.com/gpu} {.spec.taints[0].key}']);
    expect(labels.stdout).toBe('AMD_Instinct_MI300X_OAM 8 amd.com/gpu');
  });

  it('applies a pod whose init container fills an emptyDir the main container reads, at a path that exists only in the pod', async () => {
    const r = await apply(
      'web',
      `apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web, tier: front}}
spec:
  initContainers:
  - name: prepare
    image: busybox:1.36
    command: [sh, -c, 'echo prepared-by-init > /opt/fakekube-e2e/shared/marker; echo init says hi']
    volumeMounts: [{name: shared, mountPath: /opt/fakekube-e2e/shared}]
  containers:
  - name: main
    image: busybox:1.36
    workingDir: /opt/fakekube-e2e/work
    env:
    - {name: GREETING, value: hello}
    - {name: DERIVED, value: '$(GREETING)-world'}
    - name: MY_POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    command: [sh, -c, 'cat /opt/fakekube-e2e/shared/marker; echo "host=$(hostname) home=$HOME pwd=$(pwd) greeting=$DERIVED ip=$MY_POD_IP"; touch /tmp/fakekube-e2e-only-here; exec sleep 1000']
    volumeMounts: [{name: shared, mountPath: /opt/fakekube-e2e/shared}]
    resources: {requests: {cpu: 250m, memory: 64Mi}}
  volumes: [{name: shared, emptyDir: {}}]
`,
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('pod/web created');
    const ready = await kubectl(['wait', '--for=condition=Ready', 'pod/web', '--timeout=40s']);
    expect(ready.stdout.trim()).toBe('pod/web condition met');

    const wide = await kubectl(['get', 'nodes,pods', '-o', 'wide']);
    const podIp = kube.get('pods', 'web', NS)!.status.podIP as string;
    expect(podIp).toMatch(/^127\.\d+\.\d+\.\d+$/);
    expect(wide.stdout).toMatch(new RegExp(`^pod/web\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${podIp.replace(/\./g, '\\.')}\\s+cpu-0\\s`, 'm'));
    expect(wide.stdout).toMatch(/^node\/gpu-a100-0\s+Ready/m);

    const logs = await kubectl(['logs', 'web', '-c', 'main']);
    expect(logs.stdout).toBe(`prepared-by-init\nhost=web home=/root pwd=/opt/fakekube-e2e/work greeting=hello-world ip=${podIp}\n`);
    expect((await kubectl(['logs', 'web', '-c', 'prepare'])).stdout).toBe('init says hi\n');
    // The mount namespace and overlay root keep all of it inside the pod.
    expect(existsSync('/opt/fakekube-e2e')).toBe(false);
    expect(existsSync('/tmp/fakekube-e2e-only-here')).toBe(false);
  });

  it('execs without stdin (split streams, exit code) and with stdin (piped through, EOF delivered)', async () => {
    const noStdin = await kubectl(['exec', 'web', '-c', 'main', '--', 'sh', '-c', 'echo out; echo err >&2; ls /opt/fakekube-e2e/shared; exit 3']);
    expect(noStdin.code).toBe(3);
    expect(noStdin.stdout).toBe('out\nmarker\n');
    expect(noStdin.stderr).toBe('err\ncommand terminated with exit code 3\n');

    const big = 'x'.repeat(200_000);
    const withStdin = await kubectl(['exec', '-i', 'web', '-c', 'main', '--', 'sh', '-c', 'wc -c; test -e /tmp/fakekube-e2e-only-here && echo private-tmp; echo $GREETING'], big);
    expect(withStdin.stderr).toBe('');
    expect(withStdin.code).toBe(0);
    expect(withStdin.stdout.split('\n').map((s) => s.trim())).toEqual(['200000', 'private-tmp', 'hello', '']);

    // runc's way: exit code 126 with its message (a shell's own "not found" is 127)
    const missing = await kubectl(['exec', 'web', '-c', 'main', '--', 'no-such-command']);
    expect(missing.code).toBe(126);
    expect(missing.stderr).toBe(
      'OCI runtime exec failed: exec failed: unable to start container process: exec: "no-such-command": executable file not found in $PATH: unknown\ncommand terminated with exit code 126\n',
    );
    expect((await kubectl(['exec', 'web', '-c', 'main', '--', 'sh', '-c', 'no-such-command'])).code).toBe(127);
  });

  it('follows logs to the end of a container and shows the pod Completed', async () => {
    await apply(
      'counter',
      `apiVersion: v1
kind: Pod
metadata: {name: counter}
spec:
  restartPolicy: Never
  containers:
  - {name: count, image: busybox, command: [sh, -c, 'for i in 1 2 3 4; do echo line $i; sleep 0.3; done']}
`,
    );
    await waitFor(async () => (await kubectl(['logs', 'counter'])).stdout.startsWith('line 1'), 30_000, 'counter to print');
    const follow = await kubectl(['logs', '-f', 'counter']);
    expect(follow.code).toBe(0);
    expect(follow.stdout).toBe('line 1\nline 2\nline 3\nline 4\n');
    const tail = await kubectl(['logs', 'counter', '--tail=2']);
    expect(tail.stdout).toBe('line 3\nline 4\n');
    await waitFor(async () => /counter\s+0\/1\s+Completed/.test((await kubectl(['get', 'pod', 'counter'])).stdout), 20_000, 'counter Completed');
  });

  it('places GPU pods by resources, selectors, affinity and tolerations, and leaves the unplaceable Pending with the scheduler\'s words', async () => {
    const r = await apply(
      'gpus',
      `apiVersion: v1
kind: Pod
metadata: {name: on-a100}
spec:
  nodeSelector: {nvidia.com/gpu.product: NVIDIA-A100-SXM4-80GB}
  tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
  containers: [{name: main, image: busybox, command: [sleep, '1000'], resources: {limits: {nvidia.com/gpu: 2}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: on-mi300x}
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: amd.com/gpu.product-name, operator: In, values: [AMD_Instinct_MI300X_OAM]}]
  tolerations: [{key: amd.com/gpu, operator: Exists}]
  containers: [{name: main, image: busybox, command: [sleep, '1000'], resources: {limits: {amd.com/gpu: 1}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: cpu-only}
spec:
  containers: [{name: main, image: busybox, command: [sleep, '1000'], resources: {requests: {cpu: '1'}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: too-big}
spec:
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
        - matchExpressions: [{key: amd.com/gpu.product-name, operator: Exists}]
  tolerations: [{operator: Exists}]
  containers: [{name: main, image: busybox, command: [sleep, '1000'], resources: {limits: {amd.com/gpu: 9}}}]
`,
    );
    expect(r.code).toBe(0);
    const node = async (p: string) => (await kubectl(['get', 'pod', p, '-o', 'jsonpath={.spec.nodeName}'])).stdout;
    await waitFor(async () => (await node('on-a100')) && (await node('on-mi300x')) && (await node('cpu-only')), 20_000, 'pods bound');
    expect([await node('on-a100'), await node('on-mi300x'), await node('cpu-only'), await node('too-big')]).toEqual(['gpu-a100-0', 'gpu-mi300x-0', 'cpu-0', '']);
    // requests were defaulted from the limits, as the API server does for extended resources
    expect((await kubectl(['get', 'pod', 'on-a100', '-o', 'jsonpath={.spec.containers[0].resources.requests.nvidia\\.com/gpu}'])).stdout).toBe('2');

    const expected =
      "0/4 nodes are available: 1 Insufficient amd.com/gpu, 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/4 nodes are available: 1 No preemption victims found for incoming pod, 3 Preemption is not helpful for scheduling.";
    const cond = await waitFor(async () => {
      const c = (await kubectl(['get', 'pod', 'too-big', '-o', 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].reason}|{.status.conditions[?(@.type=="PodScheduled")].message}'])).stdout;
      return c.startsWith('Unschedulable|') && c;
    }, 20_000, 'too-big Unschedulable');
    expect(cond).toBe(`Unschedulable|${expected}`);
    const ev = await kubectl(['get', 'events', '--field-selector', 'reason=FailedScheduling,involvedObject.name=too-big', '-o', 'jsonpath={.items[*].message}']);
    expect(ev.stdout).toBe(expected);
    expect((await kubectl(['get', 'pod', 'too-big'])).stdout).toMatch(/too-big\s+0\/1\s+Pending\s+0/);
  });

  it('shows the events of a pod\'s life (kubectl get events)', async () => {
    const r = await kubectl(['get', 'events']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    expect(r.stdout).toMatch(/Normal\s+Scheduled\s+pod\/web\s+Successfully assigned fake-e2e\/web to cpu-0/);
    expect(r.stdout).toMatch(/Normal\s+Started\s+pod\/web\s+Started container prepare/);
    expect(r.stdout).toMatch(/Normal\s+Started\s+pod\/web\s+Started container main/);
    expect(r.stdout).toMatch(/Warning\s+FailedScheduling\s+pod\/too-big\s+0\/4 nodes are available/);
  });

  it('deletes a running pod gracefully: kubectl waits until it is gone, and so are its processes', async () => {
    const pids = kube.podPids('web');
    expect(pids.length).toBeGreaterThan(1); // pause + sleep at least
    const del = await kubectl(['delete', 'pod', 'web']);
    expect(del.stdout.trim()).toBe('pod "web" deleted');
    expect(del.code).toBe(0);
    const get = await kubectl(['get', 'pod', 'web']);
    expect(get.code).toBe(1);
    expect(get.stderr).toContain('Error from server (NotFound): pods "web" not found');
    expect(pids.filter(pidAlive)).toEqual([]);
  });

  it('validates fields on the server as kubectl asks (fieldValidation=Strict): a misspelt field fails the apply', async () => {
    const r = await apply(
      'typo',
      `apiVersion: v1
kind: Pod
metadata: {name: typo}
spec:
  containers: [{name: main, image: busybox, imagePullPolcy: Always, command: [sleep, '1']}]
  nodeSelectr: {a: b}
`,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].imagePullPolcy", unknown field "spec.nodeSelectr"',
    );
    // Without fieldValidation (client-node's default) the field is dropped with a Warning header.
    const res = await fetch(`${kube.url}/api/v1/namespaces/${NS}/pods`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'typo' }, spec: { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '1'] }], nodeSelectr: { a: 'b' } } }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('warning')).toBe('299 - "unknown field \\"spec.nodeSelectr\\""');
  });

  it('refuses a node-affinity value that is a number, with the decoder\'s words (seed 003)', async () => {
    const r = await run('curl', [
      '-s',
      '-XPOST',
      '-H',
      'Content-Type: application/json',
      `${kube.url}/api/v1/namespaces/${NS}/pods`,
      '-d',
      JSON.stringify({
        metadata: { name: 'intval' },
        spec: {
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'amd.com/gpu.product-name.X', operator: 'In', values: [1] }] }] } } },
          containers: [{ name: 'c', image: 'busybox' }],
        },
      }),
    ]);
    const status = JSON.parse(r.stdout) as { code: number; reason: string; message: string };
    expect(status.code).toBe(400);
    expect(status.reason).toBe('BadRequest');
    expect(status.message).toBe(
      'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal number into Go struct field NodeSelectorRequirement.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.matchExpressions.values of type string',
    );
  });
});

describe.skipIf((!isRoot || !hasKubectl) && !process.env.CI)('npm run fake -- kubernetes', () => {
  it('serves in the foreground, writes a kubeconfig, prints ready, and kubectl reaches it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aloft-fake-cfg-'));
    const child = spawn('npm', ['run', 'fake', '--', 'kubernetes', '--fixture', 'mixed', '--write-config', dir], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await waitFor(() => /ready/.test(out) || child.exitCode !== null, 50_000, 'the fake to print ready');
      expect(out).toMatch(/kubernetes fake ready/);
      const r = await run('kubectl', ['--kubeconfig', join(dir, 'kubeconfig'), 'get', 'nodes'], { env: { ...process.env, HOME: dir, KUBECONFIG: '' } });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^gpu-mi300x-0\s+Ready/m);
      expect(r.stdout.trim().split('\n')).toHaveLength(5);
    } finally {
      process.kill(-child.pid!, 'SIGINT');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
