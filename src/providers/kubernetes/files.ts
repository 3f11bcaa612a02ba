// Is there a kubeconfig at all? Answered without loading the SDK (the daemon asks on every plan).
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The kubeconfig files kubectl would read: KUBECONFIG's existing entries, else ~/.kube/config. */
export function kubeconfigFiles(env: NodeJS.ProcessEnv = process.env, home = homedir()): string[] {
  const list = env.KUBECONFIG ? env.KUBECONFIG.split(delimiter).filter(Boolean) : [join(home, '.kube', 'config')];
  return [...new Set(list)].filter((f) => {
    try {
      return statSync(f).isFile();
    } catch {
      return false;
    }
  });
}

export function inCluster(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST) && existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token');
}

export function hasKubeconfig(env: NodeJS.ProcessEnv = process.env): boolean {
  return kubeconfigFiles(env).length > 0 || inCluster(env);
}
