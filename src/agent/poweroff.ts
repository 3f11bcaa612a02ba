// Autostop on a machine of its own (a cloud VM): the node powers itself off, so autostop holds
// even when no daemon is there to act. What an OS shutdown means is the cloud's business: the
// provider set it on the instances (EC2: stop, or terminate for `--down`; GCE: stopped).
//
// The command is resolved to an absolute path first: `sudo` resets PATH, and must run the same
// binary the agent found (on a real VM /usr/sbin/poweroff; in the tests' fake VMs, the fake's own).
import { spawn } from 'node:child_process';

export const POWER_OFF_SCRIPT = String.raw`
sleep "$1"
if p=$(command -v poweroff); then set -- "$p"
elif p=$(command -v shutdown); then set -- "$p" -h now
else echo "no poweroff or shutdown on this node" >&2; exit 1; fi
if [ "$(id -u)" = 0 ]; then exec "$@"; else exec sudo -n "$@"; fi
`;

/** Powers the node off after `delayMs`, from a detached process that outlives the agent. */
export function schedulePowerOff(delayMs: number, log: (m: string) => void): void {
  const sec = Math.max(0, Math.ceil(delayMs / 1000));
  log(`autostop: powering this node off in ${sec}s`);
  const child = spawn('sh', ['-c', POWER_OFF_SCRIPT, 'poweroff', String(sec)], { detached: true, stdio: 'ignore' });
  child.on('error', (err) => log(`autostop: cannot power off: ${err.message}`));
  child.unref();
}
