// EC2 error codes → failover kinds (capacity blocks the zone, quota the region, credentials the
// cloud), and the user's own mistakes left to stop the launch.
import { describe, expect, it } from 'vitest';
import { classifyAwsError, describeAwsError } from '../../src/providers/aws/errors.js';
import { archOf, diskSpec } from '../../src/providers/aws/driver.js';

const ec2 = (name: string, message = 'm') => Object.assign(new Error(message), { name });

describe('EC2 errors for failover', () => {
  it('maps capacity, quota and credential codes as SkyPilot blocks them', () => {
    for (const c of ['InsufficientInstanceCapacity', 'Unsupported', 'SpotMaxPriceTooLow', 'InsufficientHostCapacity']) expect(classifyAwsError(ec2(c))).toBe('capacity');
    for (const c of ['VcpuLimitExceeded', 'InstanceLimitExceeded', 'MaxSpotInstanceCountExceeded', 'OptInRequired']) expect(classifyAwsError(ec2(c))).toBe('quota');
    for (const c of ['AuthFailure', 'UnauthorizedOperation', 'ExpiredToken', 'CredentialsProviderError']) expect(classifyAwsError(ec2(c))).toBe('credentials');
  });

  it('moves on from transient API and network trouble (the zone is blocked)', () => {
    expect(classifyAwsError(ec2('RequestLimitExceeded'))).toBe('capacity');
    expect(classifyAwsError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('capacity');
  });

  it('stops on the user\'s own mistakes', () => {
    for (const c of ['InvalidAMIID.NotFound', 'InvalidParameterValue', 'InvalidKeyPair.NotFound']) expect(classifyAwsError(ec2(c))).toBeUndefined();
  });

  it('describes an error as CODE: message, once', () => {
    expect(describeAwsError(ec2('VcpuLimitExceeded', 'You have requested more vCPU capacity'))).toBe('VcpuLimitExceeded: You have requested more vCPU capacity');
    expect(describeAwsError(ec2('Unsupported', 'Unsupported: already prefixed'))).toBe('Unsupported: already prefixed');
  });

  it("follows SkyPilot's disk tiers and the instance's architecture", () => {
    expect(diskSpec(undefined)).toEqual({ type: 'gp3', iops: 3500, throughput: 218 });
    expect(diskSpec('low')).toEqual({ type: 'standard' });
    expect(diskSpec('best')).toEqual({ type: 'io2', iops: 20000 });
    expect(archOf('m7g.large')).toBe('arm64');
    expect(archOf('c6gn.xlarge')).toBe('arm64');
    expect(archOf('g5.xlarge')).toBe('x86_64');
  });
});
