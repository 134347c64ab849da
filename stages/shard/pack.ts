/**
 * Packs tokenized documents into training sequences of exactly `seqLen` tokens.
 *
 * Documents are concatenated in the order pushed (each already carries its BOS and EOS). A
 * document longer than the space left in the current sequence continues at the start of the
 * next one; it then appears in the doc_ids of both, with the tokens it has in each in doc_lengths.
 * Documents with no tokens are skipped. The tokens left over at the end (fewer than seqLen) are
 * handled by `lastPartial`:
 * - 'drop': discarded (documents seen only there appear nowhere). Every row has seqLen tokens.
 * - 'pad':  filled up to seqLen with `padId`, loss_mask 0, recorded as one more doc_ids entry ""
 *           whose doc_lengths entry is the pad count, so doc_lengths still sum to seqLen.
 * - 'keep': emitted as a shorter last row; its doc_lengths sum to its num_tokens.
 * When the total is a multiple of seqLen there is no partial sequence and all three agree.
 *
 * Memory: one sequence under construction plus the pushed documents not yet consumed. Push a
 * document, then pull until `pull()` returns undefined, so only one document is held at a time.
 */
import { RetraceError } from '../../src/errors.ts';
import type { PackedSequence, TokenizedDoc } from './layout.ts';

export interface PackOptions {
  seqLen: number;
  lastPartial: 'drop' | 'pad' | 'keep';
  /** Token id used for padding when lastPartial is 'pad'. */
  padId?: number;
}

/** The doc_ids entry that marks padding. */
export const PAD_DOC_ID = '';

export class SequencePacker {
  private readonly seqLen: number;
  private readonly opts: PackOptions;
  private ids: Int32Array;
  private mask: Uint8Array;
  private fill = 0;
  private docIds: string[] = [];
  private docLengths: number[] = [];
  /** Pushed documents not yet fully copied, and how far into the first one we are. */
  private readonly queue: TokenizedDoc[] = [];
  private offset = 0;
  private finished = false;

  constructor(opts: PackOptions) {
    if (!Number.isInteger(opts.seqLen) || opts.seqLen < 1) {
      throw new RetraceError('CONFIG_INVALID', `seqLen must be a positive integer, got ${opts.seqLen}`, { item: 'output.seqLen' });
    }
    if (opts.lastPartial === 'pad' && !Number.isInteger(opts.padId)) {
      throw new RetraceError('CONFIG_INVALID', "lastPartial 'pad' needs an integer padId", {
        item: 'output.padId',
        hint: 'set padId, e.g. the EOS id 128001',
      });
    }
    this.opts = opts;
    this.seqLen = opts.seqLen;
    this.ids = new Int32Array(opts.seqLen);
    this.mask = new Uint8Array(opts.seqLen);
  }

  push(doc: TokenizedDoc): void {
    if (this.finished) throw new Error('SequencePacker.push after finish()');
    if (doc.lossMask.length !== doc.inputIds.length) {
      throw new RetraceError('STAGE_FAILED', `loss_mask has ${doc.lossMask.length} entries for ${doc.inputIds.length} ids`, {
        item: doc.id,
      });
    }
    if (doc.inputIds.length > 0) this.queue.push(doc);
  }

  /** Marks the end of input; pull() then also returns the partial last sequence, if any. */
  finish(): void {
    this.finished = true;
  }

  /** The next complete sequence, or undefined when more input (or finish()) is needed. */
  pull(): PackedSequence | undefined {
    while (this.fill < this.seqLen && this.queue.length > 0) this.copyFromQueue();
    if (this.fill === this.seqLen) return this.emit();
    if (!this.finished || this.fill === 0) return undefined;
    switch (this.opts.lastPartial) {
      case 'drop':
        this.reset();
        return undefined;
      case 'keep':
        return this.emit();
      case 'pad': {
        const pad = this.seqLen - this.fill;
        this.ids.fill(this.opts.padId!, this.fill);
        this.mask.fill(0, this.fill);
        this.docIds.push(PAD_DOC_ID);
        this.docLengths.push(pad);
        this.fill = this.seqLen;
        return this.emit();
      }
      default: {
        const never: never = this.opts.lastPartial;
        throw new Error(`unknown lastPartial ${String(never)}`);
      }
    }
  }

  private copyFromQueue(): void {
    const doc = this.queue[0]!;
    const n = Math.min(doc.inputIds.length - this.offset, this.seqLen - this.fill);
    this.ids.set(doc.inputIds.subarray(this.offset, this.offset + n), this.fill);
    this.mask.set(doc.lossMask.subarray(this.offset, this.offset + n), this.fill);
    this.docIds.push(doc.id);
    this.docLengths.push(n);
    this.fill += n;
    this.offset += n;
    if (this.offset === doc.inputIds.length) {
      this.queue.shift();
      this.offset = 0;
    }
  }

  private emit(): PackedSequence {
    const seq: PackedSequence = {
      inputIds: this.ids.slice(0, this.fill),
      lossMask: this.mask.slice(0, this.fill),
      docIds: this.docIds,
      docLengths: Int32Array.from(this.docLengths),
    };
    this.reset();
    return seq;
  }

  private reset(): void {
    this.fill = 0;
    this.docIds = [];
    this.docLengths = [];
  }
}

/** Packs a whole stream of documents; a convenience over SequencePacker. */
export function* packDocuments(docs: Iterable<TokenizedDoc>, opts: PackOptions): Generator<PackedSequence> {
  const packer = new SequencePacker(opts);
  for (const doc of docs) {
    packer.push(doc);
    for (let seq = packer.pull(); seq; seq = packer.pull()) yield seq;
  }
  packer.finish();
  for (let seq = packer.pull(); seq; seq = packer.pull()) yield seq;
}
