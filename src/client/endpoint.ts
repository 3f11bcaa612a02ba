// Which daemon the CLI talks to: a remote API server when ALOFT_API_SERVER_ENDPOINT (with
// ALOFT_API_TOKEN) is set or config.yaml has `api_server: {endpoint, service_account_token}`
// (`aloft api login` writes those), else the local daemon of ALOFT_HOME.
import type { ApiServerConfig } from '../spec/config.js';
import { UserError } from '../util/errors.js';
import type { Endpoint } from './http.js';

export function remoteEndpoint(api: ApiServerConfig | undefined, env: NodeJS.ProcessEnv = process.env): Extract<Endpoint, { kind: 'tcp' }> | undefined {
  const url = env.ALOFT_API_SERVER_ENDPOINT || api?.endpoint;
  if (!url) return undefined;
  if (!/^https?:\/\/[^\s/]+/.test(url)) throw new UserError(`API server endpoint '${url}' is not an http:// or https:// URL`);
  const token = env.ALOFT_API_TOKEN || api?.token;
  return { kind: 'tcp', url: url.replace(/\/+$/, ''), ...(token ? { token } : {}) };
}
