/**
 * Jest's own order (failed first, then slowest or largest first), with two files moved:
 * monitor-500 measures main-thread tasks in Chromium and goes first, while the machine is not yet
 * loaded by the suite's daemons (the test command, deploy/local/test-all.sh, runs it on its own
 * before all the others: beside the other worker's first file it still saw long tasks); stats-must-show runs 15 CPU burners on the rig's two cores and
 * compares its CPU figures with Docker's within 2 points, so it goes last: the other worker ends
 * its (short) last files soon after, and from then on it neither loads nor is loaded by another.
 */
const Sequencer = require('@jest/test-sequencer').default;

const FIRST = ['test/browser/monitor-500.test.ts'];
const LAST = ['test/stats/stats-must-show.test.ts'];

class LoadAwareSequencer extends Sequencer {
  sort(tests) {
    const ordered = super.sort(tests);
    const rank = (t) => {
      if (FIRST.some((f) => t.path.endsWith(f))) return 0;
      if (LAST.some((f) => t.path.endsWith(f))) return 2;
      return 1;
    };
    // Array.prototype.sort is stable: within each rank Jest's order stays.
    return [...ordered].sort((a, b) => rank(a) - rank(b));
  }
}

module.exports = LoadAwareSequencer;
