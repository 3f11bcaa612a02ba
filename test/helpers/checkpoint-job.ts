// The managed spot job the recovery tests run on every infra: it counts to `steps`, one step every
// `stepSeconds`, keeping its count in a checkpoint file outside the nodes (where a bucket would
// be), so a recovered run goes on from where the lost one was. Each run first prints
// `resume from N` (then `tag`, expanded by the job's shell).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CheckpointJob {
  /** the task YAML, for `aloft jobs launch` */
  yaml: string;
  ckpt: string;
  /** the last step the checkpoint holds (0 before the first) */
  step(): number;
}

export function writeCheckpointJob(dir: string, o: { infra: string; cpus?: number; steps: number; stepSeconds: number; tag?: string }): CheckpointJob {
  const ckpt = join(dir, 'ckpt');
  const yaml = join(dir, 'train.yaml');
  writeFileSync(
    yaml,
    `name: train
resources:
  infra: ${o.infra}
${o.cpus === undefined ? '' : `  cpus: ${o.cpus}\n`}  use_spot: true
envs:
  CKPT: ${ckpt}
# The checkpoint is replaced atomically (write, then rename), as a real training script must: a
# preemption between the truncate and the write of a plain \`>\` would leave it empty.
run: |
  n=$(cat "$CKPT" 2>/dev/null || echo 0)
  echo "resume from $n${o.tag ?? ''}"
  while [ "$n" -lt ${o.steps} ]; do n=$((n+1)); echo "$n" > "$CKPT.tmp"; mv "$CKPT.tmp" "$CKPT"; echo "step $n"; sleep ${o.stepSeconds}; done
  echo "finished at $n"
`,
  );
  return { yaml, ckpt, step: () => (existsSync(ckpt) ? Number(readFileSync(ckpt, 'utf8')) : 0) };
}

/** The step each run of a checkpoint job resumed from, in order, as the job's logs say. */
export function resumedFrom(logs: string): number[] {
  return [...logs.matchAll(/resume from (\d+)/g)].map((m) => Number(m[1]));
}
