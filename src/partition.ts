/**
 * Which partition of a scale-out build this process is: from `--shard I/N`, or with
 * `--shard auto` from the scheduler's environment: Slurm job arrays (SLURM_ARRAY_TASK_ID, less
 * SLURM_ARRAY_TASK_MIN when the array does not start at 0, and SLURM_ARRAY_TASK_COUNT) or
 * Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX; the count comes from the flag or config).
 */
import { RetraceError } from './errors.ts';

export interface Partition {
  index: number;
  count: number;
}

const usage = (msg: string, item: string): RetraceError =>
  new RetraceError('USAGE', msg, { item, hint: 'use --shard I/N (0 <= I < N), or --shard auto inside a Slurm array or a Kubernetes Indexed Job' });

function int(s: string | undefined): number | undefined {
  return s !== undefined && /^\d+$/.test(s.trim()) ? Number(s) : undefined;
}

export function resolvePartition(arg: string, env: NodeJS.ProcessEnv, configCount?: number): Partition {
  const m = /^(\d+|auto)(?:\/(\d+))?$/.exec(arg.trim());
  if (!m) throw usage(`cannot read --shard "${arg}"`, arg);
  let count = int(m[2]) ?? configCount;
  let index: number | undefined;
  if (m[1] !== 'auto') {
    index = Number(m[1]);
  } else if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    index = int(env.SLURM_ARRAY_TASK_ID)! - (int(env.SLURM_ARRAY_TASK_MIN) ?? 0);
    count = int(m[2]) ?? int(env.SLURM_ARRAY_TASK_COUNT) ?? count;
  } else if (env.JOB_COMPLETION_INDEX !== undefined) {
    index = int(env.JOB_COMPLETION_INDEX);
  }
  if (index === undefined || Number.isNaN(index)) throw usage('--shard auto found no SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX in the environment', arg);
  if (count === undefined) throw usage('the number of partitions is unknown: give --shard I/N, or set `partitions` in the config', arg);
  if (!(count >= 1) || index < 0 || index >= count) throw usage(`partition ${index} is not in 0..${count - 1}`, arg);
  return { index, count };
}
