// The EC2 fake answers what the real aws CLI (aws-cli 1.x, botocore: its own request signing and
// XML parsing) expects: run-instances (on-demand and one-time spot), describe-instances with tag
// filters, terminate-instances, images, key pairs, security groups, the cloud's error codes and a
// signature made with the wrong secret refused — all through the credentials file and the
// endpoint the fake writes, as a user would use them.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsFake, type AwsFake } from '../fakes/aws/index.js';
import { waitFor } from '../helpers/cli.js';

const run = promisify(execFile);

function hasAws(): boolean {
  try {
    return require('node:child_process').spawnSync('aws', ['--version']).status === 0;
  } catch {
    return false;
  }
}

// The aws CLI is installed on the project's machines (CI too); without it the check cannot run.
describe.skipIf(!hasAws() && !process.env.CI)('EC2 fake through the real aws CLI', () => {
  let fake: AwsFake;
  let dir: string;
  let env: Record<string, string>;

  const aws = async (...args: string[]): Promise<unknown> => {
    const r = await run('aws', ['ec2', ...args, '--endpoint-url', fake.endpoint, '--output', 'json'], { env: { ...process.env, ...env } });
    return r.stdout.trim() ? JSON.parse(r.stdout) : {};
  };
  const awsFails = async (...args: string[]): Promise<string> => {
    try {
      await run('aws', ['ec2', ...args, '--endpoint-url', fake.endpoint, '--output', 'json'], { env: { ...process.env, ...env } });
    } catch (err) {
      return String((err as { stderr?: string }).stderr);
    }
    throw new Error(`aws ec2 ${args.join(' ')} succeeded`);
  };

  beforeAll(async () => {
    fake = await startAwsFake(); // API only: no VM behind instances
    dir = mkdtempSync(join(tmpdir(), 'aloft-awscli-'));
    env = fake.writeConfig(dir).env;
    // The CLI must not find real credentials or config of whoever runs the tests.
    env.AWS_ACCESS_KEY_ID = '';
    env.AWS_SECRET_ACCESS_KEY = '';
    delete env.AWS_ENDPOINT_URL_EC2;
    // No retries of the 500s EC2 answers capacity errors with (botocore would back off and retry).
    env.AWS_MAX_ATTEMPTS = '1';
  });

  afterAll(async () => {
    await fake?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs, describes by tag and terminates instances', async () => {
    const images = (await aws('describe-images', '--owners', '099720109477', '--filters', 'Name=name,Values=ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-amd64-server-*')) as {
      Images: Array<{ ImageId: string; Name: string }>;
    };
    expect(images.Images).toHaveLength(1);
    const ami = images.Images[0]!.ImageId;
    const r = (await aws(
      'run-instances',
      '--image-id', ami,
      '--instance-type', 'm6i.large',
      '--count', '2',
      '--placement', 'AvailabilityZone=us-east-1b',
      '--tag-specifications', 'ResourceType=instance,Tags=[{Key=aloft-cluster,Value=cli},{Key=team,Value=ml}]',
      '--block-device-mappings', 'DeviceName=/dev/sda1,Ebs={VolumeSize=100,VolumeType=gp3}',
    )) as { Instances: Array<{ InstanceId: string; State: { Name: string }; Placement: { AvailabilityZone: string } }> };
    expect(r.Instances).toHaveLength(2);
    expect(r.Instances[0]!.State.Name).toBe('pending');
    expect(r.Instances[0]!.Placement.AvailabilityZone).toBe('us-east-1b');
    const ids = r.Instances.map((i) => i.InstanceId);
    type Described = { Reservations: Array<{ Instances: Array<{ InstanceId: string; State: { Name: string }; PublicIpAddress?: string; Tags: Array<{ Key: string; Value: string }> }> }> };
    await waitFor(() => ids.every((id) => fake.model.instances.get(id)?.state === 'running'), 10_000, 'running');
    const d = (await aws('describe-instances', '--filters', 'Name=tag:aloft-cluster,Values=cli', 'Name=instance-state-name,Values=running')) as Described;
    const running = d.Reservations.flatMap((x) => x.Instances);
    expect(running.map((i) => i.InstanceId).sort()).toEqual([...ids].sort());
    expect(running[0]!.Tags).toContainEqual({ Key: 'team', Value: 'ml' });
    expect(running[0]!.PublicIpAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const vols = (await aws('describe-volumes', '--filters', `Name=attachment.instance-id,Values=${ids[0]}`)) as { Volumes: Array<{ Size: number; VolumeType: string }> };
    expect(vols.Volumes[0]).toMatchObject({ Size: 100, VolumeType: 'gp3' });

    const t = (await aws('terminate-instances', '--instance-ids', ...ids)) as { TerminatingInstances: Array<{ CurrentState: { Name: string }; PreviousState: { Name: string } }> };
    expect(t.TerminatingInstances.map((x) => x.PreviousState.Name)).toEqual(['running', 'running']);
    await waitFor(() => ids.every((id) => fake.model.instances.get(id)?.state === 'terminated'), 10_000, 'terminated');
    // Terminated instances stay listed, as on EC2; a filter on live states finds none.
    const live = (await aws('describe-instances', '--filters', 'Name=tag:aloft-cluster,Values=cli', 'Name=instance-state-name,Values=pending,running,stopping,stopped')) as Described;
    expect(live.Reservations).toEqual([]);
  });

  it('launches one-time spot instances and reports a reclaim with EC2 reason', async () => {
    const ami = ((await aws('describe-images', '--owners', '099720109477', '--filters', 'Name=name,Values=*jammy*amd64*')) as { Images: Array<{ ImageId: string }> }).Images[0]!.ImageId;
    const r = (await aws('run-instances', '--image-id', ami, '--instance-type', 'c6i.large', '--instance-market-options', 'MarketType=spot,SpotOptions={SpotInstanceType=one-time}')) as {
      Instances: Array<{ InstanceId: string; InstanceLifecycle?: string; SpotInstanceRequestId?: string }>;
    };
    const id = r.Instances[0]!.InstanceId;
    expect(r.Instances[0]!.InstanceLifecycle).toBe('spot');
    expect(r.Instances[0]!.SpotInstanceRequestId).toMatch(/^sir-/);
    expect(await awsFails('stop-instances', '--instance-ids', id)).toContain('UnsupportedOperation');
    await fake.model.reclaim(id);
    const d = (await aws('describe-instances', '--instance-ids', id)) as { Reservations: Array<{ Instances: Array<{ State: { Name: string }; StateReason: { Code: string; Message: string } }> }> };
    const inst = d.Reservations[0]!.Instances[0]!;
    expect(inst.State.Name).toBe('terminated');
    expect(inst.StateReason).toEqual({ Code: 'Server.SpotInstanceTermination', Message: 'Server.SpotInstanceTermination: Spot instance termination' });
  });

  it('answers with the cloud error codes', async () => {
    const ami = ((await aws('describe-images', '--owners', '099720109477', '--filters', 'Name=name,Values=*jammy*amd64*')) as { Images: Array<{ ImageId: string }> }).Images[0]!.ImageId;
    // EC2 answers capacity errors with HTTP 500, which botocore retries: the zone stays out of capacity.
    fake.model.zoneFailures.set('us-east-1c', { code: 'InsufficientInstanceCapacity' });
    const cap = await awsFails('run-instances', '--image-id', ami, '--instance-type', 'm6i.large', '--placement', 'AvailabilityZone=us-east-1c');
    fake.model.zoneFailures.delete('us-east-1c');
    expect(cap).toMatch(/InsufficientInstanceCapacity.*We currently do not have sufficient m6i.large capacity in the Availability Zone you requested \(us-east-1c\)/);
    expect(await awsFails('run-instances', '--image-id', ami, '--instance-type', 'p5.48xlarge', '--placement', 'AvailabilityZone=us-east-1d')).toMatch(/\(Unsupported\).*not supported in your requested Availability Zone \(us-east-1d\)/);
    fake.model.vcpuLimits.set('eu-west-1', 2);
    const img = ((await aws('describe-images', '--region', 'eu-west-1', '--owners', '099720109477', '--filters', 'Name=name,Values=*jammy*amd64*')) as { Images: Array<{ ImageId: string }> }).Images[0]!.ImageId;
    expect(await awsFails('run-instances', '--region', 'eu-west-1', '--image-id', img, '--instance-type', 'm6i.xlarge')).toMatch(/\(VcpuLimitExceeded\).*current vCPU limit of 2/);
    expect(await awsFails('run-instances', '--image-id', 'ami-00000000000000000', '--instance-type', 'm6i.large')).toContain('InvalidAMIID.NotFound');
  });

  it('keeps key pairs and security groups, refusing to delete a group in use', async () => {
    const pub = join(dir, 'k.pub');
    writeFileSync(pub, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIE9aukI6hhatACZP3uNS+mux42HC6hlAK2QRf2gBFa9 t\n');
    await aws('import-key-pair', '--key-name', 'mine', '--public-key-material', `fileb://${pub}`);
    const kp = (await aws('describe-key-pairs', '--key-names', 'mine')) as { KeyPairs: Array<{ KeyName: string; KeyType: string }> };
    expect(kp.KeyPairs[0]).toMatchObject({ KeyName: 'mine', KeyType: 'ed25519' });
    expect(await awsFails('describe-key-pairs', '--key-names', 'other')).toContain('InvalidKeyPair.NotFound');
    const vpc = ((await aws('describe-vpcs', '--filters', 'Name=is-default,Values=true')) as { Vpcs: Array<{ VpcId: string }> }).Vpcs[0]!.VpcId;
    const sg = (await aws('create-security-group', '--group-name', 'web', '--description', 'web', '--vpc-id', vpc)) as { GroupId: string };
    await aws('authorize-security-group-ingress', '--group-id', sg.GroupId, '--protocol', 'tcp', '--port', '8080', '--cidr', '0.0.0.0/0');
    const groups = (await aws('describe-security-groups', '--filters', 'Name=group-name,Values=web')) as { SecurityGroups: Array<{ IpPermissions: Array<{ FromPort: number; IpRanges: Array<{ CidrIp: string }> }> }> };
    expect(groups.SecurityGroups[0]!.IpPermissions[0]).toMatchObject({ FromPort: 8080, IpRanges: [{ CidrIp: '0.0.0.0/0' }] });
    const ami = ((await aws('describe-images', '--owners', '099720109477', '--filters', 'Name=name,Values=*jammy*amd64*')) as { Images: Array<{ ImageId: string }> }).Images[0]!.ImageId;
    const r = (await aws('run-instances', '--image-id', ami, '--instance-type', 'm6i.large', '--security-group-ids', sg.GroupId, '--key-name', 'mine')) as { Instances: Array<{ InstanceId: string }> };
    expect(await awsFails('delete-security-group', '--group-id', sg.GroupId)).toContain('DependencyViolation');
    await aws('terminate-instances', '--instance-ids', r.Instances[0]!.InstanceId);
    await waitFor(() => fake.model.instances.get(r.Instances[0]!.InstanceId)?.state === 'terminated', 10_000, 'terminated');
    await aws('delete-security-group', '--group-id', sg.GroupId);
    expect(fake.model.groups.has(sg.GroupId)).toBe(false);
  });

  it('refuses a request signed with the wrong secret', async () => {
    const bad = join(dir, 'bad-credentials');
    writeFileSync(bad, `[default]\naws_access_key_id = ${fake.accessKeyId}\naws_secret_access_key = not-the-secret\n`);
    const err = await run('aws', ['ec2', 'describe-regions', '--endpoint-url', fake.endpoint], { env: { ...process.env, ...env, AWS_SHARED_CREDENTIALS_FILE: bad } }).catch((e: { stderr: string }) => e.stderr);
    expect(String(err)).toContain('AuthFailure');
  });
});
