/**
 * secretlint's always-on profiler keeps a performance mark for every rule of every file and
 * searches them on each new one, so a build's secret scan grew with the square of its file count
 * (issue 17: 110 of 157 main-thread CPU-s of a 40-package build). Retrace switches it off when it
 * loads secretlint: scanning many files must leave no marks behind.
 */
import { performance } from 'node:perf_hooks';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findSecrets } from '../stages/hygiene/secrets.ts';

test('scanning files for secrets leaves no performance marks (secretlint profiler off)', async () => {
  const before = performance.getEntriesByType('mark').length;
  for (let i = 0; i < 200; i++) {
    await findSecrets(`export const value${i} = ${i};\nconst token = "not-a-secret-${i}";\n`, `src/file${i}.js`);
  }
  const found = await findSecrets('const key = "AKIAIOSFODNN7EXAMPLF";\n', 'src/aws.js');
  assert.ok(found.length > 0, 'the scan still finds an AWS key id');
  const after = performance.getEntriesByType('mark').length;
  assert.ok(after - before < 10, `${after - before} performance marks kept after scanning 201 files`);
});

test.run();
