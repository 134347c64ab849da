/** `retrace dataset show`: the hygiene figures of a version, from its manifest. */
export function hygieneLines(m: Record<string, any>): string[] {
  const h = m.hygiene;
  if (!h) return [];
  const t = h.totals ?? {};
  const kinds = Object.entries((t.secrets ?? {}) as Record<string, number>).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const skippedSources = Object.entries((t.sourcesSkipped ?? {}) as Record<string, number>).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const lines = [
    '  hygiene:',
    `    dedup ${h.dedup}${h.near ? ` (MinHash: ${h.near.shingle}-token shingles, ${h.near.permutations} permutations, ${h.near.bands}x${h.near.rows} bands, Jaccard ${h.near.threshold})` : ''}, secrets ${h.secrets}, licenses ${h.licenses?.allow ? `allow ${h.licenses.allow.join(', ')}` : 'all'} (unknown: ${h.licenses?.unknown})${h.decontaminate ? `, decontaminate ${h.decontaminate.items} benchmark item(s), ${h.decontaminate.ngram}-grams` : ''}`,
    `    files dropped: ${t.duplicates ?? 0} duplicate, ${t.nearDuplicates ?? 0} near-duplicate, ${t.contaminated ?? 0} contaminated${h.secrets === 'skip-file' ? `, ${t.secretFiles ?? 0} with secrets` : ''}`,
    `    secrets ${h.secrets === 'redact' ? 'redacted' : h.secrets === 'skip-file' ? 'found' : 'not scanned'}: ${kinds}${h.secrets === 'redact' ? ` (in ${t.secretFiles ?? 0} file(s))` : ''}`,
    `    repositories left out: ${skippedSources}`,
  ];
  for (const s of (m.sources ?? []) as any[]) {
    const name = s.name ?? JSON.stringify(s.source);
    lines.push(`    ${name}: license ${s.license ?? 'unknown'}${s.licenseFrom ? ` (${s.licenseFrom})` : ''}${s.hygiene?.skipped ? `, LEFT OUT ${s.hygiene.skipped.code}: ${s.hygiene.skipped.reason}` : ''}`);
  }
  return lines;
}
