// A balancer worker process (node:cluster): serves the service's port with the config the primary
// sends, answers its questions, passes its events up. It ends with the primary: cluster exits a
// worker whose primary is gone.
import type { LbConfig, LbEvent } from './protocol.js';
import { openBalancer, type OpenBalancer } from './server.js';
import { snapshotOf } from './snapshot.js';
import { INFLIGHT_REPORT_MS, type FromWorker, type ToWorker } from './workers.js';

export function runWorker(log: (line: string) => void): void {
  let open: OpenBalancer | undefined;
  // the newest config: one sent while this worker was still binding applies once it serves
  let cfg: LbConfig | undefined;
  const tell = (m: FromWorker) => {
    if (process.connected) process.send!(m);
  };
  process.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'start':
        cfg = m.cfg;
        openBalancer(m.cfg, m.listen, { log, emit: (e: LbEvent) => tell({ t: 'event', e }) }).then(
          (o) => {
            open = o;
            if (cfg !== m.cfg) o.balancer.configure(cfg!);
            tell({ t: 'listening', port: o.port, requested: o.requested });
          },
          (err: Error) => tell({ t: 'failed', error: err.message }),
        );
        return;
      case 'config':
        cfg = m.cfg;
        open?.balancer.configure(m.cfg);
        return tell({ t: 'reply', id: m.id });
      case 'snapshot':
        return tell({ t: 'reply', id: m.id, ...(open ? { snapshot: snapshotOf(open.balancer, m.now, m.window) } : {}) });
      case 'eject':
        return open?.balancer.eject(m.url, m.reason);
      case 'others':
        return open?.balancer.setOthersInflight(m.byUrl);
      case 'stop':
        open?.close();
        setTimeout(() => process.exit(0), 50);
        return;
    }
  });
  // what this worker has in flight, for the others' least_load (only when it changed)
  let told = '{}';
  setInterval(() => {
    if (!open) return;
    const byUrl = open.balancer.inflightByUrl();
    const key = JSON.stringify(byUrl);
    if (key === told) return;
    told = key;
    tell({ t: 'inflight', byUrl });
  }, INFLIGHT_REPORT_MS).unref();
  tell({ t: 'ready' });
}
