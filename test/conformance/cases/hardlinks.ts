// Conformance cases: hard links.
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  attempt,
  fstatOf,
  ino,
  lstatOf,
  readText,
  sortedDir,
  statOf,
} from '../util.js';
import { preadHex, type Case, type Rec } from './shared.js';

export const hardlinksCases: Record<string, Case> = {
  // -- hard links -------------------------------------------------------------
  hardlinks: async (root) => {
    const r: Rec = {};
    const L = (n: string): string => join(root, n);
    fs.writeFileSync(L('a'), 'shared');
    r['link'] = attempt(() => fs.linkSync(L('a'), L('b')));
    r['statA'] = statOf(L('a'));
    r['statB'] = statOf(L('b'));
    r['sameIno'] = ino(L('a')) === ino(L('b'));
    fs.appendFileSync(L('a'), '+more');
    r['writeVisibleViaOther'] = readText(L('b'));
    r['rootNlink'] = fs.statSync(root).nlink;
    r['linkMissing'] = attempt(() => fs.linkSync(L('missing'), L('c')));
    r['linkExisting'] = attempt(() => fs.linkSync(L('a'), L('b')));
    fs.mkdirSync(L('d'));
    r['linkDir'] = attempt(() => fs.linkSync(L('d'), L('d2')));
    r['linkIntoMissingDir'] = attempt(() => fs.linkSync(L('a'), join(root, 'nope', 'x')));
    r['linkIntoSubdir'] = attempt(() => fs.linkSync(L('a'), join(root, 'd', 'c')));
    r['nlinkThree'] = [statOf(L('a')), statOf(join(root, 'd', 'c'))];
    r['unlinkSub'] = attempt(() => fs.unlinkSync(join(root, 'd', 'c')));
    r['nlinkAfterUnlinkSub'] = [statOf(L('a')), statOf(L('b'))];
    // rename(a, b) where both name the same inode: a no-op, both names stay
    r['renameSameInode'] = attempt(() => fs.renameSync(L('a'), L('b')));
    r['afterRenameSameInode'] = [sortedDir(root), statOf(L('a')), statOf(L('b'))];
    // rename one link over an unrelated file
    fs.writeFileSync(L('other'), 'other');
    const ofd = fs.openSync(L('other'), 'r');
    r['renameOverOther'] = attempt(() => fs.renameSync(L('a'), L('other')));
    r['replacedStillOpen'] = [fstatOf(ofd), preadHex(ofd, 10, 0)];
    fs.closeSync(ofd);
    r['afterRenameOver'] = [sortedDir(root), statOf(L('other')), statOf(L('b')), ino(L('other')) === ino(L('b')), readText(L('other'))];
    r['unlinkOne'] = attempt(() => fs.unlinkSync(L('other')));
    r['nlinkBackToOne'] = [statOf(L('b')), readText(L('b'))];
    // link of a symlink links the symlink itself (linkat without AT_SYMLINK_FOLLOW)
    fs.symlinkSync('b', L('sym'));
    r['linkSymlink'] = attempt(() => fs.linkSync(L('sym'), L('sym2')));
    r['linkSymlinkResult'] = [lstatOf(L('sym2')), lstatOf(L('sym')), ino(L('sym')) === ino(L('sym2')), statOf(L('b'))];
    // many links
    for (let i = 0; i < 50; i++) fs.linkSync(L('b'), L(`many${i}`));
    r['fiftyLinks'] = statOf(L('b'));
    for (let i = 0; i < 50; i++) fs.unlinkSync(L(`many${i}`));
    r['afterFifty'] = statOf(L('b'));
    return r;
  },

};
