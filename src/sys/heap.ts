// Giving memory back after the kernel forgets many nodes.
//
// V8 keeps the pages a big burst of nodes used (a find over 500,000 files)
// long after FORGET has emptied the node table: RSS stays at its peak until
// some later full collection, which an idle daemon may never run. When the
// table has shrunk a lot, one full collection after the forgets stop
// (a second of quiet) compacts the heap and returns the freed pages.
import v8 from 'node:v8';
import vm from 'node:vm';

/** Forgotten nodes that make a collection worth its pause (tens of ms for a large heap). */
const WORTH = 20_000;
const QUIET_MS = 1000;

let collect: (() => void) | undefined;
function collector(): () => void {
  if (!collect) {
    // gc() exists only with --expose-gc; the flag can be set at run time.
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as () => void;
  }
  return collect;
}

export class MemoryReturner {
  private forgotten = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Full collections run so far (for SIGUSR2 stats and tests). */
  collections = 0;

  /** Counts nodes the kernel let go of; schedules a collection once enough have gone quiet. */
  forgot(count: number): void {
    this.forgotten += count;
    if (this.forgotten < WORTH) return;
    if (this.timer) this.timer.refresh();
    else
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.forgotten = 0;
        this.collections++;
        collector()();
      }, QUIET_MS).unref();
  }
}
