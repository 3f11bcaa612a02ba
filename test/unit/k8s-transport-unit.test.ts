// The pod transport's commands, without a cluster (the e2e tests run them in pods of the fake).
// Seed 003's transport fixes: 4f1c887 (a one-way tar stream instead of rsync over exec) and
// 78fe751 (aloft's runtime never runs on the image's interpreter). The fork's c6f8f23 (SkyServe
// controller capacity) has no counterpart: aloft has no serve controller in a pod.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { KubernetesProvider } from '../../src/providers/kubernetes/provider.js';
import { KubernetesTransport } from '../../src/providers/kubernetes/transport.js';
import type { ExecOptions, ExecResult } from '../../src/providers/types.js';

class Recording extends KubernetesTransport {
  calls: Array<{ command: string; stdin: boolean }> = [];
  override async exec(command: string, opts: ExecOptions = {}): Promise<ExecResult> {
    this.calls.push({ command, stdin: opts.stdin !== undefined });
    return { code: 0, stdout: '', stderr: '' };
  }
}

const ref = { context: 'c', server: 'http://127.0.0.1:1', kc: new KubeConfig(), namespace: 'ns', pod: 'p-head', container: 'aloft', home: '/root' };

describe('pod transport', () => {
  it('4f1c887: an upload is one tar stream into `tar -x`, one way (no rsync, no reply protocol)', async () => {
    const t = new Recording(ref);
    await t.upload(Readable.from([Buffer.from('tar bytes')]), 'sky_workdir');
    expect(t.calls).toEqual([{ command: 'mkdir -p sky_workdir && tar -xf - -C sky_workdir --no-same-owner', stdin: true }]);
  });

  it("78fe751: the agent runs on aloft's node by its full path; PATH stays the image's", () => {
    expect(new KubernetesProvider({ home: '/nonexistent' }).nodeBinary).toBe('/aloft/bin/node');
    const script = new KubernetesTransport({ ...ref, env: { ALOFT_NODE_DIR: '/root' } }).wrap('python3 -V');
    expect(script).toBe('export ALOFT_NODE_DIR=/root\nmkdir -p /root && cd /root || exit 1\npython3 -V');
  });

  it('refuses environment names that are not names (they are written into the script)', () => {
    expect(() => new KubernetesTransport(ref).wrap('true', { 'A;rm -rf /': 'x' })).toThrow(/invalid environment variable name/);
  });
});
