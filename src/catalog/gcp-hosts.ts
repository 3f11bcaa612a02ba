// GCP prices GPUs apart from the VM they attach to: catalog rows with an empty InstanceType price
// the accelerators alone. An offering is host + accelerators, and which hosts a GPU fits follows
// GCP's machine-family rules, encoded here.

/** [max vCPUs, max memory GiB] of an N1 host per GPU count, from GCP's attachable-GPU limits. */
const N1_LIMITS: Record<string, Record<number, [number, number]>> = {
  T4: { 1: [48, 312], 2: [48, 312], 4: [96, 624] },
  V100: { 1: [12, 78], 2: [24, 156], 4: [48, 312], 8: [96, 624] },
  P100: { 1: [16, 104], 2: [32, 208], 4: [96, 624] },
  P4: { 1: [24, 156], 2: [48, 312], 4: [96, 624] },
  K80: { 1: [8, 52], 2: [16, 104], 4: [32, 208], 8: [64, 416] },
};

const G2_FOR_L4: Record<number, string[]> = {
  1: ['g2-standard-4', 'g2-standard-8', 'g2-standard-12', 'g2-standard-16', 'g2-standard-32'],
  2: ['g2-standard-24'],
  4: ['g2-standard-48'],
  8: ['g2-standard-96'],
};

const N1_HOST = /^n1-(standard|highmem|highcpu)-\d+$/;

/** Instance types (a2/a3/a4/g2) that exist only together with their GPUs: never CPU-only offerings. */
export const GCP_GPU_HOST = /^(a2|a3|a4|g2)-/;

/** Does host `type` (with its vCPUs and memory) carry `count` x `acc`? */
export function gcpHostFits(acc: string, count: number, type: string, cpus: number, memGiB: number): boolean {
  switch (acc) {
    case 'A100':
      return count === 16 ? type === 'a2-megagpu-16g' : type === `a2-highgpu-${count}g`;
    case 'A100-80GB':
      return type === `a2-ultragpu-${count}g`;
    case 'H100':
      return type === `a3-highgpu-${count}g`;
    case 'H100-MEGA':
      return type === `a3-megagpu-${count}g`;
    case 'H200':
      return type === `a3-ultragpu-${count}g`;
    case 'B200':
      return type === `a4-highgpu-${count}g`;
    case 'L4':
      return G2_FOR_L4[count]?.includes(type) ?? false;
    default: {
      const lim = N1_LIMITS[acc]?.[count];
      return !!lim && N1_HOST.test(type) && cpus <= lim[0] && memGiB <= lim[1];
    }
  }
}
