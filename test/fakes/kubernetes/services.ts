// Services as far as a client outside the cluster sees them: the endpoints controller (an
// Endpoints object per selector Service: ready pod IPs and ports), a cloud "load balancer" (a
// LoadBalancer Service gets status.loadBalancer.ingress[0].ip at once), and kube-proxy for the
// ways in from outside — every node's InternalIP at each nodePort, and the load balancer IP at
// each port — forwarding TCP to a ready pod (round robin) at the resolved targetPort.
// Cluster IPs are allocated but not routed (pods share the host network; they reach each other
// by pod IP).
import net from 'node:net';
import type { FakeContext } from './context.js';
import { matchMap } from './selectors.js';
import type { KObj } from './store.js';

interface Listener {
  server: net.Server;
  svc: string; // ns/name
  port: any;
}

const ready = (p: KObj) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp && (p.status.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');

function targetPort(port: any, pod: KObj): number | undefined {
  const t = port.targetPort ?? port.port;
  if (typeof t === 'number') return t;
  if (/^\d+$/.test(String(t))) return Number(t);
  for (const c of pod.spec.containers ?? []) for (const p of c.ports ?? []) if (p.name === t) return p.containerPort;
  return undefined;
}

export class ServiceNetwork {
  private readonly listeners = new Map<string, Listener>();
  private readonly rr = new Map<string, number>();
  private unsubscribe?: () => void;
  private queued = false;
  private stopped = false;
  private lbSeq = 0;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly ctx: FakeContext,
    private readonly lbIp: (n: number) => string,
  ) {}

  start(): void {
    this.unsubscribe = this.ctx.store.subscribe((c) => {
      if (c.resource === 'services' || c.resource === 'pods' || c.resource === 'nodes') this.queue();
    });
    this.queue();
  }

  private queue(): void {
    if (this.queued || this.stopped) return;
    this.queued = true;
    setImmediate(() => {
      this.queued = false;
      if (!this.stopped) this.sync();
    });
  }

  private sync(): void {
    const { store } = this.ctx;
    const services = store.list('services');
    const pods = store.list('pods');
    const nodeIps = store.list('nodes').map((n) => n.status?.addresses?.find((a: any) => a.type === 'InternalIP')?.address).filter(Boolean) as string[];
    const wanted = new Map<string, { svc: string; port: any }>();
    for (const s of services) {
      const key = `${s.metadata.namespace}/${s.metadata.name}`;
      if (s.spec.selector) this.syncEndpoints(s, pods);
      if (s.spec.type === 'LoadBalancer' && !s.status?.loadBalancer?.ingress?.length) {
        const ip = this.lbIp(this.lbSeq++);
        store.mutate('services', s.metadata.namespace, s.metadata.name, (o) => {
          o.status = { loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } };
        });
        s.status = { loadBalancer: { ingress: [{ ip }] } };
      }
      for (const p of s.spec.ports ?? []) {
        if ((p.protocol ?? 'TCP') !== 'TCP') continue;
        if (p.nodePort) for (const ip of nodeIps) wanted.set(`${ip}:${p.nodePort}`, { svc: key, port: p });
        const lb = s.status?.loadBalancer?.ingress?.[0]?.ip;
        if (s.spec.type === 'LoadBalancer' && lb) wanted.set(`${lb}:${p.port}`, { svc: key, port: p });
      }
    }
    for (const [addr, l] of this.listeners) {
      const w = wanted.get(addr);
      if (!w || w.svc !== l.svc) (l.server.close(), this.listeners.delete(addr));
      else l.port = w.port;
    }
    for (const [addr, w] of wanted) {
      if (this.listeners.has(addr)) continue;
      const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
      const l: Listener = { server: net.createServer((sock) => this.forward(l, sock)), svc: w.svc, port: w.port };
      l.server.on('error', (e) => process.stderr.write(`fake kube: service ${w.svc} cannot listen on ${addr}: ${e.message}\n`));
      l.server.listen(port, host);
      this.listeners.set(addr, l);
    }
  }

  private syncEndpoints(s: KObj, pods: KObj[]): void {
    const { store } = this.ctx;
    const members = pods.filter((p) => p.metadata.namespace === s.metadata.namespace && p.status?.podIP && matchMap(s.spec.selector, p.metadata.labels));
    const addr = (p: KObj) => ({ ip: p.status.podIP, nodeName: p.spec.nodeName, targetRef: { kind: 'Pod', namespace: p.metadata.namespace, name: p.metadata.name, uid: p.metadata.uid } });
    const readyPods = members.filter(ready);
    const notReady = members.filter((p) => !ready(p) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    const ports = (s.spec.ports ?? []).map((p: any) => ({ ...(p.name ? { name: p.name } : {}), port: members[0] ? (targetPort(p, members[0]) ?? p.port) : p.port, protocol: p.protocol ?? 'TCP' }));
    const subsets = members.length ? [{ ...(readyPods.length ? { addresses: readyPods.map(addr) } : {}), ...(notReady.length ? { notReadyAddresses: notReady.map(addr) } : {}), ports }] : [];
    const name = s.metadata.name;
    const ns = s.metadata.namespace;
    const existing = store.get('endpoints', ns, name);
    if (!existing) store.create('endpoints', { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: ns, labels: s.metadata.labels ?? {} }, subsets });
    else if (JSON.stringify(existing.subsets ?? []) !== JSON.stringify(subsets)) store.mutate('endpoints', ns, name, (e) => void (e.subsets = subsets));
  }

  private forward(l: Listener, sock: net.Socket): void {
    const [ns, name] = l.svc.split('/') as [string, string];
    const svc = this.ctx.store.get('services', ns, name);
    const pods = svc ? this.ctx.store.list('pods', ns).filter((p) => ready(p) && matchMap(svc.spec.selector, p.metadata.labels)) : [];
    if (!pods.length) return void sock.destroy(); // no endpoints: the connection is refused/reset, as with kube-proxy
    const i = (this.rr.get(l.svc) ?? 0) % pods.length;
    this.rr.set(l.svc, i + 1);
    const pod = pods[i]!;
    const port = targetPort(l.port, pod);
    if (!port) return void sock.destroy();
    const up = net.connect(port, pod.status.podIP);
    for (const x of [sock, up]) (this.sockets.add(x), x.once('close', () => this.sockets.delete(x)));
    sock.pipe(up).pipe(sock);
    const end = () => (sock.destroy(), up.destroy());
    up.on('error', end);
    sock.on('error', end);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    for (const x of this.sockets) x.destroy();
    await Promise.all([...this.listeners.values()].map((l) => new Promise<void>((r) => l.server.close(() => r()))));
    this.listeners.clear();
  }
}
