// The bash script a remote transport (an ssh host, a pod) runs for one command: the environment
// exported (names checked, values quoted), in the node's home, under a hard timeout where the
// node has `timeout`.
import { ENV_NAME_RE } from '../spec/patterns.js';
import { shellQuote } from '../util/shell.js';

export function commandScript(command: string, o: { env: Record<string, string>; home?: string; timeoutMs?: number; prelude?: string[] }): string {
  const lines: string[] = [...(o.prelude ?? [])];
  for (const [k, v] of Object.entries(o.env)) {
    if (!ENV_NAME_RE.test(k)) throw new Error(`invalid environment variable name '${k}'`);
    lines.push(`export ${k}=${shellQuote(v)}`);
  }
  if (o.home) {
    const h = shellQuote(o.home);
    lines.push(`mkdir -p ${h} && cd ${h} || exit 1`);
  }
  if (o.timeoutMs) {
    // GNU/busybox timeout signals its whole process group, so grandchildren go too (a killed
    // bash would leave them holding the channel open).
    const sec = Math.max(1, Math.ceil(o.timeoutMs / 1000));
    lines.push(`if command -v timeout >/dev/null 2>&1; then exec timeout -s KILL ${sec} bash -c ${shellQuote(command)}; fi`);
  }
  lines.push(command);
  return lines.join('\n');
}
