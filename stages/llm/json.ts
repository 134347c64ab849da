/**
 * Reading the JSON object an agent was asked for. Models wrap JSON in prose or ``` fences, so
 * the outermost {...} is taken; anything that is not an object is unusable.
 */
import type { AnswerSchema } from './request.ts';

export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  try {
    const v: unknown = JSON.parse(text.slice(start, end + 1));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why an answer cannot be used at all (so the client retries it), or undefined. Only the shape
 * is checked here; wrong paths and missing entries are repaired later against the facts.
 */
export function answerProblem(schema: AnswerSchema, text: string): string | undefined {
  const o = parseJsonObject(text);
  if (!o) return 'the answer holds no JSON object';
  if (schema === 'plan-1' && !Array.isArray(o.files) && typeof o.requirements !== 'string') {
    return 'the plan has neither "requirements" nor "files"';
  }
  if (schema === 'turn-1') {
    if (typeof o.think !== 'string' || o.think.trim() === '') return 'the answer has no "think"';
    if (o.action !== 'read' && o.action !== 'write') return 'the answer\'s "action" is neither "read" nor "write"';
    if (o.action === 'read' && (typeof o.path !== 'string' || o.path.trim() === '')) return 'a "read" action without a "path"';
  }
  if (schema === 'thought-1' && (typeof o.think !== 'string' || o.think.trim() === '')) return 'the answer has no "think"';
  return undefined;
}
