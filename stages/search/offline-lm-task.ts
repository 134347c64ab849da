/** Worker task: one offline score (CPU work on plain data; the key was made on the main thread). */
import { scoreOffline, type OfflineScore, type OfflineScoreInput } from './offline-lm.ts';

export default function run(input: OfflineScoreInput): OfflineScore {
  return scoreOffline(input);
}
