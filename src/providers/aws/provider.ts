// The AWS provider: the VM cloud base over EC2 (driver.ts).
import { VmProvider, type VmProviderOptions } from '../cloud/provider.js';
import { AwsDriver } from './driver.js';

export function createAwsProvider(opts: VmProviderOptions = {}): VmProvider {
  return new VmProvider(new AwsDriver(), opts);
}
