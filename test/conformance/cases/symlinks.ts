// Conformance cases: symlinks.
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  attempt,
  lstatOf,
  readText,
  sortedDir,
  statOf,
} from '../util.js';
import { C, type Case, type Rec } from './shared.js';

export const symlinksCases: Record<string, Case> = {
  // -- symlinks -----------------------------------------------------------------
  symlinks: async (root) => {
    const r: Rec = {};
    const L = (n: string): string => join(root, n);
    fs.writeFileSync(L('target'), 'payload');
    fs.mkdirSync(L('dir'));
    r['symlink'] = attempt(() => fs.symlinkSync('target', L('link')));
    r['readlink'] = attempt(() => fs.readlinkSync(L('link')));
    r['lstat'] = lstatOf(L('link'));
    r['stat'] = statOf(L('link'));
    r['readThrough'] = readText(L('link'));
    fs.writeFileSync(L('link'), 'rewritten');
    r['writeThrough'] = [readText(L('target')), lstatOf(L('link'))];
    r['dangling'] = attempt(() => fs.symlinkSync('does/not/exist', L('dangling')));
    r['danglingStat'] = statOf(L('dangling'));
    r['danglingLstat'] = lstatOf(L('dangling'));
    r['danglingReadlink'] = attempt(() => fs.readlinkSync(L('dangling')));
    r['readlinkFile'] = attempt(() => fs.readlinkSync(L('target')));
    r['readlinkDir'] = attempt(() => fs.readlinkSync(L('dir')));
    r['readlinkMissing'] = attempt(() => fs.readlinkSync(L('missing')));
    r['symlinkExisting'] = attempt(() => fs.symlinkSync('x', L('target')));
    r['symlinkEmptyTarget'] = attempt(() => fs.symlinkSync('', L('empty')));
    r['relativeUp'] = attempt(() => {
      fs.symlinkSync('../target', join(root, 'dir', 'up'));
      return fs.readFileSync(join(root, 'dir', 'up'), 'utf8');
    });
    r['dirLink'] = attempt(() => {
      fs.symlinkSync('dir', L('dirlink'));
      fs.writeFileSync(join(root, 'dirlink', 'inside'), 'i');
      return [statOf(L('dirlink')), lstatOf(L('dirlink')), sortedDir(L('dir'))];
    });
    const long = 'a/'.repeat(1999) + 'b'; // 3999 bytes
    r['longTarget'] = attempt(() => {
      fs.symlinkSync(long, L('long'));
      const back = fs.readlinkSync(L('long'));
      return [back.length, back === long, lstatOf(L('long'))];
    });
    r['tooLongTarget'] = attempt(() => fs.symlinkSync('c'.repeat(4096), L('toolong')));
    r['target4095'] = attempt(() => {
      fs.symlinkSync('d/'.repeat(2047) + 'e', L('t4095'));
      return fs.readlinkSync(L('t4095')).length;
    });
    fs.symlinkSync('loop2', L('loop1'));
    fs.symlinkSync('loop1', L('loop2'));
    r['loopStat'] = statOf(L('loop1'));
    r['loopOpen'] = attempt(() => fs.openSync(L('loop1'), 'r'));
    r['noFollowOpen'] = attempt(() => fs.openSync(L('link'), C.O_RDONLY | C.O_NOFOLLOW));
    r['lchown'] = attempt(() => {
      fs.lchownSync(L('link'), 1234, 5678);
      return [lstatOf(L('link')), statOf(L('target'))];
    });
    r['unlinkLink'] = [attempt(() => fs.unlinkSync(L('link'))), lstatOf(L('link')), statOf(L('target'))];
    r['listing'] = sortedDir(root);
    return r;
  },

};
