/** The engine as a library: what embedding programs and other pipelines import. */
export { loadConfig, validateConfig, ENGINE_ONLY, type ConfigSection, type EngineConfig, type LoadedConfig } from './config.ts';
export { checkKit, type Check, type CheckKit } from './validate.ts';
export { runBuild, runMerge, runPartition, runStatus, watchBuilds, type BuildOptions, type BuildSummary, type StatusReport, type WatchHooks } from './build/index.ts';
export { RetraceError, registerCodes, factories, type ErrorCode, type CodeSpec } from './errors.ts';
export { defineStage, jsonCodec, type StageDef, type StageContext } from './stage.ts';
export type { Pipeline, PipelineRun, PipelineOutput, OutputShard } from './pipeline.ts';
export { NullReporter, PlainReporter, TtyReporter, type Reporter, type BuildEvent } from './reporter.ts';
