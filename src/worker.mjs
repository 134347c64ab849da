// Piscina worker entry. Plain JS so it loads without a loader; it registers tsx so the task
// modules (TypeScript) can be imported, then dispatches each task to its module's default export.
import { register } from 'tsx/esm/api';

register();
const modules = new Map();

export default async function runTask({ moduleUrl, payload }) {
  let mod = modules.get(moduleUrl);
  if (!mod) {
    mod = await import(moduleUrl);
    modules.set(moduleUrl, mod);
  }
  try {
    return await mod.default(payload);
  } catch (err) {
    // Keep code/item/hint across the thread boundary (structured clone drops class identity).
    if (err && typeof err === 'object' && 'code' in err) {
      const plain = new Error(err.message);
      plain.code = err.code;
      plain.item = err.item;
      plain.hint = err.hint;
      throw plain;
    }
    throw err;
  }
}
