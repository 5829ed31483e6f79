#!/usr/bin/env bash
# Offline podman run on the overlay driver with an external mount program
# (containers/storage `mount_program`). Tested as root on Debian 12
# (podman 4.3.1, buildah 1.28.2, runc 1.1.5, fuse-overlayfs 1.10, cgroup v1 hybrid).
#
#   sudo MOUNT_PROGRAM=/usr/bin/fuse-overlayfs bash recipe.sh
#
# To point it at another mount program, set MOUNT_PROGRAM to that program's path.
# It must take the same command line as fuse-overlayfs ("-o <opts> <mountpoint>"),
# go into the background, and exit 0 once the mount is ready.
set -euo pipefail

MOUNT_PROGRAM=${MOUNT_PROGRAM:-/usr/bin/fuse-overlayfs}
WORK=${WORK:-/tmp/podrecipe}            # everything lives here; removed at the end
KEEP=${KEEP:-0}                          # KEEP=1: skip the cleanup at the end

# Packages (Debian 12). crun 1.8 refuses cgroup v1/v2 "hybrid" hosts, so use runc.
#   apt-get install -y podman busybox-static runc fuse3 fuse-overlayfs
for b in podman runc busybox "$MOUNT_PROGRAM"; do command -v "$b" >/dev/null || { echo "missing $b" >&2; exit 1; }; done

rm -rf "$WORK"; mkdir -p "$WORK"/{root,runroot,tmp,ctx,rootfs}

# A wrapper records each command line that containers/storage passes, then execs the real program.
cat > "$WORK/mp-wrapper" <<EOF
#!/bin/sh
printf '%s\n' "cwd=\$(pwd) argv: \$*" >> "$WORK/mount-program.log"
exec "$MOUNT_PROGRAM" "\$@"
EOF
chmod +x "$WORK/mp-wrapper"

# Isolated storage: the overlay driver plus mount_program. CONTAINERS_STORAGE_CONF overrides /etc/containers/storage.conf.
cat > "$WORK/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$WORK/root"
runroot = "$WORK/runroot"
[storage.options.overlay]
mount_program = "$WORK/mp-wrapper"
mountopt = "nodev"
EOF

# Engine settings for a host without systemd, without registry or network access, and without CAP_SYS_RESOURCE:
#  - cgroupfs + file events: no systemd/journald here (PID 1 is not systemd)
#  - runc: crun 1.8 fails with "cgroups in hybrid mode not supported"
#  - netns none: no netavark/CNI setup needed
#  - default_ulimits: podman's root defaults (nofile=1048576, nproc=4194304) cannot be
#    set without CAP_SYS_RESOURCE ("error setting rlimit type 7/6: operation not permitted");
#    keep both at or below the hard limits that conmon sees (here nofile 20000, nproc 32768)
NOFILE=$(ulimit -Hn); [ "$NOFILE" = unlimited ] && NOFILE=65536
cat > "$WORK/containers.conf" <<EOF
[containers]
netns = "none"
default_ulimits = ["nofile=${NOFILE}:${NOFILE}", "nproc=4096:4096"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$WORK/events.log"
runtime = "runc"
tmp_dir = "$WORK/tmp"
EOF
export CONTAINERS_STORAGE_CONF="$WORK/storage.conf" CONTAINERS_CONF="$WORK/containers.conf"

# 1) Base image from a busybox-static rootfs tarball (no registry).
R="$WORK/rootfs"; mkdir -p "$R"/{bin,etc,tmp,root,proc,sys,dev,opt/dir}
cp "$(command -v busybox)" "$R/bin/busybox"
for a in sh ls cat echo rm touch mkdir stat find test sleep grep; do ln -s busybox "$R/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$R/etc/passwd"; echo 'root:x:0:' > "$R/etc/group"
echo keep > "$R/etc/keepme"; echo gone > "$R/etc/deleteme"; echo old > "$R/opt/dir/f"
tar -C "$R" -cf "$WORK/rootfs.tar" .
podman import --change 'CMD ["/bin/sh"]' "$WORK/rootfs.tar" localhost/bbbase:latest
podman info --format 'driver={{.Store.GraphDriverName}} opts={{json .Store.GraphOptions}}'

# 2) Second layer that deletes a file (whiteout) and replaces a directory's contents.
cat > "$WORK/ctx/Containerfile" <<'EOF'
FROM localhost/bbbase:latest
RUN rm /etc/deleteme && rm -rf /opt/dir && mkdir /opt/dir && echo new > /opt/dir/g && echo added > /etc/added
EOF
podman build --pull=never --network=none -t localhost/bbwh:latest -f "$WORK/ctx/Containerfile" "$WORK/ctx"
echo "--- whiteouts stored in the layer diff dirs (mount_program => AUFS-style .wh. files):"
find "$WORK/root/overlay" -path '*/diff/*' \( -name '.wh.*' -o -type c \) -printf '%P %y\n'
[ -n "$(find "$WORK/root/overlay" -path '*/diff/etc/.wh.deleteme' -type f)" ]

# 3) The real check: run --rm, the whiteout hides the file, the container writes a file.
out=$(podman run --rm localhost/bbwh:latest sh -c '
  test ! -e /etc/deleteme && echo "whiteout OK: /etc/deleteme is gone"
  test "$(ls /opt/dir)" = g && echo "dir replaced OK: /opt/dir has only g"
  cat /etc/keepme /etc/added
  echo written > /root/newfile && cat /root/newfile
  grep " / " /proc/mounts')
echo "$out"
echo "$out" | grep -q '^whiteout OK' && echo "$out" | grep -q '^dir replaced OK' && echo "$out" | grep -q '^written$'
echo "$out" | grep -E -q '^[^ ]+ / fuse(\.[^ ]+)? ' || { echo "container root is not a FUSE mount" >&2; exit 1; }

# 4) Detached run: the mount program's process and mount on the host, podman diff, commit.
cid=$(podman run -d localhost/bbwh:latest sh -c 'echo hello > /root/hello; exec sleep 300')
sleep 1
merged=$(podman inspect -f '{{.GraphDriver.Data.MergedDir}}' "$cid")
echo "--- host mount table entry for the container rootfs:"; grep " $merged " /proc/mounts
[ "$(stat -f -c %t "$merged")" = 65735546 ] || { echo "merged dir is not FUSE" >&2; exit 1; }
echo "--- host process serving it:"; ps -eo pid,args | grep -F -- "$merged" | grep -v grep
podman diff "$cid"
podman commit -q "$cid" localhost/bbcommit:latest >/dev/null
podman rm -f -t 0 "$cid" >/dev/null
podman run --rm localhost/bbcommit:latest sh -c 'cat /root/hello; test ! -e /etc/deleteme && echo "whiteout still OK after commit"'
echo "--- podman image mount (read-only, lowerdir only):"
m=$(podman image mount localhost/bbwh:latest); ls "$m/etc"; podman image unmount localhost/bbwh:latest >/dev/null

echo "--- command lines passed to the mount program:"; cat "$WORK/mount-program.log"

# 5) Cleanup: containers, images, storage, mounts.
if [ "$KEEP" != 1 ]; then
  podman rm -af -t 0 >/dev/null 2>&1 || true
  podman rmi -af >/dev/null 2>&1 || true
  podman system reset -f >/dev/null 2>&1 || true
  grep -F "$WORK" /proc/mounts | awk '{print $2}' | xargs -r -n1 umount -l || true
  rm -rf "$WORK"
fi
echo RECIPE-OK
