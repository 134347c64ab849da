/**
 * Arrow IPC file format (random access, what pyarrow.ipc.open_file and arrow's readers memory-map)
 * via apache-arrow's RecordBatchFileWriter: one record batch per row group cut by writers.ts.
 *
 * The writer serializes synchronously into a queue of chunks (mostly views of the batch's own
 * buffers); after each batch we copy the queued chunks to the file before accepting the next,
 * so memory stays at about one batch.
 */
import * as arrow from 'apache-arrow';
import type { AtomicFile } from './atomic-file.ts';
import type { BatchSink } from './writers.ts';

const IDLE = Symbol('idle');

export class ArrowIpcSink implements BatchSink {
  private readonly writer: arrow.RecordBatchFileWriter;
  private readonly chunks: AsyncIterator<Uint8Array>;
  /** A read of the writer's queue that found it empty, kept for the next drain. */
  private waiting?: Promise<IteratorResult<Uint8Array>>;

  constructor(
    private readonly file: AtomicFile,
    schema: arrow.Schema,
  ) {
    this.writer = new arrow.RecordBatchFileWriter();
    this.writer.reset(undefined, schema);
    this.chunks = this.writer[Symbol.asyncIterator]();
  }

  async write(batch: arrow.RecordBatch): Promise<void> {
    this.writer.write(batch);
    await this.drain(false);
  }

  async finish(): Promise<void> {
    this.writer.finish();
    this.writer.close();
    await this.drain(true);
  }

  /**
   * Copies queued chunks to the file. A queued chunk is handed out within a few microtasks; a read
   * still pending after a macrotask means the queue is empty (unless `toEnd`, which waits for the
   * writer to close its queue).
   */
  private async drain(toEnd: boolean): Promise<void> {
    for (;;) {
      const next = this.waiting ?? this.chunks.next();
      this.waiting = undefined;
      const got = toEnd ? await next : await Promise.race([next, new Promise<typeof IDLE>((r) => setImmediate(r, IDLE))]);
      if (got === IDLE) {
        this.waiting = next;
        return;
      }
      if (got.done) return;
      await this.file.write(got.value);
    }
  }
}
