// START_AGENTS: puts the agent bundle on every node, starts it detached, detects the node's
// resources, and tells the head agent about the cluster (ranks, IPs, endpoints, autostop).

import { randomBytes } from 'node:crypto';
import type { ClusterConfig, Endpoint } from '../../agent/protocol.js';
import type { ClusterRecord, NodeResources } from '../../protocol/model.js';
import type { ClusterInfo, NodeInfo, Provider } from '../../providers/types.js';
import { agentBundlePath } from '../../util/paths.js';
import { shellQuote } from '../../util/shell.js';
import type { DaemonContext } from '../context.js';

export interface StartedNode {
  node: NodeInfo;
  socket: string;
  endpoint: Endpoint;
  resources: NodeResources;
  pid: number;
}

async function startOne(provider: Provider, cluster: string, node: NodeInfo, token: string, remote: boolean): Promise<StartedNode> {
  const t = provider.transport(cluster, node);
  const bundle = await provider.ensureAgent(t, node, agentBundlePath());
  const nodeBin = provider.name === 'local' ? process.execPath : (provider.nodeBinary ?? 'node');
  let cmd = `${shellQuote(nodeBin)} ${shellQuote(bundle)} start --dir ${shellQuote(node.home)}`;
  if (remote) {
    // Workers on other machines are driven by the head agent over TCP, with the cluster token.
    // Bind every interface (the pool address may be NATed or public) and advertise the node's IP.
    // The token travels on stdin: a command line is visible in process lists (and, for a pod, in
    // the API server's audit log of exec requests).
    cmd = `umask 077; head -c ${Buffer.byteLength(token)} > ${shellQuote(node.home + '/agent-token')} && ${cmd} --listen-tcp 0.0.0.0:0 --token-file ${shellQuote(node.home + '/agent-token')}`;
  }
  const [r, resources] = await Promise.all([
    t.exec(`mkdir -p ${shellQuote(node.home)} && ${cmd}`, { timeoutMs: 60_000, ...(remote ? { stdin: token } : {}) }),
    provider.detectResources(t, node),
  ]);
  if (r.code !== 0) {
    const why = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
    throw new Error(`agent did not start on node ${node.rank}: ${why || `exit code ${r.code}`}`);
  }
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let info: { pid: number; socket: string; tcp?: { host: string; port: number } };
  try {
    info = JSON.parse(line);
  } catch {
    throw new Error(`agent on node ${node.rank} answered '${line.slice(0, 200)}' instead of its address`);
  }
  const endpoint: Endpoint =
    remote && info.tcp ? { kind: 'tcp', host: node.ip, port: info.tcp.port } : { kind: 'unix', path: info.socket };
  return { node, socket: info.socket, endpoint, resources, pid: info.pid };
}

export async function startAgents(
  ctx: DaemonContext,
  rec: ClusterRecord,
  provider: Provider,
  info: ClusterInfo,
  onProgress: (msg: string) => void,
  opts: { deferAutostop?: boolean } = {},
): Promise<StartedNode[]> {
  const internal = ctx.store.getInternal(rec.name);
  const token = internal.token ?? randomBytes(24).toString('hex');
  const remote = provider.name !== 'local';
  const started = await Promise.all(
    info.nodes.map(async (n) => {
      const s = await startOne(provider, rec.name, n, token, remote);
      onProgress(`agent up on node ${n.rank} (pid ${s.pid})`);
      return s;
    }),
  );
  started.sort((a, b) => a.node.rank - b.node.rank);
  ctx.store.setInternal(rec.name, { nodes: info.nodes, headSocket: started[0]!.socket, token });
  const config: ClusterConfig = {
    clusterName: rec.name,
    clusterUid: rec.uid,
    cloud: rec.cloud,
    region: rec.region,
    zone: rec.zone,
    nodes: started.map((s) => ({ rank: s.node.rank, ip: s.node.ip, endpoint: s.endpoint, resources: s.resources })),
    token,
    ...(opts.deferAutostop ? {} : { autostop: rec.autostop }),
    ...(provider.capabilities.powerOffOnAutostop ? { powerOff: true } : {}),
  };
  const client = await ctx.links.get(rec.name);
  await client.call('configure', config);
  // What an OS shutdown does on the nodes follows the autostop setting (a cloud: stop or terminate).
  await provider.setAutostop?.(rec.name, rec.autostop);
  return started;
}
