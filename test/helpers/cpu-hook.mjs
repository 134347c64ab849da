// Preloaded (--import) into each uvu process that test/run.mjs starts: at exit, writes the CPU
// time of this process and of every child it waited for (the `retrace` builds a test runs, and
// their children), from /proc/self/stat, to the file named by RETRACE_TEST_CPU_FILE.
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.env.RETRACE_TEST_CPU_FILE;
if (file) {
  process.on('exit', () => {
    try {
      // Fields after the command name (which may hold spaces): utime stime cutime cstime are 14-17.
      const stat = readFileSync('/proc/self/stat', 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ticks = f.slice(11, 15).map(Number);
      writeFileSync(file, JSON.stringify({ ticks }));
    } catch {
      // No /proc (not Linux): the runner reports no CPU time for this job.
    }
  });
}
