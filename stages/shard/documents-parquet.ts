/**
 * The documents layout (layout.ts) for the Parquet encoder without apache-arrow: its schema as
 * data, and a row group's columns built straight from the rows. The row-group stage's worker
 * (row-group-task.ts) and the file layout's footer (files.ts) use them, so an incremental build
 * never pays for loading apache-arrow (~170 ms a thread) to encode one row group or lay a file out.
 * test/shard-parquet-format.test.ts checks this schema against layout.ts's Arrow schema, and the
 * bytes against the Arrow writer's.
 */
import { concatLists, listOffsets, utf8Buffers } from './buffers.ts';
import type { ColumnData, ParquetSchema } from './parquet.ts';

/**
 * A row of the documents layout as the row-group worker holds it: layout.ts's TokenizedDoc with
 * the text as the UTF-8 bytes the main thread sent, never decoded to a string and encoded again.
 */
export interface DocumentRow {
  id: string;
  repo: string;
  license: string;
  text: Uint8Array;
  inputIds: Int32Array;
  lossMask: Uint8Array;
}

/** documentsLayout.schema as the encoder sees it; arrowSchema: its IPC schema message, base64 (parquet-arrow.ts arrowSchemaEntry). */
export const DOCUMENTS_PARQUET: ParquetSchema = {
  fields: [
    { name: 'id', kind: 'utf8', list: false },
    { name: 'repo', kind: 'utf8', list: false },
    { name: 'license', kind: 'utf8', list: false },
    { name: 'text', kind: 'utf8', list: false },
    { name: 'input_ids', kind: 'int32', list: true },
    { name: 'loss_mask', kind: 'uint8', list: true },
    { name: 'num_tokens', kind: 'int32', list: false },
  ],
  arrowSchema:
    '/////0gCAAAQAAAAAAAKAA4ADAAHAAgACgAAAAAAAAEQAAAABAAKAAwAAAAIAAQACgAAAAgAAABEAAAAAQAAAAwAAAAIAAwACAAEAAgAAAAIAAAAFAAAAAkAAABkb2N1bWVudHMAAAAOAAAAcmV0cmFjZS5sYXlvdXQAAAcAAACkAQAAaAEAADwBAAAQAQAApAAAADwAAAAEAAAAiP7//xAAAAAcAAAAAAAAAhgAAAAKAAAAbnVtX3Rva2VucwAAAAAAAED///8AAAABIAAAALz+//8QAAAAHAAAAAAAAAxQAAAACQAAAGxvc3NfbWFzawAAAAEAAAAEAAAA6P7//xAAAAAYAAAAAAAAAhwAAAAEAAAAaXRlbQAAAAAAAAAAAAAGAAgABAAGAAAACAAAAOz+//8g////EAAAABwAAAAAAAAMVAAAAAkAAABpbnB1dF9pZHMAAAABAAAABAAAAEz///8QAAAAGAAAAAAAAAIcAAAABAAAAGl0ZW0AAAAAAAAAAAgADAAIAAcACAAAAAAAAAEgAAAAVP///4j///8QAAAAGAAAAAAAAAUUAAAABAAAAHRleHQAAAAAAAAAAHz///+w////EAAAABgAAAAAAAAFFAAAAAcAAABsaWNlbnNlAAAAAACk////2P///xAAAAAYAAAAAAAABRQAAAAEAAAAcmVwbwAAAAAAAAAAzP///xAAFAAEAAAADwAQAAAACAAQAAAAEAAAABQAAAAAAAAFFAAAAAIAAABpZAAAAAAAAAQABAAEAAAAAAAAAA==',
};

const column = (length: number, rest: Partial<ColumnData>): ColumnData => ({ length, offset: 0, children: [], ...rest });

function utf8Column(values: readonly string[]): ColumnData {
  const { offsets, data } = utf8Buffers(values);
  return column(values.length, { valueOffsets: offsets, values: data });
}

/** Values back to back, and their offsets: a list's items, or (bytes) a string column's UTF-8. */
function concatenated<A extends Int32Array | Uint8Array>(lists: readonly A[], make: (n: number) => A): { offsets: Int32Array; values: A } {
  const offsets = listOffsets(lists.length, (i) => lists[i]!.length);
  return { offsets, values: concatLists(lists, make(offsets[lists.length]!), offsets) };
}

function listColumn<A extends Int32Array | Uint8Array>(lists: readonly A[], make: (n: number) => A): ColumnData {
  const { offsets, values } = concatenated(lists, make);
  return column(lists.length, { valueOffsets: offsets, children: [column(values.length, { values })] });
}

function utf8BytesColumn(texts: readonly Uint8Array[]): ColumnData {
  const { offsets, values } = concatenated(texts, (n) => new Uint8Array(n));
  return column(texts.length, { valueOffsets: offsets, values });
}

/** A row group's columns, in DOCUMENTS_PARQUET's field order: what documentsLayout.toBatch holds. */
export function documentColumns(docs: readonly DocumentRow[]): ColumnData[] {
  return [
    utf8Column(docs.map((d) => d.id)),
    utf8Column(docs.map((d) => d.repo)),
    utf8Column(docs.map((d) => d.license)),
    utf8BytesColumn(docs.map((d) => d.text)),
    listColumn(docs.map((d) => d.inputIds), (n) => new Int32Array(n)),
    listColumn(docs.map((d) => d.lossMask), (n) => new Uint8Array(n)),
    column(docs.length, { values: Int32Array.from(docs, (d) => d.inputIds.length) }),
  ];
}
