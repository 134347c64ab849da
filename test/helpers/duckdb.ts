/**
 * DuckDB as an independent reader of Parquet shards in tests (an in-memory instance).
 *
 * Arrow IPC files cannot be checked here: this @duckdb/node-api build (DuckDB 1.5.6) has no
 * read_arrow, its core arrow_scan takes C stream pointers only, and the arrow/nanoarrow extensions
 * cannot be installed offline. Tests read Arrow IPC shards with apache-arrow's reader instead.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

let connection: Promise<DuckDBConnection> | undefined;

function connect(): Promise<DuckDBConnection> {
  connection ??= DuckDBInstance.create(':memory:').then((db) => db.connect());
  return connection;
}

/** Runs SQL; values come back as plain JS (lists as arrays, BIGINT/HUGEINT as bigint). */
export async function queryShards(sql: string): Promise<Record<string, unknown>[]> {
  const reader = await (await connect()).runAndReadAll(sql);
  return reader.getRowObjectsJS() as Record<string, unknown>[];
}

/** SQL string literal for a path. */
export function sqlPath(file: string): string {
  return `'${file.replaceAll("'", "''")}'`;
}

export interface ShardRow {
  [column: string]: unknown;
  input_ids: number[];
  loss_mask: number[];
  num_tokens: number;
  /** Packed layout only. */
  doc_ids?: string[];
}

/** All rows of a Parquet shard in file order, list columns as arrays of numbers. */
export async function readShard(file: string): Promise<ShardRow[]> {
  const rows = await queryShards(`SELECT * FROM read_parquet(${sqlPath(file)}, file_row_number = true) ORDER BY file_row_number`);
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(row)) {
      if (key === 'file_row_number') continue;
      out[key] = Array.isArray(value) ? value.map((v) => (typeof v === 'bigint' ? Number(v) : v)) : typeof value === 'bigint' ? Number(value) : value;
    }
    return out as ShardRow;
  });
}
