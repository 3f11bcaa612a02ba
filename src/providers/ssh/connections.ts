// A provider's ssh connections, one per host (keyed by the caller), reused by every transport to
// that host. Shared by the ssh-pool provider and the VM clouds (src/providers/cloud).
import { SshConnection, type SshConnectionOptions, type SshEndpoint } from './connection.js';

export class SshConnections {
  private readonly byKey = new Map<string, SshConnection>();

  constructor(private readonly defaults: SshConnectionOptions) {}

  /**
   * The connection for `e.key`; a new one when the credentials or the host key record changed
   * since (a pools file edited, a VM restarted under the same name).
   */
  get(e: SshEndpoint & { key: string }, opts: Partial<SshConnectionOptions> = {}): SshConnection {
    let c = this.byKey.get(e.key);
    const o = { ...this.defaults, ...opts };
    const cur = c?.endpoint;
    if (c && (cur!.identityFile !== e.identityFile || cur!.password !== e.password || cur!.host !== e.host || cur!.port !== e.port || cur!.user !== e.user)) {
      c.close();
      c = undefined;
    }
    if (c && opts.knownHosts && c.options.knownHosts.file !== opts.knownHosts.file) {
      c.close();
      c = undefined;
    }
    if (!c) {
      c = new SshConnection(e, o);
      this.byKey.set(e.key, c);
    }
    return c;
  }

  /** Closes and forgets the connections whose key starts with `prefix` (a cluster going away). */
  drop(prefix: string): void {
    for (const [k, c] of this.byKey) {
      if (k.startsWith(prefix)) {
        c.close();
        this.byKey.delete(k);
      }
    }
  }

  closeAll(): void {
    for (const c of this.byKey.values()) c.close();
    this.byKey.clear();
  }
}
