/**
 * The settings of the Parquet encoder (parquet.ts) that shape a row group's bytes, in a module of
 * their own: the row-group stage's key (row-group.ts) names them on the main thread, which never
 * loads the encoder (apache-arrow, the codecs).
 */
export type ParquetCompression = 'zstd' | 'snappy' | 'none';

/** The zstd level parquet-wasm used (arrow-rs's default): fast, and the files stay small. */
export const ZSTD_LEVEL = 1;
/** Values per data page, about (arrow-rs's default data page size limit). */
export const PAGE_BYTES = 1024 * 1024;
