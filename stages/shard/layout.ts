/**
 * The two row layouts a shard can hold, as Arrow schemas. Column names and types are the contract
 * with training loaders (PRODUCT.md); Parquet and Arrow IPC shards use the same schema.
 *
 * `documents`: one row per tokenized document.
 *   id utf8, repo utf8, license utf8, text utf8, input_ids list<int32>, loss_mask list<uint8>, num_tokens int32
 *   (license: the repository's SPDX expression, NOASSERTION when none was found; issue 15)
 * `packed`: one row per training sequence (see pack.ts for how documents are cut and the last
 * partial sequence is handled).
 *   input_ids list<int32>, loss_mask list<uint8>, doc_ids list<utf8>, doc_lengths list<int32>,
 *   num_tokens int32
 *
 * loss_mask is list<uint8> (1 = trained, 0 = not): DuckDB reads it as UTINYINT[], pyarrow and
 * numpy as uint8, and it is a plain copy of the tokenizer's Uint8Array.
 * num_tokens is always the length of input_ids in that row (padding included, see pack.ts).
 * The schema metadata carries `retrace.layout` so a reader can tell the layouts apart.
 */
import * as arrow from 'apache-arrow';
import { int32Data, int32ListData, listOf, recordBatch, uint8ListData, utf8Data, utf8ListData } from './columns.ts';

/** A tokenized document as the tokenize stage hands it over. */
export interface TokenizedDoc {
  id: string;
  repo: string;
  /** SPDX expression of the repository's license, or NOASSERTION. */
  license: string;
  text: string;
  /** BOS + tokens + EOS. */
  inputIds: Int32Array;
  /** One per id, 1 = trained. */
  lossMask: Uint8Array;
}

/** One training sequence of the packed layout. */
export interface PackedSequence {
  inputIds: Int32Array;
  lossMask: Uint8Array;
  /** The documents present, in order; "" marks padding. */
  docIds: string[];
  /** Tokens of each entry of docIds in this sequence; they sum to inputIds.length. */
  docLengths: Int32Array;
}

export type LayoutName = 'documents' | 'packed';

export interface Layout<Row> {
  readonly name: LayoutName;
  readonly schema: arrow.Schema;
  /** Tokens in a row: the num_tokens column. */
  tokens(row: Row): number;
  /**
   * Approximate uncompressed size of a row (strings counted in UTF-16 units, ids 4 bytes, mask 1),
   * used only to cut row groups; cheap and a pure function of the row, so cuts are deterministic.
   */
  approxBytes(row: Row): number;
  toBatch(rows: readonly Row[]): arrow.RecordBatch;
}

const utf8 = () => new arrow.Utf8();
const field = (name: string, type: arrow.DataType) => new arrow.Field(name, type, false);
const schemaOf = (name: LayoutName, fields: arrow.Field[]) => new arrow.Schema(fields, new Map([['retrace.layout', name]]));

function numTokensData<Row>(rows: readonly Row[], tokens: (row: Row) => number): arrow.Data<arrow.Int32> {
  return int32Data(Int32Array.from(rows, tokens));
}

const documentsSchema = schemaOf('documents', [
  field('id', utf8()),
  field('repo', utf8()),
  field('license', utf8()),
  field('text', utf8()),
  field('input_ids', listOf(new arrow.Int32())),
  field('loss_mask', listOf(new arrow.Uint8())),
  field('num_tokens', new arrow.Int32()),
]);

export const documentsLayout: Layout<TokenizedDoc> = {
  name: 'documents',
  schema: documentsSchema,
  tokens: (doc) => doc.inputIds.length,
  approxBytes: (doc) => doc.id.length + doc.repo.length + doc.license.length + doc.text.length + 5 * doc.inputIds.length,
  toBatch(docs) {
    return recordBatch(documentsSchema, docs.length, [
      utf8Data(docs.map((d) => d.id)),
      utf8Data(docs.map((d) => d.repo)),
      utf8Data(docs.map((d) => d.license)),
      utf8Data(docs.map((d) => d.text)),
      int32ListData(docs.map((d) => d.inputIds)),
      uint8ListData(docs.map((d) => d.lossMask)),
      numTokensData(docs, this.tokens),
    ]);
  },
};

const packedSchema = schemaOf('packed', [
  field('input_ids', listOf(new arrow.Int32())),
  field('loss_mask', listOf(new arrow.Uint8())),
  field('doc_ids', listOf(utf8())),
  field('doc_lengths', listOf(new arrow.Int32())),
  field('num_tokens', new arrow.Int32()),
]);

export const packedLayout: Layout<PackedSequence> = {
  name: 'packed',
  schema: packedSchema,
  tokens: (seq) => seq.inputIds.length,
  approxBytes: (seq) => 5 * seq.inputIds.length + seq.docIds.reduce((n, id) => n + id.length + 4, 0),
  toBatch(seqs) {
    return recordBatch(packedSchema, seqs.length, [
      int32ListData(seqs.map((s) => s.inputIds)),
      uint8ListData(seqs.map((s) => s.lossMask)),
      utf8ListData(seqs.map((s) => s.docIds)),
      int32ListData(seqs.map((s) => s.docLengths)),
      numTokensData(seqs, this.tokens),
    ]);
  },
};

export interface RowOf {
  documents: TokenizedDoc;
  packed: PackedSequence;
}

export const layouts: { [L in LayoutName]: Layout<RowOf[L]> } = { documents: documentsLayout, packed: packedLayout };
