// The GCP provider: the shared VM base (../cloud/provider.ts) over Compute Engine (driver.ts),
// with settings (credentials, project, endpoint) read afresh from the environment and
// ALOFT_HOME/config.yaml whenever they change.
import { loadConfig } from '../../spec/config.js';
import { homePaths } from '../../util/paths.js';
import { VmProvider, type VmProviderOptions } from '../cloud/provider.js';
import { GcpDriver } from './driver.js';
import { gcpSettings } from './settings.js';

export function gcpDriver(home: string, env: NodeJS.ProcessEnv = process.env): GcpDriver {
  return new GcpDriver(() => gcpSettings({ env, config: loadConfig(homePaths(home).config).gcp }));
}

export function createGcpProvider(home: string, opts: VmProviderOptions = {}): VmProvider {
  return new VmProvider(gcpDriver(home), { ...opts, home });
}
