/**
 * The secrets stage's unit of work, run in a worker thread: one file's bytes in (moved, not
 * copied), its findings out. The rules are regular expressions over every file of the corpus
 * (secretlint's preset and ours): on the main thread they were the largest part of the signature
 * pass, which every repository's chain waits for (issue 17: no main-thread stage on the hot path
 * that a worker can do).
 */
import { findSecrets, type SecretFinding } from './secrets.ts';

export interface SecretsTask {
  path: string;
  /** The file's UTF-8 bytes, decoded here. */
  bytes: ArrayBuffer;
}

const dec = new TextDecoder();

export default function secretsTask(task: SecretsTask): Promise<SecretFinding[]> {
  return findSecrets(dec.decode(task.bytes), task.path);
}
