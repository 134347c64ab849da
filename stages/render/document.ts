/**
 * A rendered document: the text (by content hash) and the byte spans of it that must not be
 * trained on (loss_mask 0). Spans are UTF-8 byte offsets of the text, half-open, sorted, disjoint.
 */
import type { ContentHash } from '../../src/hash.ts';

export interface RenderedDoc {
  /** Stable document id: the repository's id. */
  id: string;
  repo: string;
  text: ContentHash;
  bytes: number;
  /** [start, end) UTF-8 byte ranges whose tokens get loss_mask 0. */
  masked: Array<[number, number]>;
}

/** Builds a text piece by piece while tracking UTF-8 byte offsets for mask spans. */
export class TextBuilder {
  private readonly parts: string[] = [];
  private offset = 0;
  readonly masked: Array<[number, number]> = [];

  append(text: string, opts: { masked?: boolean } = {}): void {
    if (text.length === 0) return;
    const len = Buffer.byteLength(text, 'utf8');
    if (opts.masked) {
      const last = this.masked[this.masked.length - 1];
      if (last && last[1] === this.offset) last[1] += len;
      else this.masked.push([this.offset, this.offset + len]);
    }
    this.parts.push(text);
    this.offset += len;
  }

  get bytes(): number {
    return this.offset;
  }

  toString(): string {
    return this.parts.join('');
  }
}
