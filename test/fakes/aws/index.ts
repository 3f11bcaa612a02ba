// The EC2 fake: an AWS account whose EC2 Query API the real @aws-sdk/client-ec2 and the real aws
// CLI talk to, over plain http on 127.0.0.1 (AWS_ENDPOINT_URL_EC2). Instances are fake VMs
// (test/fakes/vms.ts) when a VmHost is given: real sshd hosts, so aloft's ssh transport reaches them.
//
//   const aws = await startAwsFake({ vms: new VmHost() });
//   aws.writeConfig(dir) → { env, envFile }     credentials, config, aws.env (what a user has)
//   aws.model.zoneFailures.set('us-east-1a', { code: 'InsufficientInstanceCapacity' })
//   aws.model.regionFailures.set('us-east-1', { code: 'InstanceLimitExceeded', times: 1 })
//   aws.model.vcpuLimits.set('us-east-1', 4)     VcpuLimitExceeded past 4 live vCPUs
//   await aws.model.reclaim(instanceId)          a spot interruption (Server.SpotInstanceTermination)
//   aws.list({ 'aloft-cluster': 'c1' })          instances carrying these tags (any state)
//   aws.server.calls.get('DescribeInstances')    API calls by action
//   await aws.stop()
//
// By hand: `npm run fake -- aws --write-config DIR` (then `set -a; . DIR/aws.env`); failures are
// injected with POST http://127.0.0.1:PORT/_fake/{zone-failure,region-failure,vcpu-limit,reclaim}.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { VmHost } from '../vms.js';
import { Ec2Model, type Instance } from './model.js';
import { serveEc2, type Ec2Server } from './server.js';

export { Ec2Model };

const ROOT = resolve(__dirname, '..', '..', '..');

export interface AwsFake {
  model: Ec2Model;
  server: Ec2Server;
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  writeConfig(dir: string): { env: Record<string, string>; envFile: string };
  list(tags?: Record<string, string>): Instance[];
  stop(): Promise<void>;
}

export async function startAwsFake(opts: { vms?: VmHost; bootMs?: number; port?: number } = {}): Promise<AwsFake> {
  const model = new Ec2Model(ROOT, { vms: opts.vms, bootMs: opts.bootMs });
  const accessKeyId = 'AKIAFAKE' + Math.random().toString(36).slice(2, 14).toUpperCase().padEnd(12, 'X');
  const secretAccessKey = Buffer.from(Array.from({ length: 30 }, () => Math.floor(Math.random() * 256))).toString('base64');
  const server = await serveEc2(model, new Map([[accessKeyId, secretAccessKey]]), { port: opts.port });
  return {
    model,
    server,
    endpoint: server.endpoint,
    accessKeyId,
    secretAccessKey,
    writeConfig(dir) {
      mkdirSync(dir, { recursive: true });
      const credentials = join(dir, 'credentials');
      writeFileSync(credentials, `[default]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secretAccessKey}\n`, { mode: 0o600 });
      const config = join(dir, 'config');
      writeFileSync(config, `[default]\nregion = us-east-1\noutput = json\n`);
      const env: Record<string, string> = {
        AWS_SHARED_CREDENTIALS_FILE: credentials,
        AWS_CONFIG_FILE: config,
        AWS_ENDPOINT_URL_EC2: server.endpoint,
        AWS_DEFAULT_REGION: 'us-east-1',
      };
      // The fake's VMs accept the OS user running them (sshd cannot invent an `ubuntu` user here).
      if (opts.vms) env.ALOFT_AWS_SSH_USER = opts.vms.user;
      const envFile = join(dir, 'aws.env');
      writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
      return { env, envFile };
    },
    list(tags = {}) {
      return [...model.instances.values()].filter((i) => Object.entries(tags).every(([k, v]) => i.tags.get(k) === v));
    },
    async stop() {
      await server.close();
      await model.close();
    },
  };
}

/** `npm run fake -- aws [--fixture api-only] --write-config DIR` (test/fakes/main.ts). */
export async function serveForeground(opts: { fixture?: string; configDir: string }): Promise<{ lines: string[]; stop(): Promise<void> }> {
  if (opts.fixture && opts.fixture !== 'api-only') throw new Error(`unknown aws fixture '${opts.fixture}' (known: api-only — instances without VMs)`);
  // ALOFT_FAKE_BOOT_MS: the VMs' own boot time (benchmarks subtract it from launch times).
  const vms = opts.fixture === 'api-only' ? undefined : new VmHost({ bootMs: Number(process.env.ALOFT_FAKE_BOOT_MS) || 0 });
  const fake = await startAwsFake({ vms, port: Number(process.env.ALOFT_FAKE_PORT) || undefined });
  const { envFile } = fake.writeConfig(opts.configDir);
  return {
    lines: [
      `EC2 endpoint ${fake.endpoint} (every region; failures: POST ${fake.endpoint}/_fake/zone-failure {"zone","code"})`,
      `environment: set -a; . ${envFile}; set +a`,
    ],
    async stop() {
      await fake.stop();
      await vms?.close();
    },
  };
}
