#!/usr/bin/env bash
# The README's quick start: pools two small branch directories into one tree
# and shows where new files land. Needs root for passthrough; works
# unprivileged through fusermount3 too.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
demo=${BRAIDFS_DEMO:-/tmp/braidfs-demo}
mkdir -p "$demo/disk1" "$demo/disk2" "$demo/pool"
if grep -q " $demo/pool fuse" /proc/mounts; then
  echo "already mounted at $demo/pool (unmount with: umount $demo/pool)"
  exit 0
fi
echo "on disk1" > "$demo/disk1/hello.txt"
mkdir -p "$demo/disk2/music" && echo "on disk2" > "$demo/disk2/music/song.txt"
# ff: new files go to the first branch that can take them; minfreespace is
# lowered from mergerfs's 4G default so a nearly full demo disk still works.
"$here/bin/braidfs" -o category.create=ff,minfreespace=1M "$demo/disk1:$demo/disk2" "$demo/pool"
echo "pooled $demo/disk1 and $demo/disk2 at $demo/pool:"
ls -la "$demo/pool" "$demo/pool/music"
echo "new file" > "$demo/pool/music/new.txt"
echo "music/new.txt was written through the pool; it landed at:"
"$here/bin/braidfs" ctl "$demo/pool" where "$demo/pool/music/new.txt" | sed -n 's/^fullpath: /  /p'
echo
echo "unmount with: umount $demo/pool   (or fusermount3 -u $demo/pool)"
