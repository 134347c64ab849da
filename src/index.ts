/** The engine as a library: what configs and embedding programs import. */
export { defineConfig, loadConfig, validateConfig, type PipelineConfig, type SourceConfig } from './config.ts';
export { runBuild, runStatus, type BuildOptions, type BuildSummary, type StatusReport } from './build.ts';
export { RetraceError, type ErrorCode } from './errors.ts';
export { defineStage, type StageDef, type StageContext } from './stage.ts';
export { NullReporter, PlainReporter, TtyReporter, type Reporter, type BuildEvent } from './reporter.ts';
