/** The engine's build commands: build, scale-out partitions and merge, status. */
export { runBuild } from './run.ts';
export { watchBuilds, type WatchHooks } from './watch.ts';
export { runMerge, runPartition, type PartitionSummary } from './partition.ts';
export { runStatus, type StatusReport } from './status.ts';
export { openSession, projectDirs, resolveDirs, type BuildOptions, type Session } from './session.ts';
export type { BuildSummary, StageTable } from './summary.ts';
