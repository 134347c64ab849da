/**
 * loss_mask from byte spans: a token gets 0 when its first byte lies inside a masked span, 1
 * otherwise. Renderers start and end masked spans at line boundaries, where Llama-3's split
 * pattern starts a new piece, so in practice no token straddles a span's edge.
 */
export function maskFromSpans(ids: Int32Array, spans: ReadonlyArray<readonly [number, number]>, byteLength: (id: number) => number): Uint8Array {
  const mask = new Uint8Array(ids.length).fill(1);
  if (spans.length === 0) return mask;
  let s = 0;
  let offset = 0;
  for (let k = 0; k < ids.length; k++) {
    while (s < spans.length && spans[s][1] <= offset) s++;
    if (s < spans.length && spans[s][0] <= offset) mask[k] = 0;
    offset += byteLength(ids[k]);
  }
  return mask;
}
