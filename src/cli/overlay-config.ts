// fuse-overlayfs's command line → a braidfs Config (issue 4 item 3): an
// overlay is a pool whose upper branch is RW and whose lower layers are RO,
// searched top-down (ff), creating into the upper layer (ff over the only
// RW branch), with copy-up and whiteouts on.
import { resolve } from 'node:path';
import { defaults, type Config } from '../config/options.js';
import { overlayBranchSpecs, type OverlayMount } from '../config/overlay-args.js';

export function overlayConfig(cmd: OverlayMount, cwd: string = process.cwd()): Config {
  const root = process.getuid?.() === 0;
  const f = cmd.mountFlags;
  const c: Config = {
    ...defaults,
    branches: overlayBranchSpecs(cmd, cwd),
    mountpoint: resolve(cwd, cmd.mountpoint),
    // An upper layer takes every change however full it is, as with any filesystem.
    minFreeSpace: 0,
    funcOverrides: [
      ['category.search', 'ff'],
      ['category.create', 'ff'],
      ['category.action', 'epall'],
    ],
    moveonenospc: false,
    // Same device everywhere: st_ino is the layers' own (serve switches to
    // devino-hash when the layers sit on different filesystems).
    inodecalc: 'passthrough',
    readOnly: cmd.readOnly,
    // fuse-overlayfs's implicit options: suid (as root) and noatime (§1.1); nodev is libfuse's default.
    nosuid: f.nosuid || !root,
    nodev: true,
    noexec: f.noexec,
    noatime: true,
    allowOther: root || f.allowOther,
    fsname: cmd.source ?? 'braidfs',
    debug: cmd.debug,
    ignored: cmd.ignored,
    overlay: {
      uidmapping: cmd.uidmapping,
      gidmapping: cmd.gidmapping,
      squash: cmd.squash,
      staticNlink: cmd.staticNlink,
      fsync: cmd.fsync,
      xattrPermissions: cmd.xattrPermissions,
      noxattrs: cmd.noxattrs,
    },
  };
  if (cmd.timeout !== undefined) {
    c.cacheEntry = cmd.timeout;
    c.cacheAttr = cmd.timeout;
  }
  if (cmd.upperdir !== undefined) c.overlay!.upperdir = resolve(cwd, cmd.upperdir);
  if (cmd.workdir !== undefined) c.overlay!.workdir = resolve(cwd, cmd.workdir);
  return c;
}
