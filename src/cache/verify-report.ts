/** Human lines for `retrace cache verify` (the JSON form is the VerifyOutcome itself). */
import type { VerifyReport } from './lmdb-store.ts';
import type { VerifyOutcome } from './commands.ts';
import { describeRepair } from './salvage.ts';

/** Damaged entries in a report (a damaged environment counts one). */
export function damageCount(r: VerifyReport): number {
  return r.corruptBlobs.length + r.missingBlobs.length + r.badRecords.length + r.badItems.length + (r.environment ? 1 : 0);
}

function counts(r: VerifyReport): string {
  return `${r.corruptBlobs.length} corrupt blob(s), ${r.missingBlobs.length} result(s) missing blobs, ${r.badRecords.length} bad record(s), ${r.badItems.length} bad item histor${r.badItems.length === 1 ? 'y' : 'ies'}`;
}

export function verifyLines(v: VerifyOutcome): string[] {
  const lines: string[] = [];
  const r = v.report;
  if (v.damaged === 0 && r) return [`cache ok: ${r.blobsChecked} blobs re-hashed, ${r.actionsChecked} results and ${r.itemsChecked} item histories checked`];
  if (v.environment) lines.push(`cache environment damaged: ${v.environment}`);
  if (r && !v.environment) lines.push(`cache damaged: ${counts(r)}`);
  if (r) {
    lines.push(...r.badRecords.slice(0, 10).map((b) => `  bad record ${b.key}: ${b.problem}`));
    lines.push(...r.missingBlobs.slice(0, 10).map((m) => `  missing ${m.blob} for ${m.stage} ${m.item}`));
    lines.push(...r.badItems.slice(0, 10).map((b) => `  bad item history ${b.key.replace('\0', ' ')}: ${b.problem}`));
  }
  if (!v.repaired) {
    lines.push('  run `retrace cache verify --repair` (or build with --repair-cache)');
    return lines;
  }
  if (v.repaired.environment) lines.push(`repaired: ${describeRepair(v.repaired.environment)}`);
  else lines.push(`repaired: ${v.repaired.entries} damaged entr${v.repaired.entries === 1 ? 'y' : 'ies'} removed; the next build recomputes them`);
  const a = v.repaired.after;
  lines.push(v.ok ? `cache ok now: ${a.blobsChecked} blobs re-hashed, ${a.actionsChecked} results checked` : `still damaged: ${counts(a)}`);
  return lines;
}
