// Conformance cases: filesystem-wide.
import * as fs from 'node:fs';
import { join } from 'node:path';
import {
  attempt,
  dedent,
  py,
  readText,
  run,
  statOf,
} from '../util.js';
import { hex, type Case, type Rec } from './shared.js';

export const fsWideCases: Record<string, Case> = {
  // -- filesystem-wide ------------------------------------------------------------------
  statfs: async (root) => {
    const r: Rec = {};
    r['py'] = await py(
      root,
      dedent(`
      s = os.statvfs('.')
      fd = os.open('.', os.O_RDONLY)
      f = os.fstatvfs(fd)
      R = {'namemax': s.f_namemax, 'bsizePositive': s.f_bsize > 0, 'frsizePositive': s.f_frsize > 0,
           'blocksPositive': s.f_blocks > 0, 'bfreeLeBlocks': s.f_bfree <= s.f_blocks, 'bavailLeBfree': s.f_bavail <= s.f_bfree,
           'filesPositive': s.f_files > 0, 'ffreeLeFiles': s.f_ffree <= s.f_files,
           'fstatvfsNamemax': f.f_namemax, 'fstatvfsBlocksPositive': f.f_blocks > 0,
           'missing': attempt(os.statvfs, 'missing')}
      `),
    );
    const s = fs.statfsSync(root);
    r['node'] = { blocksPositive: s.blocks > 0, bsizePositive: s.bsize > 0, bavailLeBfree: s.bavail <= s.bfree };
    const st = await run('stat', ['-f', '-c', '%l', '.'], { cwd: root });
    r['statF'] = st.stdout.trim();
    return r;
  },

  'name-limits': async (root) => {
    const r: Rec = {};
    const n255 = 'n'.repeat(255);
    const n256 = 'n'.repeat(256);
    r['create255'] = attempt(() => fs.writeFileSync(join(root, n255), '255'));
    r['stat255'] = statOf(join(root, n255));
    r['listed255'] = fs.readdirSync(root).includes(n255);
    r['mkdir255'] = attempt(() => fs.mkdirSync(join(root, 'd'.repeat(255))));
    r['inside255Dir'] = attempt(() => fs.writeFileSync(join(root, 'd'.repeat(255), 'e'.repeat(255)), 'x'));
    r['rename255'] = attempt(() => fs.renameSync(join(root, n255), join(root, 'm'.repeat(255))));
    r['read255'] = readText(join(root, 'm'.repeat(255)));
    r['symlink255'] = attempt(() => fs.symlinkSync('m'.repeat(255), join(root, 'l'.repeat(255))));
    r['readlink255'] = attempt(() => fs.readlinkSync(join(root, 'l'.repeat(255))).length);
    r['link255'] = attempt(() => fs.linkSync(join(root, 'm'.repeat(255)), join(root, 'h'.repeat(255))));
    r['create256'] = attempt(() => fs.writeFileSync(join(root, n256), 'x'));
    r['stat256'] = statOf(join(root, n256));
    r['mkdir256'] = attempt(() => fs.mkdirSync(join(root, n256)));
    r['symlink256'] = attempt(() => fs.symlinkSync('x', join(root, n256)));
    r['rename256'] = attempt(() => fs.renameSync(join(root, 'm'.repeat(255)), join(root, n256)));
    r['link256'] = attempt(() => fs.linkSync(join(root, 'm'.repeat(255)), join(root, n256)));
    r['unlink256'] = attempt(() => fs.unlinkSync(join(root, n256)));
    // multibyte: the limit is 255 bytes, not characters
    const e127 = 'é'.repeat(127) + 'x'; // 255 bytes
    const e128 = 'é'.repeat(128); // 256 bytes
    r['utf8_255'] = [attempt(() => fs.writeFileSync(join(root, e127), '')), fs.readdirSync(root).includes(e127)];
    r['utf8_256'] = attempt(() => fs.writeFileSync(join(root, e128), ''));
    r['unlink255'] = attempt(() => fs.unlinkSync(join(root, 'm'.repeat(255))));
    r['count'] = fs.readdirSync(root).length;
    return r;
  },

  'path-max': async (root) =>
    py(
      root,
      dedent(`
      comps = ['%03d' % i + 'p' * 192 for i in range(20)]
      base = ''
      for c in comps:
          base = c if not base else base + '/' + c
          os.mkdir(base)
      R = {'baseLen': len(base)}
      f4000 = base + '/' + 'a' * (4000 - len(base) - 1)
      f4095 = base + '/' + 'b' * (4095 - len(base) - 1)
      f4096 = base + '/' + 'c' * (4096 - len(base) - 1)
      R['lens'] = [len(f4000), len(f4095), len(f4096)]
      def mk(p):
          fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
          os.write(fd, b'deep')
          os.close(fd)
      R['create4000'] = attempt(mk, f4000)
      R['read4000'] = attempt(lambda: open(f4000, 'rb').read().decode())
      R['create4095'] = attempt(mk, f4095)
      R['stat4095'] = attempt(lambda: os.stat(f4095).st_size)
      R['create4096'] = attempt(mk, f4096)
      R['stat4096'] = attempt(os.stat, f4096)
      R['mkdir4096'] = attempt(os.mkdir, f4096)
      R['listDeep'] = sorted(x[:1] + str(len(x)) for x in os.listdir(base))
      R['renameDeep'] = attempt(os.rename, f4000, base + '/renamed')
      R['symlinkDeep'] = attempt(os.symlink, 'renamed', base + '/sl')
      R['readlinkDeep'] = attempt(os.readlink, base + '/sl')
      R['xattrDeep'] = [attempt(os.setxattr, f4095, 'user.deep', b'1'), attempt(lambda: os.getxattr(f4095, 'user.deep').decode())]
      # relative walk from a deep cwd is unaffected by the prefix length
      os.chdir(base)
      R['fromDeepCwd'] = attempt(lambda: open('renamed', 'rb').read().decode())
      os.chdir('/')
      `),
    ),

  'non-utf8-names': async (root) => {
    const r: Rec = {};
    const name = Buffer.from([0xff, 0xfe, ...Buffer.from('-latin1-'), 0xe9]);
    const name2 = Buffer.from([0x80, 0x81, 0x2d, 0xc3]);
    const P = (n: Buffer, ...more: Buffer[]): Buffer => Buffer.concat([Buffer.from(root + '/'), n, ...more.flatMap((m) => [Buffer.from('/'), m])]);
    r['create'] = attempt(() => fs.writeFileSync(P(name), 'bytes'));
    r['readdir'] = fs.readdirSync(root, { encoding: 'buffer' }).map(hex).sort();
    r['stat'] = statOf(P(name));
    r['read'] = readText(P(name));
    r['rename'] = attempt(() => fs.renameSync(P(name), P(name2)));
    r['readdirAfterRename'] = fs.readdirSync(root, { encoding: 'buffer' }).map(hex).sort();
    r['oldGone'] = statOf(P(name));
    r['mkdir'] = attempt(() => fs.mkdirSync(P(name)));
    r['inside'] = attempt(() => fs.writeFileSync(P(name, name2), 'nested'));
    r['readdirInside'] = attempt(() => fs.readdirSync(P(name), { encoding: 'buffer' }).map(hex));
    r['symlink'] = attempt(() => fs.symlinkSync(name2, P(Buffer.from('link'))));
    r['readlink'] = attempt(() => hex(fs.readlinkSync(P(Buffer.from('link')), { encoding: 'buffer' })));
    r['readThroughLink'] = readText(P(Buffer.from('link')));
    r['py'] = await py(root, `R = sorted(x.hex() for x in os.listdir(b'.'))`);
    r['unlink'] = attempt(() => fs.unlinkSync(P(name2)));
    r['unlinkInside'] = attempt(() => fs.unlinkSync(P(name, name2)));
    r['rmdir'] = attempt(() => fs.rmdirSync(P(name)));
    r['final'] = fs.readdirSync(root, { encoding: 'buffer' }).map(hex).sort();
    return r;
  },

};
