// Piscina worker entry, plain JS. It imports each task's module once and dispatches the task to
// its default export. Under the `retrace` binary every task module is pre-built JavaScript
// (bin/retrace.js; src/pool.ts maps source URLs to built files) and the pool says so
// (workerData.prebuilt): a TypeScript module is then refused, so production workers never load
// a TypeScript loader. Running from the sources (tests, `node --import tsx`), the first
// TypeScript module registers tsx in this thread.
import { workerData } from 'piscina';

const modules = new Map();
let typescript = false;

async function load(moduleUrl) {
  if (/\.[cm]?ts$/.test(moduleUrl) && !typescript) {
    if (workerData?.prebuilt) {
      throw {
        message: `task module ${moduleUrl} is TypeScript, but this worker runs pre-built JavaScript only`,
        code: 'WORKER_FAILED',
        item: moduleUrl,
        hint: 'name task modules as new URL("./x.ts", import.meta.url) so bin/retrace.js builds them; delete dist/ to rebuild',
      };
    }
    const { register } = await import('tsx/esm/api');
    register();
    typescript = true;
  }
  return import(moduleUrl);
}

export default async function runTask({ moduleUrl, payload }) {
  let mod = modules.get(moduleUrl);
  if (!mod) {
    mod = load(moduleUrl);
    modules.set(moduleUrl, mod);
    mod.catch(() => modules.delete(moduleUrl));
  }
  try {
    return await (await mod).default(payload);
  } catch (err) {
    // Keep code/item/hint across the thread boundary: structured clone keeps only an Error's
    // message and stack (and drops class identity), so a coded error travels as a plain object;
    // src/pool.ts turns it back into a RetraceError with the same code.
    if (err && typeof err === 'object' && typeof err.code === 'string') {
      throw { message: String(err.message), code: err.code, item: err.item, hint: err.hint, stack: err.stack };
    }
    throw err;
  }
}
