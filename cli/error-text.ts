/** How the CLI words an error that reached it: the one wording for main's boundary and for a failed build under `build --watch`. */
import { RetraceError, systemError } from '../src/errors.ts';

export function errorText(caught: unknown): { text: string; exitCode: 1 | 2 } {
  const err = systemError(caught);
  if (err instanceof RetraceError) return { text: `error ${err.describe()}\n`, exitCode: err.code === 'USAGE' ? 2 : 1 };
  return { text: `error INTERNAL: ${(err as Error)?.stack ?? String(err)}\n(this is a bug in retrace; please report it with the command you ran)\n`, exitCode: 1 };
}
