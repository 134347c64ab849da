/** `retrace report` and `retrace view`: looking at a built version and at one of its documents. */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { findVersion } from '../src/dataset.ts';
import { RetraceError } from '../src/errors.ts';
import { buildReport } from '../stages/report/index.ts';
import { renderAnsi, renderHtmlPage, renderPlain, viewStats } from '../stages/view/render.ts';
import { documentTokens, spansOf, tokenizer } from '../stages/view/rows.ts';
import { common, folders, type Common, type Result } from './common.ts';

export function reportCommands<T>(y: Argv<T>, run: (handler: (a: any) => Promise<Result>) => (a: any) => Promise<void>): Argv<T> {
  return y
    .command(
      'report [version]',
      'write one self-contained HTML report of a version (plots of document lengths, trained share, skips, the last build): report.html in the version folder unless --html says otherwise',
      (yy) =>
        common(yy)
          .positional('version', { type: 'string', default: 'latest', describe: 'version id, prefix, name/version or latest' })
          .option('html', { type: 'string', describe: 'the HTML file to write (default: <version folder>/report.html)' }),
      run(async (a: Common & { version: string; html?: string }): Promise<Result> => {
        const { outDir } = await folders(a);
        const v = findVersion(outDir, a.version);
        const r = await buildReport(v);
        const file = a.html ? resolve(a.html) : join(v.path, 'report.html');
        writeFileSync(file, r.html);
        return {
          value: { file, version: v.version, figures: r.figures.map((f) => f.id), missing: r.missing },
          text: [`wrote ${file}`, `  ${r.figures.length} figure(s): ${r.figures.map((f) => f.id).join(', ')}`, ...r.missing.map((m) => `  not drawn: ${m.title} (${m.why})`)].join('\n'),
        };
      }),
    )
    .command(
      'view <document> [version]',
      'a document as a reader sees it: Think / Action / Observation marked, loss-masked spans shaded (colors on a terminal, [masked]...[/masked] otherwise, or --html)',
      (yy) =>
        common(yy)
          .positional('document', { type: 'string', demandOption: true, describe: 'a document id (a repository name; `retrace dataset show` lists them)' })
          .positional('version', { type: 'string', default: 'latest', describe: 'version id, prefix, name/version or latest' })
          .option('html', { type: 'string', describe: 'write an HTML page to this file (`--html -` prints it)' }),
      run(async (a: Common & { document: string; version: string; html?: string }): Promise<Result> => {
        const { outDir } = await folders(a);
        const v = findVersion(outDir, a.version);
        const doc = await documentTokens(v, a.document);
        if (!doc) {
          const ids = (v.manifest.documents as Array<{ id: string }> | undefined)?.map((d) => d.id) ?? [];
          throw new RetraceError('ITEM_NOT_FOUND', `no document "${a.document}" in ${v.name}/${v.version}`, { item: a.document, hint: `its documents: ${ids.slice(0, 20).join(', ') || 'none'}${ids.length > 20 ? ', ...' : ''}` });
        }
        const spans = spansOf(await tokenizer(), doc.ids, doc.mask);
        const value = { document: a.document, version: v.version, tokens: doc.ids.length, trained: doc.mask.reduce((s, x) => s + x, 0), ...viewStats(spans), spans };
        if (a.html !== undefined) {
          const page = renderHtmlPage(`${a.document} (${v.name}/${v.version})`, spans);
          if (a.html === '-' || a.html === '') return { value, text: page };
          writeFileSync(resolve(a.html), page);
          return { value: { ...value, file: resolve(a.html) }, text: `wrote ${resolve(a.html)}` };
        }
        return { value, text: process.stdout.isTTY ? renderAnsi(spans) : renderPlain(spans) };
      }),
    );
}
