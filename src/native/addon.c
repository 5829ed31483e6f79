// braidfs native shim: syscalls only, no filesystem logic, plus two fast
// paths that repeat answers JS has decided: READ and WRITE of the open files
// JS hands over ("Open files served here") and LOOKUP of names JS handed
// out ("Names served here").
//
// Every function returns a number: >= 0 on success, -errno on failure.
// Nothing here throws for a failed syscall; argument-type mistakes from JS
// throw a TypeError (a programming error, never a kernel request's fault).
// Async functions run on the libuv thread pool and resolve (never reject)
// with the same convention, so a slow branch never blocks the JS thread.
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/xattr.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <unistd.h>
#include <sched.h>

extern char **environ;

// ioctl numbers from the 7.45 uapi header (Debian's header is 7.38 and lacks them).
#define BRAID_FUSE_DEV_IOC_CLONE 0x8004E500u
#define BRAID_FUSE_DEV_IOC_BACKING_OPEN 0x4010E501u
#define BRAID_FUSE_DEV_IOC_BACKING_CLOSE 0x4004E502u

struct braid_backing_map {
  int32_t fd;
  uint32_t flags;
  uint64_t padding;
};

#define NAPI_CALL(env, call)                                                   \
  do {                                                                         \
    if ((call) != napi_ok) {                                                   \
      napi_throw_error((env), NULL, "braidfs native: N-API call failed: " #call); \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

#define MAX_ARGS 8

// ---------------------------------------------------------------------------
// argument helpers

static napi_value make_num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, "braidfs native: too few arguments");
    return -1;
  }
  return 0;
}

static int get_i64(napi_env env, napi_value v, int64_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_bigint) {
    bool lossless;
    return napi_get_value_bigint_int64(env, v, out, &lossless) == napi_ok ? 0 : -1;
  }
  if (napi_get_value_int64(env, v, out) != napi_ok) {
    napi_throw_type_error(env, NULL, "braidfs native: expected a number");
    return -1;
  }
  return 0;
}

static int get_i32(napi_env env, napi_value v, int32_t *out) {
  int64_t x;
  if (get_i64(env, v, &x) != 0) return -1;
  *out = (int32_t)x;
  return 0;
}

// Copies a path-like argument (Buffer or string) into a NUL-terminated heap
// string. Paths are bytes: a Buffer is taken verbatim, never re-encoded.
static char *get_path(napi_env env, napi_value v) {
  bool is_buf = false;
  napi_is_buffer(env, v, &is_buf);
  if (is_buf) {
    void *data;
    size_t len;
    if (napi_get_buffer_info(env, v, &data, &len) != napi_ok) return NULL;
    if (memchr(data, 0, len) != NULL) {
      napi_throw_type_error(env, NULL, "braidfs native: path contains a NUL byte");
      return NULL;
    }
    char *s = malloc(len + 1);
    if (!s) return NULL;
    memcpy(s, data, len);
    s[len] = 0;
    return s;
  }
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "braidfs native: expected a Buffer or string path");
    return NULL;
  }
  char *s = malloc(len + 1);
  if (!s) return NULL;
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

// A Buffer argument that may also be absent (null): -1 without a JS exception.
static int get_buffer_quiet(napi_env env, napi_value v, void **data, size_t *len) {
  bool is_buf = false;
  napi_is_buffer(env, v, &is_buf);
  if (!is_buf) return -1;
  return napi_get_buffer_info(env, v, data, len) == napi_ok ? 0 : -1;
}

static int get_buffer(napi_env env, napi_value v, void **data, size_t *len) {
  bool is_buf = false;
  napi_is_buffer(env, v, &is_buf);
  if (!is_buf) {
    bool is_ta = false;
    napi_is_typedarray(env, v, &is_ta);
    if (!is_ta) {
      napi_throw_type_error(env, NULL, "braidfs native: expected a Buffer");
      return -1;
    }
    napi_typedarray_type type;
    size_t length, offset;
    napi_value ab;
    napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset);
    size_t elem = (type == napi_bigint64_array || type == napi_biguint64_array || type == napi_float64_array) ? 8 : 1;
    *len = length * elem;
    return 0;
  }
  return napi_get_buffer_info(env, v, data, len) == napi_ok ? 0 : -1;
}

// ---------------------------------------------------------------------------
// async syscall framework: one work item type, a switch on the operation.
//
// Path operations are all *at() calls relative to a directory fd (a branch
// root opened once), so a path is only ever as long as it is inside the
// mount, and an empty path means "the fd itself" (AT_EMPTY_PATH), which is
// how files that lost their name are reached through an open fd.

enum op_kind {
  OP_STATAT, OP_STATXAT, OP_OPENAT, OP_MKDIRAT, OP_MKNODAT, OP_SYMLINKAT,
  OP_LINKAT, OP_UNLINKAT, OP_RENAMEAT2, OP_READLINKAT, OP_FCHOWNAT, OP_FCHMODAT,
  OP_UTIMENSAT, OP_TRUNCATEAT, OP_READDIRAT, OP_GETXATTRAT, OP_SETXATTRAT,
  OP_LISTXATTRAT, OP_REMOVEXATTRAT, OP_FSTATVFS, OP_FALLOCATE, OP_LSEEK,
  OP_COPY_FILE_RANGE, OP_FICLONE, OP_WRITE,
};

struct work {
  napi_async_work handle;
  napi_deferred deferred;
  napi_ref keep;        // the JS buffer that must outlive the work
  enum op_kind kind;
  char *path[2];
  int64_t d[2];         // directory fds
  int64_t n[MAX_ARGS];
  void *buf;            // caller-owned output/input buffer
  size_t buflen;
  void *outbuf;         // malloc'd result handed to JS without a copy
  size_t outlen;
  double result;
  int on_js_thread;     // a *Sync call: may use the parent-directory cache
};

static void fill_stat(int64_t *out, const struct stat *st) {
  out[0] = (int64_t)st->st_dev;
  out[1] = (int64_t)st->st_ino;
  out[2] = st->st_mode;
  out[3] = (int64_t)st->st_nlink;
  out[4] = st->st_uid;
  out[5] = st->st_gid;
  out[6] = (int64_t)st->st_rdev;
  out[7] = st->st_size;
  out[8] = st->st_blksize;
  out[9] = st->st_blocks;
  out[10] = st->st_atim.tv_sec;
  out[11] = st->st_atim.tv_nsec;
  out[12] = st->st_mtim.tv_sec;
  out[13] = st->st_mtim.tv_nsec;
  out[14] = st->st_ctim.tv_sec;
  out[15] = st->st_ctim.tv_nsec;
}

// Packs a directory's entries into one buffer:
// repeated { u64 ino; u8 type; u8 pad; u16 namelen; name bytes } (no NUL).
static int read_dir_fd(int fd, void **out, size_t *outlen) {
  size_t cap = 16384, len = 0;
  unsigned char *buf = malloc(cap);
  if (!buf) return -ENOMEM;
  char dbuf[65536];
  for (;;) {
    long n = syscall(SYS_getdents64, fd, dbuf, sizeof dbuf);
    if (n < 0) { int e = errno; free(buf); return -e; }
    if (n == 0) break;
    for (long pos = 0; pos < n;) {
      struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d = (void *)(dbuf + pos);
      size_t nl = strlen(d->name);
      size_t need = 12 + nl;
      if (len + need > cap) {
        while (len + need > cap) cap *= 2;
        unsigned char *nb = realloc(buf, cap);
        if (!nb) { free(buf); return -ENOMEM; }
        buf = nb;
      }
      memcpy(buf + len, &d->ino, 8);
      buf[len + 8] = d->type;
      buf[len + 9] = 0;
      uint16_t l16 = (uint16_t)nl;
      memcpy(buf + len + 10, &l16, 2);
      memcpy(buf + len + 12, d->name, nl);
      len += need;
      pos += d->reclen;
    }
  }
  *out = buf;
  *outlen = len;
  return 0;
}

// Kernel >= 6.13 has the *xattrat() calls; older kernels get the same effect
// through /proc/self/fd/N/path (or the f*xattr calls for an empty path).
#ifndef SYS_setxattrat
#define SYS_setxattrat 463
#define SYS_getxattrat 464
#define SYS_listxattrat 465
#define SYS_removexattrat 466
#endif
struct braid_xattr_args { uint64_t value; uint32_t size; uint32_t flags; };
static int have_xattrat = 1;

static int at_flags(const char *path) { return AT_SYMLINK_NOFOLLOW | (path[0] ? 0 : AT_EMPTY_PATH); }

static long xattr_fallback(struct work *w, int fd, const char *p) {
  char proc[PATH_MAX + 64];
  if (p[0] && snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", fd, p) >= (int)sizeof proc) { errno = ENAMETOOLONG; return -1; }
  switch (w->kind) {
    case OP_GETXATTRAT: return p[0] ? lgetxattr(proc, w->path[1], w->buflen ? w->buf : NULL, w->buflen) : fgetxattr(fd, w->path[1], w->buflen ? w->buf : NULL, w->buflen);
    case OP_SETXATTRAT: return p[0] ? lsetxattr(proc, w->path[1], w->buf, w->buflen, (int)w->n[0]) : fsetxattr(fd, w->path[1], w->buf, w->buflen, (int)w->n[0]);
    case OP_LISTXATTRAT: return p[0] ? llistxattr(proc, w->buflen ? w->buf : NULL, w->buflen) : flistxattr(fd, w->buflen ? w->buf : NULL, w->buflen);
    case OP_REMOVEXATTRAT: return p[0] ? lremovexattr(proc, w->path[1]) : fremovexattr(fd, w->path[1]);
    default: errno = EINVAL; return -1;
  }
}

static long xattr_at(struct work *w, int fd, const char *p) {
  if (have_xattrat) {
    long r;
    struct braid_xattr_args a = { (uint64_t)(uintptr_t)w->buf, (uint32_t)w->buflen, 0 };
    switch (w->kind) {
      case OP_GETXATTRAT: r = syscall(SYS_getxattrat, fd, p, at_flags(p), w->path[1], &a, sizeof a); break;
      case OP_SETXATTRAT: a.flags = (uint32_t)w->n[0]; r = syscall(SYS_setxattrat, fd, p, at_flags(p), w->path[1], &a, sizeof a); break;
      case OP_LISTXATTRAT: r = syscall(SYS_listxattrat, fd, p, at_flags(p), w->buflen ? w->buf : NULL, w->buflen); break;
      case OP_REMOVEXATTRAT: r = syscall(SYS_removexattrat, fd, p, at_flags(p), w->path[1]); break;
      default: errno = EINVAL; return -1;
    }
    if (!(r < 0 && errno == ENOSYS)) return r;
    have_xattrat = 0;
  }
  return xattr_fallback(w, fd, p);
}

// Opens the directory part of a relative path as an O_PATH fd, so that the
// operation itself only sees a final name. Every directory component must be
// a real directory beneath the branch root: the kernel resolves symlinks
// itself and never asks us to walk through one, so a symlink (or "..") met on
// disk means the branch changed behind our back, and following it could lead
// out of the branch. openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) refuses
// both (ELOOP / EXDEV). It also lets a path longer than PATH_MAX under the
// root work (a process that chdir'ed deep down uses short relative names):
// the directory part is walked a slice of under PATH_MAX bytes at a time.
static int have_openat2 = 1;

static int open_dir_beneath(int dirfd, const char *path, size_t len) {
  char *dir = strndup(path, len);
  if (!dir) { errno = ENOMEM; return -1; }
  int fd = -1;
  if (have_openat2) {
    struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .mode = 0, .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS };
    fd = (int)syscall(SYS_openat2, dirfd, dir, &how, sizeof how);
    if (fd < 0 && errno == ENOSYS) have_openat2 = 0;
  }
  if (!have_openat2) fd = openat(dirfd, dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int e = errno;
  free(dir);
  errno = e;
  return fd;
}

static int resolve_parent(int dirfd, const char *path, int *outfd, const char **outpath) {
  int cur = dirfd;
  const char *p = path;
  for (;;) {
    const char *last = strrchr(p, '/');
    if (!last) break;
    size_t len = (size_t)(last - p);
    const char *next = last + 1;
    if (len >= PATH_MAX) {
      // Too long for one call: take the longest prefix that fits.
      const char *cut = NULL;
      for (const char *q = p + PATH_MAX - 2; q > p; q--)
        if (*q == '/') { cut = q; break; }
      if (!cut) { errno = ENAMETOOLONG; goto fail; }
      len = (size_t)(cut - p);
      next = cut + 1;
    }
    int fd = open_dir_beneath(cur, p, len);
    if (fd < 0) goto fail;
    if (cur != dirfd) close(cur);
    cur = fd;
    p = next;
    if (next == last + 1) break;
  }
  if (strlen(p) >= PATH_MAX) { errno = ENAMETOOLONG; goto fail; }
  *outfd = cur;
  *outpath = p;
  return 0;
fail: {
    int e = errno;
    if (cur != dirfd) close(cur);
    errno = e;
    return -1;
  }
}

// Parent-directory cache, for calls on the JS thread only. One FUSE request
// often resolves the same parent several times on a branch (a policy probe,
// the operation, the stat for the reply), and each resolution is an openat2
// and a close. Entries live for one request at most: the readers clear the
// cache as they hand each request to JS, and a rename or rmdir clears
// it at once, since either can change what a directory path names. Only
// successful opens are kept, so a directory created meanwhile is never
// hidden. Pool threads never touch it.
#define DIRCACHE_SLOTS 8
static struct { int root; size_t len; char *dir; int fd; } dircache[DIRCACHE_SLOTS];
static int dircache_next;

static void dircache_clear(void) {
  for (int i = 0; i < DIRCACHE_SLOTS; i++) {
    if (dircache[i].dir) {
      close(dircache[i].fd);
      free(dircache[i].dir);
      dircache[i].dir = NULL;
    }
  }
}

// Like resolve_parent, but the directory fd may come from (and go to) the
// cache; *cached says the caller must not close it.
static int resolve_parent_cached(int dirfd, const char *path, int *outfd, const char **outpath, int *cached) {
  *cached = 0;
  const char *last = strrchr(path, '/');
  size_t len = last ? (size_t)(last - path) : 0;
  if (!last || len >= PATH_MAX || strlen(last + 1) >= PATH_MAX) return resolve_parent(dirfd, path, outfd, outpath);
  for (int i = 0; i < DIRCACHE_SLOTS; i++) {
    if (dircache[i].dir && dircache[i].root == dirfd && dircache[i].len == len && memcmp(dircache[i].dir, path, len) == 0) {
      *outfd = dircache[i].fd;
      *outpath = last + 1;
      *cached = 1;
      return 0;
    }
  }
  int fd = open_dir_beneath(dirfd, path, len);
  if (fd < 0) return -1;
  char *dir = strndup(path, len);
  if (dir) {
    int slot = dircache_next;
    dircache_next = (dircache_next + 1) % DIRCACHE_SLOTS;
    if (dircache[slot].dir) {
      close(dircache[slot].fd);
      free(dircache[slot].dir);
    }
    dircache[slot].root = dirfd;
    dircache[slot].len = len;
    dircache[slot].dir = dir;
    dircache[slot].fd = fd;
    *cached = 1;
  }
  *outfd = fd;
  *outpath = last + 1;
  return 0;
}

static void run_op(struct work *w, int d0, const char *p0, int d1, const char *p1);

static void work_execute(napi_env env, void *data) {
  (void)env;
  struct work *w = data;
  int d0 = (int)w->d[0], d1 = (int)w->d[1];
  const char *p0 = w->path[0] ? w->path[0] : "";
  // path[1] is a second path only for linkat/renameat2 (elsewhere a name or a target).
  int two = w->kind == OP_LINKAT || w->kind == OP_RENAMEAT2;
  const char *p1 = w->path[1] ? w->path[1] : "";
  int s0 = d0, s1 = d1, c0 = 0, c1 = 0;
  int r0 = w->on_js_thread ? resolve_parent_cached(d0, p0, &s0, &p0, &c0) : resolve_parent(d0, p0, &s0, &p0);
  int r1 = r0 < 0 || !two ? 0 : w->on_js_thread ? resolve_parent_cached(d1, p1, &s1, &p1, &c1) : resolve_parent(d1, p1, &s1, &p1);
  if (r0 < 0 || r1 < 0) {
    w->result = -errno;
    if (s0 != d0 && !c0) close(s0);
    return;
  }
  run_op(w, s0, p0, s1, p1);
  if (s0 != d0 && !c0) close(s0);
  if (s1 != d1 && !c1) close(s1);
  // A rename or rmdir can change what a cached directory path names.
  if (w->on_js_thread && (w->kind == OP_RENAMEAT2 || (w->kind == OP_UNLINKAT && (w->n[0] & AT_REMOVEDIR)))) dircache_clear();
}

// readdirMergedSync([fd0, fd1, ...], rel, calc, seeds) → Buffer | -errno
//
// The union of several open directories in one pass, first fd wins a name
// (mergerfs's readdir), written as the READDIR reply's own records: each
// entry is a struct fuse_dirent with its shown inode number (inodecalc,
// below) and off = its index + 1 (the cookie of the entry after it). A
// READDIR reply is then a slice of these bytes, with no per-name work in JS.
// An fd < 0 is skipped (no such directory on that branch).
//
// Result: [u32 count][u32 L][L bytes of dirent records, each 8-aligned]
//         [u32 offset of record i, i = 0..count (the last is L)][u8 fd index of record i]
//
// Deduplication is an open-addressing set of record offsets keyed by an
// FNV-1a hash of the name: done here, it spares JS a Buffer view and a hash
// per name (a 50,000-entry directory over two branches: 130 ms of JS).
// JS thread only (the fds are of branches served there).

// ---- shown inode numbers: MUST equal src/union/inodecalc.ts bit for bit
// (the unit test inodecalc-native checks every mode). 64-bit FNV-1a, then
// lo = fmix32(lo ^ hi), hi = fmix32(hi ^ lo). `calc` bits: which entries
// hash their path, the 32-bit fold, or the branch's own number.
#define CALC_PATH_DIRS 1
#define CALC_PATH_FILES 2
#define CALC_FOLD32 4
#define CALC_PASSTHROUGH 8
#define FNV_BASIS 0xcbf29ce484222325ULL

static inline uint64_t fnv_feed(uint64_t h, const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 0x100000001b3ULL; }
  return h;
}

static inline uint32_t fmix32(uint32_t h) {
  h ^= h >> 16; h *= 0x85ebca6bu; h ^= h >> 13; h *= 0xc2b2ae35u; h ^= h >> 16;
  return h;
}

static inline uint64_t ino_finish(uint64_t h, int fold32) {
  uint32_t lo = (uint32_t)h, hi = (uint32_t)(h >> 32);
  lo = fmix32(lo ^ hi);
  hi = fmix32(hi ^ lo);
  if (fold32) {
    uint32_t x = (lo ^ hi) * 0x9e3779b9u;
    return x ? x : 1;
  }
  h = ((uint64_t)hi << 32) | lo;
  return h ? h : 1;
}

// The shown number of a listed name of directory `rel`; seed = the branch's devino seed.
static uint64_t listed_ino(int calc, uint64_t seed, const unsigned char *rel, size_t rl, const unsigned char *name, size_t nl, int is_dir, uint64_t ino) {
  if (calc & CALC_PASSTHROUGH) return ino ? ino : 1;
  int fold = (calc & CALC_FOLD32) != 0;
  if (!(calc & (is_dir ? CALC_PATH_DIRS : CALC_PATH_FILES))) {
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(ino >> (8 * i));
    return ino_finish(fnv_feed(seed, le, 8), fold);
  }
  uint64_t h = FNV_BASIS;
  if (nl == 1 && name[0] == '.') {
    h = fnv_feed(h, rel, rl); // "." names the directory itself
  } else if (nl == 2 && name[0] == '.' && name[1] == '.') {
    size_t cut = rl; // ".." names its parent: rel up to the last slash, or the root
    while (cut > 0 && rel[cut - 1] != '/') cut--;
    h = fnv_feed(h, rel, cut ? cut - 1 : 0);
  } else {
    if (rl) h = fnv_feed(fnv_feed(h, rel, rl), (const unsigned char *)"/", 1);
    h = fnv_feed(h, name, nl);
  }
  return ino_finish(h, fold);
}

#define DIRENT_HEAD 24
#define ENTRY_OUT 128 // struct fuse_entry_out
#define DIRENTPLUS_HEAD (ENTRY_OUT + DIRENT_HEAD)

// Branch i's devino seed from JS's listingSeeds buffer: [lo u32 LE][hi u32 LE].
static uint64_t seed_at(const void *seeds, unsigned i) {
  uint32_t lo, hi;
  memcpy(&lo, (const unsigned char *)seeds + 8 * (size_t)i, 4);
  memcpy(&hi, (const unsigned char *)seeds + 8 * (size_t)i + 4, 4);
  return ((uint64_t)hi << 32) | lo;
}

struct merge_out {
  unsigned char *buf;  // dirent records
  size_t len, cap;
  uint32_t *offs;      // record i starts at offs[i]
  unsigned char *from; // record i's fd index
  size_t count, list_cap;
  // Names seen: (name hash << 32) | (record offset + 1); 0 = empty. The
  // hash is kept so probing and growing compare hashes first and touch a
  // record only on a likely match (a 50,000-name directory: records are
  // scattered over megabytes, so each touch is a cache miss).
  uint64_t *set;
  size_t set_cap;
};

static uint32_t name_hash(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 16777619u; }
  return h;
}

static inline uint32_t rec_namelen(const unsigned char *r) {
  uint32_t nl;
  memcpy(&nl, r + 16, 4);
  return nl;
}

// The size of a struct fuse_dirent (plus: fuse_direntplus) record for a name of nl bytes.
static inline size_t rec_size(size_t nl, int plus) { return ((plus ? DIRENTPLUS_HEAD : DIRENT_HEAD) + nl + 7) & ~(size_t)7; }

// Is the record at r "." or ".."?
static inline int rec_is_dot(const unsigned char *r) {
  uint32_t nl = rec_namelen(r);
  return nl <= 2 && r[DIRENT_HEAD] == '.' && (nl == 1 || r[DIRENT_HEAD + 1] == '.');
}

static int merge_set_grow(struct merge_out *m) {
  size_t cap = m->set_cap ? m->set_cap * 2 : 1024;
  uint64_t *set = calloc(cap, sizeof *set);
  if (!set) return -ENOMEM;
  for (size_t i = 0; i < m->set_cap; i++) {
    uint64_t v = m->set[i];
    if (!v) continue;
    size_t j = (size_t)(v >> 32) & (cap - 1);
    while (set[j]) j = (j + 1) & (cap - 1);
    set[j] = v;
  }
  free(m->set);
  m->set = set;
  m->set_cap = cap;
  return 0;
}

// Adds a record (the branch's own d_ino for now) unless the name is already there; 0 or -errno.
static int merge_add(struct merge_out *m, uint64_t ino, unsigned char type, unsigned char index, const char *name, size_t nl) {
  if ((m->count + 1) * 2 > m->set_cap && merge_set_grow(m) != 0) return -ENOMEM;
  uint32_t h = name_hash(name, nl);
  size_t j = h & (m->set_cap - 1);
  for (; m->set[j]; j = (j + 1) & (m->set_cap - 1)) {
    if ((uint32_t)(m->set[j] >> 32) != h) continue;
    const unsigned char *r = m->buf + (uint32_t)m->set[j] - 1;
    if (rec_namelen(r) == nl && memcmp(r + DIRENT_HEAD, name, nl) == 0) return 0;
  }
  size_t need = rec_size(nl, 0);
  if (m->len + need > m->cap) {
    size_t cap = m->cap ? m->cap : 16384;
    while (m->len + need > cap) cap *= 2;
    unsigned char *nb = realloc(m->buf, cap);
    if (!nb) return -ENOMEM;
    m->buf = nb;
    m->cap = cap;
  }
  if (m->count + 2 > m->list_cap) {
    size_t cap = m->list_cap ? m->list_cap * 2 : 1024;
    uint32_t *no = realloc(m->offs, cap * sizeof *no);
    if (!no) return -ENOMEM;
    m->offs = no;
    unsigned char *nf = realloc(m->from, cap);
    if (!nf) return -ENOMEM;
    m->from = nf;
    m->list_cap = cap;
  }
  if (m->len + need > UINT32_MAX) return -EOVERFLOW;
  unsigned char *r = m->buf + m->len;
  memset(r, 0, need);
  memcpy(r, &ino, 8);
  uint32_t nl32 = (uint32_t)nl, type32 = type;
  memcpy(r + 16, &nl32, 4);
  memcpy(r + 20, &type32, 4);
  memcpy(r + DIRENT_HEAD, name, nl);
  m->set[j] = ((uint64_t)h << 32) | (uint32_t)(m->len + 1);
  m->offs[m->count] = (uint32_t)m->len;
  m->from[m->count] = index;
  m->len += need;
  m->count++;
  return 0;
}

static void merge_free(struct merge_out *m) {
  free(m->buf);
  free(m->offs);
  free(m->from);
  free(m->set);
  memset(m, 0, sizeof *m);
}

// Every name of the open directories fds[0..n) (fd < 0: none on that
// branch), read from the start, first fd wins a name. 0 or -errno.
static int merge_dirs(const int *fds, unsigned n, struct merge_out *m) {
  int err = 0;
  char *dbuf = malloc(65536);
  if (!dbuf) return -ENOMEM;
  for (unsigned i = 0; i < n && !err; i++) {
    int fd = fds[i];
    if (fd < 0) continue;
    if (lseek(fd, 0, SEEK_SET) < 0) { err = -errno; break; }
    for (;;) {
      long got = syscall(SYS_getdents64, fd, dbuf, 65536);
      if (got < 0) { err = -errno; break; }
      if (got == 0) break;
      for (long pos = 0; pos < got && !err;) {
        struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; } *d = (void *)(dbuf + pos);
        err = merge_add(m, d->ino, d->type, (unsigned char)i, d->name, strlen(d->name));
        pos += d->reclen;
      }
      if (err) break;
    }
  }
  free(dbuf);
  free(m->set);
  m->set = NULL;
  m->set_cap = 0;
  return err;
}

// Now that every name is known: each record's shown inode number and cookie (index + 1).
static void merge_finish(struct merge_out *m, int calc, const void *seeds, const void *rel, size_t rl) {
  for (size_t i = 0; i < m->count; i++) {
    unsigned char *r = m->buf + m->offs[i];
    uint64_t ino, off = i + 1;
    uint32_t type;
    memcpy(&ino, r, 8);
    memcpy(&type, r + 20, 4);
    ino = listed_ino(calc, seed_at(seeds, m->from[i]), rel, rl, r + DIRENT_HEAD, rec_namelen(r), type == DT_DIR, ino);
    memcpy(r, &ino, 8);
    memcpy(r + 8, &off, 8);
  }
}

// The size of the packed form readdirMergedSync returns (src/native/index.ts).
static size_t merge_packed_size(const struct merge_out *m) { return 8 + m->len + 4 * (m->count + 1) + m->count; }

static void merge_pack(const struct merge_out *m, unsigned char *out) {
  uint32_t count32 = (uint32_t)m->count, len32 = (uint32_t)m->len;
  memcpy(out, &count32, 4);
  memcpy(out + 4, &len32, 4);
  if (m->len) memcpy(out + 8, m->buf, m->len);
  if (m->count) memcpy(out + 8 + m->len, m->offs, 4 * m->count);
  memcpy(out + 8 + m->len + 4 * m->count, &len32, 4);
  if (m->count) memcpy(out + 8 + m->len + 4 * (m->count + 1), m->from, m->count);
}

static napi_value js_readdir_merged_sync(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (get_args(env, info, 4, argv) != 0) return NULL;
  uint32_t n;
  if (napi_get_array_length(env, argv[0], &n) != napi_ok || n > 255) return make_num(env, -EINVAL);
  void *rel, *seeds;
  size_t rl, seeds_len;
  int32_t calc;
  if (get_buffer(env, argv[1], &rel, &rl) != 0 || get_i32(env, argv[2], &calc) != 0 || get_buffer(env, argv[3], &seeds, &seeds_len) != 0) return NULL;
  if (seeds_len < (size_t)n * 8) return make_num(env, -EINVAL);
  int fds[255];
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if (napi_get_element(env, argv[0], i, &v) != napi_ok || get_i32(env, v, &fds[i]) != 0) return make_num(env, -EINVAL);
  }
  struct merge_out m = {0};
  int err = merge_dirs(fds, n, &m);
  napi_value result;
  unsigned char *out = NULL;
  if (!err && (m.count > UINT32_MAX - 1 || napi_create_buffer(env, merge_packed_size(&m), (void **)&out, &result) != napi_ok)) err = -ENOMEM;
  if (!err) {
    merge_finish(&m, calc, seeds, rel, rl);
    merge_pack(&m, out);
  }
  merge_free(&m);
  return err ? make_num(env, err) : result;
}

static void run_op(struct work *w, int d0, const char *p0, int d1, const char *p1) {
  long r = 0;
  struct stat st;
  switch (w->kind) {
    case OP_STATAT:
      r = fstatat(d0, p0, &st, at_flags(p0));
      if (r == 0) fill_stat(w->buf, &st);
      break;
    case OP_STATXAT: {
      struct statx sx;
      r = statx(d0, p0, at_flags(p0), (unsigned)w->n[0], &sx);
      if (r == 0) {
        int64_t *o = w->buf;
        o[0] = (int64_t)makedev(sx.stx_dev_major, sx.stx_dev_minor);
        o[1] = (int64_t)sx.stx_ino;
        o[2] = sx.stx_mode;
        o[3] = sx.stx_nlink;
        o[4] = sx.stx_uid;
        o[5] = sx.stx_gid;
        o[6] = (int64_t)makedev(sx.stx_rdev_major, sx.stx_rdev_minor);
        o[7] = (int64_t)sx.stx_size;
        o[8] = sx.stx_blksize;
        o[9] = (int64_t)sx.stx_blocks;
        o[10] = sx.stx_atime.tv_sec; o[11] = sx.stx_atime.tv_nsec;
        o[12] = sx.stx_mtime.tv_sec; o[13] = sx.stx_mtime.tv_nsec;
        o[14] = sx.stx_ctime.tv_sec; o[15] = sx.stx_ctime.tv_nsec;
        o[16] = sx.stx_btime.tv_sec; o[17] = sx.stx_btime.tv_nsec;
        o[18] = sx.stx_mask;
        o[19] = (int64_t)sx.stx_attributes;
      }
      break;
    }
    case OP_OPENAT:
      r = openat(d0, p0, (int)w->n[0] | O_CLOEXEC, (mode_t)w->n[1]);
      break;
    case OP_MKDIRAT:
      r = mkdirat(d0, p0, (mode_t)w->n[0]);
      break;
    case OP_MKNODAT:
      r = mknodat(d0, p0, (mode_t)w->n[0], (dev_t)w->n[1]);
      break;
    case OP_SYMLINKAT:
      r = symlinkat(w->path[1], d0, p0);
      break;
    case OP_LINKAT:
      r = linkat(d0, p0, d1, p1, (int)w->n[0] | (p0[0] ? 0 : AT_EMPTY_PATH));
      break;
    case OP_UNLINKAT:
      r = unlinkat(d0, p0, (int)w->n[0]);
      break;
    case OP_RENAMEAT2:
      r = syscall(SYS_renameat2, d0, p0, d1, p1, (unsigned)w->n[0]);
      break;
    case OP_READLINKAT: {
      char *out = malloc(PATH_MAX);
      if (!out) { w->result = -ENOMEM; return; }
      ssize_t n = readlinkat(d0, p0, out, PATH_MAX);
      if (n < 0) { w->result = -errno; free(out); return; }
      w->outbuf = out;
      w->outlen = (size_t)n;
      w->result = 0;
      return;
    }
    case OP_FCHOWNAT:
      r = fchownat(d0, p0, (uid_t)w->n[0], (gid_t)w->n[1], at_flags(p0));
      break;
    case OP_FCHMODAT:
      // An empty path means the fd itself; fchmodat() would follow nothing.
      r = p0[0] ? fchmodat(d0, p0, (mode_t)w->n[0], AT_SYMLINK_NOFOLLOW) : fchmod(d0, (mode_t)w->n[0]);
      break;
    case OP_UTIMENSAT: {
      struct timespec ts[2] = {{w->n[0], w->n[1]}, {w->n[2], w->n[3]}};
      r = p0[0] ? utimensat(d0, p0, ts, AT_SYMLINK_NOFOLLOW) : futimens(d0, ts);
      break;
    }
    case OP_TRUNCATEAT: {
      int fd = p0[0] ? openat(d0, p0, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK) : d0;
      if (fd < 0) { r = -1; break; }
      r = ftruncate(fd, (off_t)w->n[0]);
      int e = errno;
      if (p0[0]) close(fd);
      errno = e;
      break;
    }
    case OP_READDIRAT: {
      int fd;
      if (p0[0]) {
        fd = openat(d0, p0, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) { w->result = -errno; return; }
      } else {
        fd = d0;
        if (lseek(fd, 0, SEEK_SET) < 0) { w->result = -errno; return; }
      }
      w->result = read_dir_fd(fd, &w->outbuf, &w->outlen);
      if (p0[0]) close(fd);
      return;
    }
    case OP_GETXATTRAT:
    case OP_SETXATTRAT:
    case OP_LISTXATTRAT:
    case OP_REMOVEXATTRAT:
      r = xattr_at(w, d0, p0);
      break;
    case OP_FSTATVFS: {
      struct statvfs sv;
      r = fstatvfs((int)w->n[0], &sv);
      if (r == 0) {
        int64_t *o = w->buf;
        o[0] = (int64_t)sv.f_bsize;
        o[1] = (int64_t)sv.f_frsize;
        o[2] = (int64_t)sv.f_blocks;
        o[3] = (int64_t)sv.f_bfree;
        o[4] = (int64_t)sv.f_bavail;
        o[5] = (int64_t)sv.f_files;
        o[6] = (int64_t)sv.f_ffree;
        o[7] = (int64_t)sv.f_namemax;
        o[8] = (int64_t)sv.f_flag;
      }
      break;
    }
    case OP_FALLOCATE:
      r = fallocate((int)w->n[0], (int)w->n[1], (off_t)w->n[2], (off_t)w->n[3]);
      break;
    case OP_LSEEK: {
      off_t o = lseek((int)w->n[0], (off_t)w->n[1], (int)w->n[2]);
      w->result = o < 0 ? -errno : (double)o;
      return;
    }
    case OP_COPY_FILE_RANGE: {
      loff_t in_off = w->n[1], out_off = w->n[3];
      ssize_t c = copy_file_range((int)w->n[0], &in_off, (int)w->n[2], &out_off, (size_t)w->n[4], (unsigned)w->n[5]);
      w->result = c < 0 ? -errno : (double)c;
      return;
    }
    case OP_FICLONE:
      r = ioctl((int)w->n[0], FICLONE, (int)w->n[1]);
      break;
    case OP_WRITE:
      // One message per write on /dev/fuse; used for notifications, which may
      // block on a directory lock and so must never run on the JS thread.
      do { r = write((int)w->n[0], w->buf, w->buflen); } while (r < 0 && errno == EINTR);
      break;
  }
  w->result = r < 0 ? -errno : (double)r;
}

static void free_outbuf(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void work_complete(napi_env env, napi_status status, void *data) {
  struct work *w = data;
  napi_value result;
  if (status == napi_ok && w->outbuf && w->result == 0) {
    if (napi_create_external_buffer(env, w->outlen, w->outbuf, free_outbuf, NULL, &result) != napi_ok) {
      free(w->outbuf);
      result = make_num(env, -ENOMEM);
    }
    w->outbuf = NULL;
  } else {
    result = make_num(env, status == napi_ok ? w->result : -EIO);
  }
  napi_resolve_deferred(env, w->deferred, result);
  free(w->path[0]);
  free(w->path[1]);
  if (w->keep) napi_delete_reference(env, w->keep);
  free(w->outbuf);
  napi_delete_async_work(env, w->handle);
  free(w);
}

static napi_value fail_work(struct work *w) {
  if (w) {
    free(w->path[0]);
    free(w->path[1]);
    free(w);
  }
  return NULL;
}

static napi_value queue_work(napi_env env, struct work *w) {
  napi_value promise, name;
  if (napi_create_promise(env, &w->deferred, &promise) != napi_ok) return fail_work(w);
  napi_create_string_utf8(env, "braidfs-syscall", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, work_execute, work_complete, w, &w->handle) != napi_ok) return fail_work(w);
  if (napi_queue_async_work(env, w->handle) != napi_ok) return fail_work(w);
  return promise;
}

// One descriptor per exported syscall; each is exported twice: `name` runs
// on the thread pool and resolves, `nameSync` runs on the calling (JS)
// thread and returns. Sync is much cheaper for a fast local disk (no two
// thread hops per call); async keeps a slow disk from stalling the loop.
struct op_desc {
  const char *name;
  enum op_kind kind;
  // Each letter reads one argument: d/e: directory fd into d[0]/d[1];
  // p/q: path into path[0]/path[1]; n: next integer; b: buffer.
  const char *spec;
};

static const struct op_desc OPS[] = {
  {"statat", OP_STATAT, "dpb"},
  {"statxat", OP_STATXAT, "dpnb"},
  {"openat", OP_OPENAT, "dpnn"},
  {"mkdirat", OP_MKDIRAT, "dpn"},
  {"mknodat", OP_MKNODAT, "dpnn"},
  {"symlinkat", OP_SYMLINKAT, "qdp"},
  {"linkat", OP_LINKAT, "dpeqn"},
  {"unlinkat", OP_UNLINKAT, "dpn"},
  {"renameat2", OP_RENAMEAT2, "dpeqn"},
  {"readlinkat", OP_READLINKAT, "dp"},
  {"fchownat", OP_FCHOWNAT, "dpnn"},
  {"fchmodat", OP_FCHMODAT, "dpn"},
  {"utimensat", OP_UTIMENSAT, "dpnnnn"},
  {"truncateat", OP_TRUNCATEAT, "dpn"},
  {"readdirat", OP_READDIRAT, "dp"},
  {"getxattrat", OP_GETXATTRAT, "dpqb"},
  {"setxattrat", OP_SETXATTRAT, "dpqbn"},
  {"listxattrat", OP_LISTXATTRAT, "dpb"},
  {"removexattrat", OP_REMOVEXATTRAT, "dpq"},
  {"fstatvfs", OP_FSTATVFS, "nb"},
  {"fallocate", OP_FALLOCATE, "nnnn"},
  {"lseek", OP_LSEEK, "nnn"},
  {"copyFileRange", OP_COPY_FILE_RANGE, "nnnnnn"},
  {"ficlone", OP_FICLONE, "nn"},
  {"writeAsync", OP_WRITE, "nb"},
};
#define N_OPS (sizeof OPS / sizeof OPS[0])

static struct work *bind_work(napi_env env, const struct op_desc *op, size_t argc, napi_value *argv) {
  size_t want = strlen(op->spec);
  if (argc < want) {
    napi_throw_type_error(env, NULL, "braidfs native: too few arguments");
    return NULL;
  }
  struct work *w = calloc(1, sizeof *w);
  if (!w) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  w->kind = op->kind;
  int ni = 0;
  for (size_t i = 0; i < want; i++) {
    switch (op->spec[i]) {
      case 'd':
      case 'e':
        if (get_i64(env, argv[i], &w->d[op->spec[i] == 'd' ? 0 : 1]) != 0) return (void)fail_work(w), NULL;
        break;
      case 'p':
      case 'q': {
        int k = op->spec[i] == 'p' ? 0 : 1;
        w->path[k] = get_path(env, argv[i]);
        if (!w->path[k]) return (void)fail_work(w), NULL;
        break;
      }
      case 'n':
        if (get_i64(env, argv[i], &w->n[ni++]) != 0) return (void)fail_work(w), NULL;
        break;
      case 'b':
        if (get_buffer(env, argv[i], &w->buf, &w->buflen) != 0) return (void)fail_work(w), NULL;
        break;
    }
  }
  return w;
}

static napi_value js_op_async(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  size_t argc = MAX_ARGS;
  void *data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) return NULL;
  const struct op_desc *op = data;
  struct work *w = bind_work(env, op, argc, argv);
  if (!w) return NULL;
  // Keep the buffer argument alive until the pool thread is done with it.
  for (size_t i = 0; op->spec[i]; i++)
    if (op->spec[i] == 'b' && napi_create_reference(env, argv[i], 1, &w->keep) != napi_ok) return fail_work(w);
  return queue_work(env, w);
}

static napi_value js_op_sync(napi_env env, napi_callback_info info) {
  napi_value argv[MAX_ARGS];
  size_t argc = MAX_ARGS;
  void *data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, &data) != napi_ok) return NULL;
  struct work *w = bind_work(env, data, argc, argv);
  if (!w) return NULL;
  w->on_js_thread = 1;
  work_execute(env, w);
  napi_value result;
  if (w->outbuf && w->result == 0) {
    if (napi_create_external_buffer(env, w->outlen, w->outbuf, free_outbuf, NULL, &result) != napi_ok) {
      free(w->outbuf);
      result = make_num(env, -ENOMEM);
    }
  } else {
    free(w->outbuf);
    result = make_num(env, w->result);
  }
  free(w->path[0]);
  free(w->path[1]);
  free(w);
  return result;
}

// ---------------------------------------------------------------------------
// sync calls: device, mount, ioctls, replies

static napi_value js_dev_open(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  return make_num(env, fd < 0 ? -errno : fd);
}

// Opens a directory as an O_PATH fd (a branch root): the anchor of every *at() call.
static napi_value js_open_path(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv) != 0) return NULL;
  char *p = get_path(env, argv[0]);
  if (!p) return NULL;
  int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
  free(p);
  return make_num(env, fd < 0 ? -errno : fd);
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t fd;
  if (get_args(env, info, 1, argv) != 0 || get_i32(env, argv[0], &fd) != 0) return NULL;
  return make_num(env, close(fd) < 0 ? -errno : 0);
}

static napi_value js_mount(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (get_args(env, info, 5, argv) != 0) return NULL;
  char *src = get_path(env, argv[0]), *tgt = get_path(env, argv[1]), *type = get_path(env, argv[2]);
  int64_t flags = 0;
  char *data = get_path(env, argv[4]);
  napi_value res = NULL;
  if (src && tgt && type && data && get_i64(env, argv[3], &flags) == 0) {
    int r = mount(src, tgt, type, (unsigned long)flags, data);
    res = make_num(env, r < 0 ? -errno : 0);
  }
  free(src); free(tgt); free(type); free(data);
  return res;
}

static napi_value js_umount2(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv) != 0) return NULL;
  char *tgt = get_path(env, argv[0]);
  int32_t flags;
  if (!tgt || get_i32(env, argv[1], &flags) != 0) { free(tgt); return NULL; }
  int r = umount2(tgt, flags);
  free(tgt);
  return make_num(env, r < 0 ? -errno : 0);
}

// Mounts through the setuid fusermount3 helper and returns the /dev/fuse fd
// it passes back over a socketpair (SCM_RIGHTS), or -errno.
static napi_value js_fusermount(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (get_args(env, info, 2, argv) != 0) return NULL;
  char *mnt = get_path(env, argv[0]), *opts = get_path(env, argv[1]);
  if (!mnt || !opts) { free(mnt); free(opts); return NULL; }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) { free(mnt); free(opts); return make_num(env, -errno); }
  fcntl(sv[1], F_SETFD, FD_CLOEXEC);
  char commfd[32];
  snprintf(commfd, sizeof commfd, "_FUSE_COMMFD=%d", sv[0]);
  size_t n = 0;
  while (environ[n]) n++;
  char **envp = calloc(n + 2, sizeof *envp);
  if (!envp) { close(sv[0]); close(sv[1]); free(mnt); free(opts); return make_num(env, -ENOMEM); }
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "_FUSE_COMMFD=", 13) != 0) envp[k++] = environ[i];
  envp[k++] = commfd;
  char *args[] = {"fusermount3", "-o", opts, "--", mnt, NULL};
  pid_t pid;
  int r = posix_spawnp(&pid, "fusermount3", NULL, NULL, args, envp);
  free(envp);
  close(sv[0]);
  if (r != 0) { close(sv[1]); free(mnt); free(opts); return make_num(env, -r); }
  char byte;
  struct iovec iov = {&byte, 1};
  union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } ctl;
  struct msghdr msg = {0};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.buf;
  msg.msg_controllen = sizeof ctl.buf;
  ssize_t got;
  do { got = recvmsg(sv[1], &msg, MSG_CMSG_CLOEXEC); } while (got < 0 && errno == EINTR);
  int fd = -EIO;
  if (got > 0) {
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(c), sizeof fd);
  }
  close(sv[1]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (fd < 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0) fd = -EPERM;
  free(mnt);
  free(opts);
  return make_num(env, fd);
}

static napi_value js_ioctl_clone(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t newfd, srcfd;
  if (get_args(env, info, 2, argv) != 0 || get_i32(env, argv[0], &newfd) != 0 || get_i32(env, argv[1], &srcfd) != 0) return NULL;
  uint32_t src = (uint32_t)srcfd;
  return make_num(env, ioctl(newfd, BRAID_FUSE_DEV_IOC_CLONE, &src) < 0 ? -errno : 0);
}

static napi_value js_backing_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t devfd, fd;
  if (get_args(env, info, 2, argv) != 0 || get_i32(env, argv[0], &devfd) != 0 || get_i32(env, argv[1], &fd) != 0) return NULL;
  struct braid_backing_map map = {fd, 0, 0};
  int r = ioctl(devfd, BRAID_FUSE_DEV_IOC_BACKING_OPEN, &map);
  return make_num(env, r < 0 ? -errno : r);
}

static napi_value js_backing_close(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t devfd, id;
  if (get_args(env, info, 2, argv) != 0 || get_i32(env, argv[0], &devfd) != 0 || get_i32(env, argv[1], &id) != 0) return NULL;
  uint32_t id32 = (uint32_t)id;
  return make_num(env, ioctl(devfd, BRAID_FUSE_DEV_IOC_BACKING_CLOSE, &id32) < 0 ? -errno : 0);
}

// Fills a fuse_out_header: total length, -errno, the request's unique.
static void put_out_header(char *h, size_t len, int err, uint64_t unique) {
  uint32_t l = (uint32_t)len;
  int32_t e = -err;
  memcpy(h, &l, 4);
  memcpy(h + 4, &e, 4);
  memcpy(h + 8, &unique, 8);
}

// reply(fd, unique, errno, body?) → bytes written or -errno: one reply to
// /dev/fuse, its out_header built here (no JS buffer or array per reply).
static napi_value js_reply(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "braidfs native: reply(fd, unique, errno, body?)");
    return NULL;
  }
  int32_t fd, err;
  uint64_t unique;
  bool lossless;
  if (get_i32(env, argv[0], &fd) != 0 || get_i32(env, argv[2], &err) != 0) return NULL;
  if (napi_get_value_bigint_uint64(env, argv[1], &unique, &lossless) != napi_ok) {
    napi_throw_type_error(env, NULL, "braidfs native: reply wants a bigint unique");
    return NULL;
  }
  char header[16];
  struct iovec iov[2] = { { header, sizeof header }, { NULL, 0 } };
  int n = 1;
  if (err == 0 && argc > 3) {
    napi_valuetype t;
    napi_typeof(env, argv[3], &t);
    if (t != napi_undefined && t != napi_null) {
      if (get_buffer(env, argv[3], &iov[1].iov_base, &iov[1].iov_len) != 0) return NULL;
      if (iov[1].iov_len) n = 2;
    }
  }
  put_out_header(header, sizeof header + (n == 2 ? iov[1].iov_len : 0), err, unique);
  ssize_t r;
  do { r = writev(fd, iov, n); } while (r < 0 && errno == EINTR);
  return make_num(env, r < 0 ? -errno : (double)r);
}

// ---------------------------------------------------------------------------
// reader thread: blocks on read(/dev/fuse) and hands each request to JS.
// The request is copied once, from the thread's buffer into an exact-size
// heap block that JS receives as an external Buffer (no second copy).

struct reader {
  int fd;
  size_t bufsize;
  napi_threadsafe_function tsfn;
  pthread_t thread;
};

struct message {
  void *data;
  size_t len;
  int err;   // 0: a request; otherwise the errno that ended the loop
};

static void *reader_main(void *arg) {
  struct reader *r = arg;
  char *buf = malloc(r->bufsize);
  int err = buf ? 0 : ENOMEM;
  while (!err) {
    ssize_t n = read(r->fd, buf, r->bufsize);
    if (n < 0) {
      // ENOENT: the request was interrupted while being copied; read again.
      if (errno == EINTR || errno == EAGAIN || errno == ENOENT) continue;
      err = errno;
      break;
    }
    if (n == 0) { err = ENODEV; break; }
    struct message *m = malloc(sizeof *m);
    void *copy = malloc((size_t)n);
    if (!m || !copy) { free(m); free(copy); err = ENOMEM; break; }
    memcpy(copy, buf, (size_t)n);
    m->data = copy;
    m->len = (size_t)n;
    m->err = 0;
    if (napi_call_threadsafe_function(r->tsfn, m, napi_tsfn_blocking) != napi_ok) {
      free(copy); free(m);
      break;
    }
  }
  free(buf);
  struct message *end = malloc(sizeof *end);
  if (end) {
    end->data = NULL;
    end->len = 0;
    end->err = err ? err : ECANCELED;
    if (napi_call_threadsafe_function(r->tsfn, end, napi_tsfn_blocking) != napi_ok) free(end);
  }
  napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
  return NULL;
}

static void reader_call_js(napi_env env, napi_value cb, void *context, void *data) {
  (void)context;
  struct message *m = data;
  if (env == NULL || cb == NULL) {
    if (m) free(m->data);
    free(m);
    return;
  }
  napi_value argv[2], undef;
  napi_get_undefined(env, &undef);
  if (m->data) {
    if (napi_create_external_buffer(env, m->len, m->data, free_outbuf, NULL, &argv[0]) != napi_ok) {
      free(m->data);
      napi_get_null(env, &argv[0]);
    }
  } else {
    napi_get_null(env, &argv[0]);
  }
  argv[1] = make_num(env, m->err);
  free(m);
  dircache_clear(); // a new request: directory fds cached for the last one may name something else now
  napi_call_function(env, undef, cb, 2, argv, NULL);
}

static void reader_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct reader *r = data;
  pthread_join(r->thread, NULL);
  free(r);
}

// startReader(fd, bufsize, callback(buf|null, errno))
static napi_value js_start_reader(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (get_args(env, info, 3, argv) != 0) return NULL;
  struct reader *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  int64_t bufsize;
  if (get_i32(env, argv[0], &r->fd) != 0 || get_i64(env, argv[1], &bufsize) != 0) { free(r); return NULL; }
  r->bufsize = (size_t)bufsize;
  napi_value name;
  napi_create_string_utf8(env, "braidfs-reader", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, r, reader_finalize, NULL, reader_call_js, &r->tsfn) != napi_ok) {
    free(r);
    napi_throw_error(env, NULL, "braidfs native: could not create the reader");
    return NULL;
  }
  int e = pthread_create(&r->thread, NULL, reader_main, r);
  if (e != 0) {
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_abort);
    return make_num(env, -e);
  }
  return make_num(env, 0);
}


// ---------------------------------------------------------------------------
// One hash table for the addon's lookup tables (served files, served names):
// open addressing with linear probing, entries stored inline, an all-zero
// first field marking a free slot, and backward-shift deletion so probes
// never meet tombstones. It grows past half full and shrinks below an
// eighth (a find over a big tree registers, then forgets, every name).
// JS thread only.

struct oa_table {
  char *slots;
  size_t esize, cap, count, min_cap;
  uint64_t (*hash)(const void *entry); // of a live entry
};

static void *oa_at(const struct oa_table *t, size_t i) { return t->slots + i * t->esize; }
static int oa_live(const struct oa_table *t, size_t i) { return *(const uint64_t *)oa_at(t, i) != 0; }

static int oa_resize(struct oa_table *t, size_t cap) {
  char *slots = calloc(cap, t->esize);
  if (!slots) return -ENOMEM;
  for (size_t i = 0; i < t->cap; i++) {
    if (!oa_live(t, i)) continue;
    size_t j = (size_t)t->hash(oa_at(t, i)) & (cap - 1);
    while (*(uint64_t *)(slots + j * t->esize)) j = (j + 1) & (cap - 1);
    memcpy(slots + j * t->esize, oa_at(t, i), t->esize);
  }
  free(t->slots);
  t->slots = slots;
  t->cap = cap;
  return 0;
}

// The live entry with hash `h` that `match` accepts, or NULL.
static void *oa_find(const struct oa_table *t, uint64_t h, int (*match)(const void *entry, const void *key), const void *key) {
  if (!t->count) return NULL;
  for (size_t i = (size_t)h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
    if (!oa_live(t, i)) return NULL;
    if (match(oa_at(t, i), key)) return oa_at(t, i);
  }
}

// A free slot for a new entry with hash `h` (the caller fills it, first
// field non-zero), or NULL when out of memory.
static void *oa_add(struct oa_table *t, uint64_t h) {
  if ((t->count + 1) * 2 > t->cap && oa_resize(t, t->cap ? t->cap * 2 : t->min_cap) != 0) return NULL;
  size_t i = (size_t)h & (t->cap - 1);
  while (oa_live(t, i)) i = (i + 1) & (t->cap - 1);
  t->count++;
  return oa_at(t, i);
}

static void oa_remove(struct oa_table *t, void *entry) {
  size_t mask = t->cap - 1, i = (size_t)((char *)entry - t->slots) / t->esize;
  for (size_t j = (i + 1) & mask; oa_live(t, j); j = (j + 1) & mask) {
    size_t home = (size_t)t->hash(oa_at(t, j)) & mask;
    // Move j into the hole at i unless its home lies cyclically in (i, j].
    if (((j - home) & mask) >= ((j - i) & mask)) {
      memcpy(oa_at(t, i), oa_at(t, j), t->esize);
      i = j;
    }
  }
  memset(oa_at(t, i), 0, t->esize);
  t->count--;
  if (t->cap > t->min_cap && t->count * 8 < t->cap) oa_resize(t, t->cap / 2);
}

// ---------------------------------------------------------------------------
// Open files served here: READ and WRITE without entering JS.
//
// Without passthrough (rootless, user namespaces, passthrough.io=off), every
// read(2) and write(2) on the mount is a request to us. JS decides which open
// files qualify (a fast branch, syscalls inline, nothing JS must see per
// write) and registers their fh → fd here; the poll reader then answers
// their READ and WRITE itself, with a pread or pwrite and one reply write,
// as mergerfs does. That removes the JS work per request (decode, dispatch,
// a Buffer per READ, encode), which was most of the cost of a 4 KiB read.
// Anything else about the file stays in JS: open, release (which drops the
// entry before closing the fd), moveonenospc (which re-registers the new
// fd), locks, fsync. A WRITE that needs JS (suid/sgid to clear, a branch out
// of space) is handed to JS unanswered, exactly as if it had not been looked
// at. JS thread only: registration, lookups and the serving all run there.

#define FUSE_OP_READ 15
#define FUSE_OP_WRITE 16
#define IN_HEADER 40
#define RW_IN 40 // fuse_read_in and fuse_write_in are both 40 bytes
#define OUT_HEADER 16
#define WRITE_KILL_SUIDGID 4
// Per-file flag from JS: every WRITE asking to clear suid/sgid goes to JS
// (the mode lives in an override xattr, not in the branch file's mode).
#define FILE_KILL_IN_JS 1

struct served_file { uint64_t fh; int fd; int flags; }; // fh first: 0 marks a free slot
static uint64_t fh_hash(uint64_t fh) { return (fh * 0x9E3779B97F4A7C15ull) >> 20; }
static uint64_t served_file_hash(const void *e) { return fh_hash(((const struct served_file *)e)->fh); }
static int served_file_is(const void *e, const void *fh) { return ((const struct served_file *)e)->fh == *(const uint64_t *)fh; }
static struct oa_table served = { NULL, sizeof(struct served_file), 0, 0, 64, served_file_hash };
// What the addon answered, by kind (for the SIGUSR2 stats line).
enum { READ, WRITE, LOOKUP, NEGATIVE, GETATTR, UNLINK, CAPABILITY, OPENDIR, READDIR_LATER, RELEASEDIR, LISTING, SETATTR, N_SERVED_KINDS };
static struct { double count[N_SERVED_KINDS], ns[N_SERVED_KINDS]; } served_stats;
// LOOKUPs answered here that found something other than a directory: what
// readdirplus=auto (ops/plus-advisor.ts) counts as a walk that wants attributes.
static double served_file_lookups;

static struct served_file *served_find(uint64_t fh) { return oa_find(&served, fh_hash(fh), served_file_is, &fh); }

static int served_put(uint64_t fh, int fd, int flags) {
  struct served_file *f = served_find(fh);
  if (!f && !(f = oa_add(&served, fh_hash(fh)))) return -ENOMEM;
  *f = (struct served_file){ fh, fd, flags };
  return 0;
}

static void served_drop(uint64_t fh) {
  struct served_file *f = served_find(fh);
  if (f) oa_remove(&served, f);
}

// serveFile(fh, fd, flags): this file's READ and WRITE are answered here from now on.
static napi_value js_serve_file(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int64_t fh;
  int32_t fd, flags;
  if (get_args(env, info, 3, argv) != 0 || get_i64(env, argv[0], &fh) != 0 || get_i32(env, argv[1], &fd) != 0 || get_i32(env, argv[2], &flags) != 0) return NULL;
  if (fh <= 0 || fd < 0) return make_num(env, -EINVAL);
  return make_num(env, served_put((uint64_t)fh, fd, flags));
}

// unserveFile(fh): back to JS (before its fd is closed or replaced).
static napi_value js_unserve_file(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t fh;
  if (get_args(env, info, 1, argv) != 0 || get_i64(env, argv[0], &fh) != 0) return NULL;
  if (fh > 0) served_drop((uint64_t)fh);
  return NULL;
}



static char *reply_buf;
static size_t reply_cap;

// One reply per write(2); a vanished request (ENOENT: interrupted) or an
// unmounted connection is nothing to report, as in Session.reply.
// 0, or -errno when the kernel did not take the reply.
static int send_reply(int devfd, char *msg, size_t len, uint64_t unique, int err) {
  put_out_header(msg, len, err, unique);
  ssize_t r;
  do { r = write(devfd, msg, len); } while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

// READ: the whole range or up to EOF (a short read only at EOF, never a
// spurious one), as ops/io.ts read does.
static int serve_read(int devfd, const struct served_file *f, uint64_t unique, uint64_t off, uint32_t size) {
  if ((size_t)size + OUT_HEADER > reply_cap) {
    char *b = realloc(reply_buf, (size_t)size + OUT_HEADER);
    if (!b) return 0; // JS will manage
    reply_buf = b;
    reply_cap = (size_t)size + OUT_HEADER;
  }
  size_t got = 0;
  int err = 0;
  while (got < size) {
    ssize_t n = pread(f->fd, reply_buf + OUT_HEADER + got, size - got, (off_t)(off + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { err = errno; break; }
    if (n == 0) break;
    got += (size_t)n;
  }
  send_reply(devfd, reply_buf, err ? OUT_HEADER : OUT_HEADER + got, unique, err);
  return 1;
}

static int serve_write(int devfd, const struct served_file *f, uint64_t unique, uint64_t off, uint32_t size, uint32_t wflags, const char *data) {
  if (wflags & WRITE_KILL_SUIDGID) {
    // Sent for every write by a caller without CAP_FSETID; only a file that
    // has suid or sgid set needs JS (ops/killpriv.ts).
    struct stat st;
    if (f->flags & FILE_KILL_IN_JS) return 0;
    if (fstat(f->fd, &st) != 0 || (st.st_mode & (S_ISUID | S_ISGID))) return 0;
  }
  size_t done = 0;
  int err = 0;
  while (done < size) {
    ssize_t n = pwrite(f->fd, data + done, size - done, (off_t)(off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { err = errno; break; }
    if (n == 0) break;
    done += (size_t)n;
  }
  // Out of space: JS moves the file to a branch with room (moveonenospc)
  // and writes the whole request again there.
  if (err == ENOSPC || err == EDQUOT) return 0;
  char msg[OUT_HEADER + 8] = {0};
  uint32_t written = (uint32_t)done;
  memcpy(msg + OUT_HEADER, &written, 4);
  send_reply(devfd, msg, err ? OUT_HEADER : sizeof msg, unique, err);
  return 1;
}

// 1 when the request was answered here, 0 when JS should have it.
static int serve_io(int devfd, const char *req, size_t n) {
  if (!served.count || n < IN_HEADER + RW_IN) return 0;
  uint32_t op, len, size, wflags;
  uint64_t unique, fh, off;
  memcpy(&len, req, 4);
  memcpy(&op, req + 4, 4);
  if (op != FUSE_OP_READ && op != FUSE_OP_WRITE) return 0;
  memcpy(&unique, req + 8, 8);
  memcpy(&fh, req + IN_HEADER, 8);
  memcpy(&off, req + IN_HEADER + 8, 8);
  memcpy(&size, req + IN_HEADER + 16, 4);
  memcpy(&wflags, req + IN_HEADER + 20, 4);
  const struct served_file *f = served_find(fh);
  // The kernel never asks for more than max_read (1 MiB); anything odd is JS's to judge.
  if (!f || len > n || size > (64u << 20)) return 0;
  if (op == FUSE_OP_WRITE && (size_t)size > n - IN_HEADER - RW_IN) return 0; // malformed: JS says so
  double t0 = now_ns();
  int k = op == FUSE_OP_READ ? READ : WRITE;
  int done = k == READ ? serve_read(devfd, f, unique, off, size) : serve_write(devfd, f, unique, off, size, wflags, req + IN_HEADER + RW_IN);
  if (done) {
    served_stats.count[k]++;
    served_stats.ns[k] += now_ns() - t0;
  }
  return done;
}

// ---------------------------------------------------------------------------
// Names served here: LOOKUP of a name JS has looked up before, without JS.
//
// A stat of a path whose dentry expired (cache.entry) is a LOOKUP that finds
// the same file again; most LOOKUPs are that. JS registers each name it hands
// to the kernel (parent nodeid, name → nodeid, the branch-relative path, the
// branch it was found on, its st_dev/st_ino/type and the st_ino shown), and
// the poll reader answers a LOOKUP of a registered name itself when the
// getattr policy's search (ff: the first branch, in order, that has the
// path) finds exactly that file again. Anything else (a different file or
// branch, no file, an error) goes to JS unanswered, so a stale entry (a
// renamed parent, a file replaced behind the mount's back) can only cost a
// trip to JS, never a wrong answer. The kernel's lookup count of each name
// answered here is kept with the name (`pending`) and handed to JS whenever
// JS asks (before a FORGET is applied) or drops the name, so JS's node table
// stays the one owner of lookup counts. JS thread only.

#define FUSE_OP_LOOKUP 1
#define FUSE_OP_GETATTR 3
#define FUSE_OP_SETATTR 4
#define FUSE_OP_UNLINK 10
#define FUSE_OP_GETXATTR 22
#define MAX_BRANCHES 64

struct served_name {
  uint64_t node;         // first: 0 marks a free slot
  uint64_t parent;
  char *name;            // the name, then NUL, then the path, then NUL
  size_t namelen;
  uint64_t dev, ino, shown_ino;
  uint32_t type;
  int branch;
  double pending;        // LOOKUPs answered here that JS has not counted yet
};

static uint64_t name_key_hash(uint64_t parent, const char *name, size_t len) {
  uint64_t h = 1469598103934665603ull ^ (parent * 0x9E3779B97F4A7C15ull);
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
  return h;
}

static uint64_t served_name_hash(const void *p) {
  const struct served_name *e = p;
  return name_key_hash(e->parent, e->name, e->namelen);
}

struct name_key { uint64_t parent; const char *name; size_t len; };
static int served_name_is(const void *p, const void *k) {
  const struct served_name *e = p;
  const struct name_key *key = k;
  return e->parent == key->parent && e->namelen == key->len && memcmp(e->name, key->name, key->len) == 0;
}

static struct oa_table name_table = { NULL, sizeof(struct served_name), 0, 0, 1024, served_name_hash };

// Entry and attribute timeouts as a reply carries them.
struct timeouts {
  uint64_t entry_sec, attr_sec;
  uint32_t entry_nsec, attr_nsec;
};

static struct {
  int branch_fd[MAX_BRANCHES];
  int nbranches;
  int enabled;
  // UNLINK, and SETATTR of owner, mode and times, answered here too when
  // their action policies are epall: per branch, 1 when its mode lets
  // actions act on it (RW, NC), 2 when it is RO.
  unsigned char action_mode[MAX_BRANCHES];
  int unlinks, setattrs;
  // GETXATTR of security.capability (the kernel asks before chown, utimes
  // and writes that may drop privileges): 1 read it from the file the getattr
  // search finds (the getxattr policy is ff too), 2 ENODATA
  // (security_capability=false), 0 JS answers.
  int capability;
  struct timeouts valid;
  struct { uint64_t entry_sec; uint32_t entry_nsec; } negative; // cache.negative_entry
} names;

static struct served_name *name_find(uint64_t parent, const char *name, size_t len) {
  struct name_key key = { parent, name, len };
  return oa_find(&name_table, name_key_hash(parent, name, len), served_name_is, &key);
}

// Node ids served here: node -> one of its registered names, so GETATTR of
// a node and a LOOKUP of a new name below a directory node can be answered
// too. The name bytes are the served_name's own allocation (they do not
// move when its table slot does); the index entry goes with that name.
struct node_name {
  uint64_t node;  // first: 0 marks a free slot
  uint64_t parent;
  const char *name;
  size_t namelen;
};
static uint64_t node_hash(uint64_t node) { return node * 0x9E3779B97F4A7C15ull; }
static uint64_t node_name_hash(const void *p) { return node_hash(((const struct node_name *)p)->node); }
static int node_name_is(const void *p, const void *k) { return ((const struct node_name *)p)->node == *(const uint64_t *)k; }
static struct oa_table node_table = { NULL, sizeof(struct node_name), 0, 0, 1024, node_name_hash };
static struct node_name *node_find(uint64_t node) { return oa_find(&node_table, node_hash(node), node_name_is, &node); }

// The registered name of `node`, or NULL.
static struct served_name *node_entry(uint64_t node) {
  struct node_name *n = node_find(node);
  return n ? name_find(n->parent, n->name, n->namelen) : NULL;
}

// Removes the entry; returns its pending count.
static double name_remove(struct served_name *e) {
  double pending = e->pending;
  struct node_name *n = node_find(e->node);
  if (n && n->name == e->name) oa_remove(&node_table, n);
  free(e->name);
  oa_remove(&name_table, e);
  return pending;
}

// Registers parent/name as `node`, found at path = dir, or dir/leaf when
// leaf is given; returns the pending count of the entry it replaces (JS adds
// it to the node's lookups). Out of memory: not registered (JS answers).
static double name_register(uint64_t parent, uint64_t node, const char *name, size_t namelen, const char *dir, size_t dirlen, const char *leaf, size_t leaflen,
                            uint64_t dev, uint64_t ino, uint64_t shown, uint32_t type, int branch) {
  double replaced = 0;
  struct served_name *old = name_find(parent, name, namelen);
  if (old) replaced = name_remove(old);
  size_t pathlen = dirlen + (leaf ? 1 + leaflen : 0);
  char *bytes = malloc(namelen + pathlen + 2);
  if (!bytes) return replaced;
  memcpy(bytes, name, namelen);
  bytes[namelen] = 0;
  char *p = bytes + namelen + 1;
  memcpy(p, dir, dirlen);
  if (leaf) {
    p[dirlen] = '/';
    memcpy(p + dirlen + 1, leaf, leaflen);
  }
  p[pathlen] = 0;
  struct served_name *e = oa_add(&name_table, name_key_hash(parent, name, namelen));
  if (!e) { free(bytes); return replaced; }
  *e = (struct served_name){ node, parent, bytes, namelen, dev, ino, shown, type, branch, 0 };
  struct node_name *n = node_find(node);
  if (!n) n = oa_add(&node_table, node_hash(node));
  if (n) *n = (struct node_name){ node, parent, bytes, namelen };
  return replaced;
}

// serveName(parent, name, node, path, branch, dev, ino, type, shownIno) → pending count of
// the entry it replaces (0 if none), or -errno. bigints: parent, node, dev, ino, shownIno.
static napi_value js_serve_name(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  if (get_args(env, info, 9, argv) != 0) return NULL;
  uint64_t parent, node, dev, ino, shown;
  bool lossless;
  int32_t branch, type;
  void *name, *path;
  size_t namelen, pathlen;
  if (napi_get_value_bigint_uint64(env, argv[0], &parent, &lossless) != napi_ok ||
      napi_get_value_bigint_uint64(env, argv[2], &node, &lossless) != napi_ok ||
      napi_get_value_bigint_uint64(env, argv[5], &dev, &lossless) != napi_ok ||
      napi_get_value_bigint_uint64(env, argv[6], &ino, &lossless) != napi_ok ||
      napi_get_value_bigint_uint64(env, argv[8], &shown, &lossless) != napi_ok) {
    napi_throw_type_error(env, NULL, "braidfs native: serveName wants bigints");
    return NULL;
  }
  if (get_buffer(env, argv[1], &name, &namelen) != 0 || get_buffer(env, argv[3], &path, &pathlen) != 0) return NULL;
  if (get_i32(env, argv[4], &branch) != 0 || get_i32(env, argv[7], &type) != 0) return NULL;
  if (node == 0 || pathlen == 0 || namelen == 0 || branch < 0 || branch >= MAX_BRANCHES) return make_num(env, -EINVAL);
  if (memchr(path, 0, pathlen) || memchr(name, 0, namelen)) return make_num(env, -EINVAL);
  return make_num(env, name_register(parent, node, name, namelen, path, pathlen, NULL, 0, dev, ino, shown, (uint32_t)type, branch));
}

// takeLookups(parent, name, drop) → LOOKUPs of parent/name answered here since
// the last call (JS adds them to the node's count); drop: forget the name too.
static napi_value js_take_lookups(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (get_args(env, info, 3, argv) != 0) return NULL;
  uint64_t parent;
  bool lossless, drop;
  void *name;
  size_t namelen;
  if (napi_get_value_bigint_uint64(env, argv[0], &parent, &lossless) != napi_ok || get_buffer(env, argv[1], &name, &namelen) != 0 ||
      napi_get_value_bool(env, argv[2], &drop) != napi_ok) {
    napi_throw_type_error(env, NULL, "braidfs native: takeLookups(parent, name, drop)");
    return NULL;
  }
  struct served_name *e = name_find(parent, name, namelen);
  if (!e) return make_num(env, 0);
  if (drop) return make_num(env, name_remove(e));
  double n = e->pending;
  e->pending = 0;
  return make_num(env, n);
}

// Seconds as whole seconds and nanoseconds, rounded as replies.ts secs() does.
static void split_secs(double v, uint64_t *sec, uint32_t *nsec) {
  double s = floor(v);
  double ns = round((v - s) * 1e9);
  if (ns >= 1e9) { s += 1; ns = 0; }
  *sec = (uint64_t)s;
  *nsec = (uint32_t)ns;
}

// serveLookups(branchFds, entrySec, attrSec, negativeSec) starts answering (branch fds in
// list order: the ff search order); serveLookups(null) stops for good (the
// branches or the timeouts changed). Entries stay, so their counts are still
// handed over.
static napi_value js_serve_lookups(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t == napi_null || t == napi_undefined || argc < 4) { names.enabled = 0; names.unlinks = 0; names.setattrs = 0; return make_num(env, 0); }
  uint32_t n;
  if (napi_get_array_length(env, argv[0], &n) != napi_ok || n == 0 || n > MAX_BRANCHES) return make_num(env, -EINVAL);
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    int32_t fd;
    napi_get_element(env, argv[0], i, &el);
    if (get_i32(env, el, &fd) != 0) return NULL;
    names.branch_fd[i] = fd;
  }
  double e, a, neg;
  if (napi_get_value_double(env, argv[1], &e) != napi_ok || napi_get_value_double(env, argv[2], &a) != napi_ok || napi_get_value_double(env, argv[3], &neg) != napi_ok ||
      e < 0 || a < 0 || neg < 0) return make_num(env, -EINVAL);
  names.nbranches = (int)n;
  split_secs(e, &names.valid.entry_sec, &names.valid.entry_nsec);
  split_secs(a, &names.valid.attr_sec, &names.valid.attr_nsec);
  split_secs(neg, &names.negative.entry_sec, &names.negative.entry_nsec);
  // capability: how GETXATTR security.capability is answered (see names.capability).
  names.capability = 0;
  if (argc >= 6) {
    int32_t cap;
    if (get_i32(env, argv[5], &cap) != 0) return NULL;
    names.capability = cap == 1 || cap == 2 ? cap : 0;
  }
  // unlinkModes: a Buffer of one mode byte per branch, or null (JS answers UNLINK).
  names.unlinks = 0;
  void *modes;
  size_t nmodes;
  if (argc >= 5 && get_buffer_quiet(env, argv[4], &modes, &nmodes) == 0 && nmodes == n) {
    memcpy(names.action_mode, modes, n);
    names.unlinks = 1;
  }
  names.enabled = 1;
  return make_num(env, 0);
}

// lstat of a branch-relative path the way JS's statBeneath does it: the
// directory part walked with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS),
// so a symlink planted on a branch never leads this stat elsewhere (onto a
// hung network mount, say). 0 or -errno.
static int stat_beneath(int rootfd, const char *path, struct stat *st) {
  int dirfd;
  const char *last;
  if (resolve_parent(rootfd, path, &dirfd, &last) != 0) return -errno;
  int r = fstatat(dirfd, last, st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
  if (dirfd != rootfd) close(dirfd);
  return r;
}

static void put_u64(char *p, uint64_t v) { memcpy(p, &v, 8); }
static void put_u32(char *p, uint32_t v) { memcpy(p, &v, 4); }

// st_blksize as shown: a directory's sized to its listing (the rule and why:
// src/ops/blksize.ts shownBlksize), a file's as on its branch.
static uint32_t shown_blksize(const struct stat *st) {
  if (!S_ISDIR(st->st_mode)) return (uint32_t)st->st_blksize;
  uint64_t b = 32 * 1024, want = 8 * (uint64_t)(st->st_size > 0 ? st->st_size : 0);
  while (b < 1024 * 1024 && b < want) b *= 2;
  return (uint32_t)b;
}

// A struct fuse_attr for `st`, shown as st_ino `shown`: what replies.ts writeAttr writes.
static void put_attr(char *a, const struct stat *st, uint64_t shown) {
  put_u64(a, shown);
  put_u64(a + 8, (uint64_t)st->st_size);
  put_u64(a + 16, (uint64_t)st->st_blocks);
  put_u64(a + 24, (uint64_t)st->st_atim.tv_sec);
  put_u64(a + 32, (uint64_t)st->st_mtim.tv_sec);
  put_u64(a + 40, (uint64_t)st->st_ctim.tv_sec);
  put_u32(a + 48, (uint32_t)st->st_atim.tv_nsec);
  put_u32(a + 52, (uint32_t)st->st_mtim.tv_nsec);
  put_u32(a + 56, (uint32_t)st->st_ctim.tv_nsec);
  put_u32(a + 60, (uint32_t)st->st_mode);
  put_u32(a + 64, (uint32_t)st->st_nlink);
  put_u32(a + 68, (uint32_t)st->st_uid);
  put_u32(a + 72, (uint32_t)st->st_gid);
  put_u32(a + 76, (uint32_t)st->st_rdev);
  put_u32(a + 80, shown_blksize(st));
}

// A struct fuse_entry_out (zeroed by the caller) for `st`, shown as st_ino
// `shown`: what replies.ts writeEntry writes.
static void put_entry_out(char *o, uint64_t node, const struct timeouts *t, const struct stat *st, uint64_t shown) {
  put_u64(o, node);
  put_u64(o + 16, t->entry_sec);
  put_u64(o + 24, t->attr_sec);
  put_u32(o + 32, t->entry_nsec);
  put_u32(o + 36, t->attr_nsec);
  put_attr(o + 40, st, shown);
}

// Not there (branches.ts statBeneath's MISSING): the search goes on to the next branch.
static int missing(int r) { return r == -ENOENT || r == -ENOTDIR || r == -ELOOP || r == -EXDEV; }

// The getattr search (ff: the first branch that has the path) for a served
// entry: 1 with *st when it finds the very file registered (same branch,
// st_dev, st_ino and type), else 0 (JS answers, as a plain search would).
static int served_stat(const struct served_name *e, struct stat *st) {
  const char *path = e->name + e->namelen + 1;
  int b;
  for (b = 0; b < names.nbranches; b++) {
    int r = stat_beneath(names.branch_fd[b], path, st);
    if (r == 0) break;
    if (!missing(r)) return 0;
  }
  return b == e->branch && (uint64_t)st->st_dev == e->dev && (uint64_t)st->st_ino == e->ino && (st->st_mode & S_IFMT) == e->type;
}

// The branch-relative path of `name` below node `parent`, into path[PATH_MAX]:
// 1 when the parent is a served directory still at its registered path.
// After a rename of one of its ancestors that path names nothing, or another
// directory, and the name is to be looked for elsewhere (JS knows where).
static int served_child_path(uint64_t parent, const char *name, size_t namelen, char *path) {
  struct served_name *p = node_entry(parent);
  struct stat st;
  if (!p || p->type != S_IFDIR || !served_stat(p, &st)) return 0;
  const char *dir = p->name + p->namelen + 1;
  size_t dirlen = strlen(dir);
  if (dirlen + 1 + namelen >= PATH_MAX) return 0;
  memcpy(path, dir, dirlen);
  path[dirlen] = '/';
  memcpy(path + dirlen + 1, name, namelen);
  path[dirlen + 1 + namelen] = 0;
  return 1;
}

// A LOOKUP of a name nowhere below a served directory (found again as the
// registered directory): the same search over every branch, all of them
// missing it, answered as lookup.ts refused() does (a negative entry for
// cache.negative_entry, else ENOENT). 1 when answered here.
static int serve_negative(int devfd, uint64_t unique, uint64_t parent, const char *name, size_t namelen) {
  char path[PATH_MAX];
  struct stat st;
  if (!served_child_path(parent, name, namelen, path)) return 0;
  for (int b = 0; b < names.nbranches; b++)
    if (!missing(stat_beneath(names.branch_fd[b], path, &st))) return 0; // there (JS makes the node), or an error JS reports
  char msg[OUT_HEADER + ENTRY_OUT] = {0};
  if (names.negative.entry_sec || names.negative.entry_nsec) {
    put_u64(msg + OUT_HEADER + 16, names.negative.entry_sec);
    put_u32(msg + OUT_HEADER + 32, names.negative.entry_nsec);
    send_reply(devfd, msg, sizeof msg, unique, 0);
  } else {
    send_reply(devfd, msg, OUT_HEADER, unique, ENOENT);
  }
  return 1;
}

// What the served name ops read of a struct fuse_in_header.
struct in_head { uint32_t len; uint64_t unique, node; uint16_t extlen; };

// 1 with *h filled in, 0 for a request shorter than it says (JS reports it).
static int read_in_head(const char *req, size_t n, struct in_head *h) {
  memcpy(&h->len, req, 4);
  memcpy(&h->unique, req + 8, 8);
  memcpy(&h->node, req + 16, 8);
  memcpy(&h->extlen, req + 36, 2);
  return h->len <= n && h->len >= IN_HEADER;
}

// The NUL-terminated name a LOOKUP or UNLINK body holds (before any request
// extensions): its length, with *name set, or 0 when there is none.
static size_t request_name(const char *req, const struct in_head *h, const char **name) {
  if ((size_t)h->extlen * 8 + IN_HEADER >= h->len) return 0;
  *name = req + IN_HEADER;
  const char *nul = memchr(*name, 0, h->len - IN_HEADER - (size_t)h->extlen * 8);
  return nul ? (size_t)(nul - *name) : 0;
}

// 1 when answered here, 0 when JS should have it.
static int serve_lookup(int devfd, const char *req, size_t n) {
  struct in_head h;
  const char *name;
  size_t namelen;
  if (!read_in_head(req, n, &h) || !(namelen = request_name(req, &h, &name))) return 0;
  uint64_t unique = h.unique, parent = h.node;
  double t0 = now_ns();
  struct served_name *e = name_find(parent, name, namelen);
  if (!e) {
    if (!serve_negative(devfd, unique, parent, name, namelen)) return 0;
    served_stats.count[NEGATIVE]++;
    served_stats.ns[NEGATIVE] += now_ns() - t0;
    return 1;
  }
  struct stat st;
  if (!served_stat(e, &st)) return 0;
  char msg[OUT_HEADER + ENTRY_OUT] = {0};
  put_entry_out(msg + OUT_HEADER, e->node, &names.valid, &st, e->shown_ino);
  // The kernel counts the lookup only if it took the reply (not when the
  // LOOKUP was interrupted meanwhile).
  if (send_reply(devfd, msg, sizeof msg, unique, 0) == 0) e->pending++;
  if (!S_ISDIR(st.st_mode)) served_file_lookups++;
  served_stats.count[LOOKUP]++;
  served_stats.ns[LOOKUP] += now_ns() - t0;
  return 1;
}

// GETATTR of a node with a served name, not through an open file: 1 when
// answered here (the attributes the getattr search finds), as attr.ts would.
#define FUSE_GETATTR_FH 1
#define ATTR_OUT 104
static int serve_getattr(int devfd, const char *req, size_t n) {
  struct in_head h;
  uint32_t flags;
  if (!read_in_head(req, n, &h) || h.len < IN_HEADER + 16) return 0;
  uint64_t unique = h.unique, node = h.node;
  memcpy(&flags, req + IN_HEADER, 4);
  if (flags & FUSE_GETATTR_FH) return 0;
  double t0 = now_ns();
  struct served_name *e = node_entry(node);
  struct stat st;
  if (!e || !served_stat(e, &st)) return 0;
  char msg[OUT_HEADER + ATTR_OUT] = {0};
  char *o = msg + OUT_HEADER;
  put_u64(o, names.valid.attr_sec);
  put_u32(o + 8, names.valid.attr_nsec);
  put_attr(o + 16, &st, e->shown_ino);
  send_reply(devfd, msg, sizeof msg, unique, 0);
  served_stats.count[GETATTR]++;
  served_stats.ns[GETATTR] += now_ns() - t0;
  return 1;
}

// LOOKUP or GETATTR answered here? 1 when it was.
// unlinkat of a branch-relative path beneath the branch root (the
// directory part walked as stat_beneath walks it). 0 or -errno.
static int unlink_beneath(int rootfd, const char *path) {
  int dirfd;
  const char *last;
  if (resolve_parent(rootfd, path, &dirfd, &last) != 0) return -errno;
  int r = unlinkat(dirfd, last, 0) == 0 ? 0 : -errno;
  if (dirfd != rootfd) close(dirfd);
  return r;
}

// The branches the action policy epall acts on for `path` (policies/
// filters.ts): those whose mode allows actions (RW, NC), that have the path
// and are not mounted read-only, in list order, into targets[] (with their
// stats into sts[] when given). Their count; with none, *reason says why
// (EROFS > ENOENT); -1 when a probe failed in a way the policy would report
// (JS says it). Nothing is changed until every branch has been probed.
static int epall_targets(const char *path, int *targets, struct stat *sts, int *reason) {
  int count = 0;
  *reason = ENOENT;
  for (int b = 0; b < names.nbranches; b++) {
    struct stat st;
    if (names.action_mode[b] != 1) { *reason = EROFS; continue; } // RO: excluded before the path is looked at
    int r = stat_beneath(names.branch_fd[b], path, &st);
    if (missing(r)) continue;
    if (r < 0) return -1;
    struct statvfs vfs;
    if (fstatvfs(names.branch_fd[b], &vfs) != 0) return -1;
    if (vfs.f_flag & ST_RDONLY) { *reason = EROFS; continue; }
    if (sts) sts[count] = st;
    targets[count++] = b;
  }
  return count;
}

// UNLINK below a registered directory, with the action policy epall, as
// ops/remove.ts does it: every branch whose mode allows actions, that has the
// path and is not mounted read-only, is acted on; any success wins, else the
// first failure; with no branch acted on, the strongest reason one was left
// out (EROFS > ENOENT, policies/filters.ts). 2 when answered here (JS then
// only forgets the name: the request is delivered to it marked answered),
// 0 when JS should have it. Only while the directory is still at its
// registered path (served_stat), as for a negative LOOKUP: a stale path
// would name another file.
static int serve_unlink(int devfd, const char *req, size_t n) {
  struct in_head h;
  const char *name;
  size_t namelen;
  if (!names.unlinks || !read_in_head(req, n, &h) || !(namelen = request_name(req, &h, &name))) return 0;
  uint64_t unique = h.unique, parent = h.node;
  double t0 = now_ns();
  char path[PATH_MAX];
  int targets[MAX_BRANCHES], reason;
  if (!served_child_path(parent, name, namelen, path)) return 0;
  int count = epall_targets(path, targets, NULL, &reason);
  if (count < 0) return 0;
  int first_err = 0, ok = 0;
  for (int k = 0; k < count; k++) {
    int u = unlink_beneath(names.branch_fd[targets[k]], path);
    if (u == 0) ok = 1;
    else if (!first_err) first_err = -u;
  }
  char msg[OUT_HEADER] = {0};
  send_reply(devfd, msg, OUT_HEADER, unique, ok ? 0 : count ? first_err : reason);
  served_stats.count[UNLINK]++;
  served_stats.ns[UNLINK] += now_ns() - t0;
  return 2;
}

// SETATTR of a served node's owner, mode or times (not its size, not
// through a handle, not a suid/sgid kill with bits to clear), with chown,
// chmod and utimens all epall, as ops/attr.ts setattr does it: owner, then mode, then times, each
// on every branch epall picks, mixed results folded by the branch the
// getattr search reports (fold.ts preferSearch: the file's registered branch,
// which served_stat checks is the one ff finds), the first failing step ending
// the request; then the attributes the search finds. Symlinks go to JS.
// 1 when answered here.
#define FATTR_MODE 1
#define FATTR_UID 2
#define FATTR_GID 4
#define FATTR_ATIME 16
#define FATTR_MTIME 32
#define FATTR_ATIME_NOW 128
#define FATTR_MTIME_NOW 256
#define FATTR_LOCKOWNER 512
#define FATTR_CTIME 1024
#define FATTR_KILL_SUIDGID 2048
#define SETATTR_IN 88
#define SERVED_FATTRS (FATTR_MODE | FATTR_UID | FATTR_GID | FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)

// One step on every target: the folded result, 0 or an errno.
static int act_on_targets(const char *path, const int *targets, int count, int search_branch, int step, const struct timespec *ts, uint32_t uid, uint32_t gid, mode_t mode) {
  int oks = 0, first = 0, at_search = -1;
  for (int k = 0; k < count; k++) {
    int dirfd, r;
    const char *last;
    if (resolve_parent(names.branch_fd[targets[k]], path, &dirfd, &last) != 0) r = errno;
    else {
      if (step == FATTR_UID) r = fchownat(dirfd, last, uid, gid, AT_SYMLINK_NOFOLLOW);
      else if (step == FATTR_MODE) r = fchmodat(dirfd, last, mode, AT_SYMLINK_NOFOLLOW);
      else r = utimensat(dirfd, last, ts, AT_SYMLINK_NOFOLLOW);
      r = r == 0 ? 0 : errno;
      if (dirfd != names.branch_fd[targets[k]]) close(dirfd);
    }
    if (r == 0) oks++;
    if (k == 0) first = r;
    if (targets[k] == search_branch) at_search = r;
  }
  if (oks == 0 || oks == count) return first;
  return at_search >= 0 ? at_search : ENOENT; // mixed: the searched branch's result (none acted on there: nothing to report)
}

static int serve_setattr(int devfd, const char *req, size_t n) {
  struct in_head h;
  uint32_t valid;
  if (!names.setattrs || !read_in_head(req, n, &h) || h.len < IN_HEADER + SETATTR_IN) return 0;
  const char *in = req + IN_HEADER;
  memcpy(&valid, in, 4);
  if (!(valid & SERVED_FATTRS) || (valid & ~(SERVED_FATTRS | FATTR_LOCKOWNER | FATTR_CTIME | FATTR_KILL_SUIDGID))) return 0;
  double t0 = now_ns();
  struct served_name *e = node_entry(h.node);
  struct stat st, sts[MAX_BRANCHES];
  if (!e || e->type == S_IFLNK || !served_stat(e, &st)) return 0;
  uint32_t uid, gid, mode;
  memcpy(&uid, in + 76, 4);
  memcpy(&gid, in + 80, 4);
  memcpy(&mode, in + 68, 4);
  // FATTR_KILL_SUIDGID (the kernel sends it with every chown of a file):
  // attr.ts clears suid/sgid after owner and mode changed (killpriv.ts). A
  // file without them, before and after its mode changes, has none to
  // clear; the rest is JS's.
  if (valid & FATTR_KILL_SUIDGID && S_ISREG(st.st_mode) && ((st.st_mode & 06000) || (valid & FATTR_MODE && mode & 06000))) return 0;
  const char *path = e->name + e->namelen + 1;
  int targets[MAX_BRANCHES], reason;
  int count = epall_targets(path, targets, sts, &reason);
  if (count < 0) return 0;
  for (int k = 0; k < count; k++)
    if (S_ISLNK(sts[k].st_mode)) return 0; // a symlink on another branch: chmod would follow it
  int err = count ? 0 : reason;
  if (!err && valid & (FATTR_UID | FATTR_GID))
    err = act_on_targets(path, targets, count, e->branch, FATTR_UID, NULL, valid & FATTR_UID ? uid : (uint32_t)-1, valid & FATTR_GID ? gid : (uint32_t)-1, 0);
  if (!err && valid & FATTR_MODE) err = act_on_targets(path, targets, count, e->branch, FATTR_MODE, NULL, 0, 0, mode & 07777);
  if (!err && valid & (FATTR_ATIME | FATTR_MTIME | FATTR_ATIME_NOW | FATTR_MTIME_NOW)) {
    struct timespec ts[2];
    uint64_t sec[2];
    uint32_t nsec[2];
    memcpy(&sec[0], in + 32, 8);
    memcpy(&sec[1], in + 40, 8);
    memcpy(&nsec[0], in + 56, 4);
    memcpy(&nsec[1], in + 60, 4);
    for (int i = 0; i < 2; i++) {
      uint32_t set = i ? FATTR_MTIME : FATTR_ATIME, now = i ? FATTR_MTIME_NOW : FATTR_ATIME_NOW;
      ts[i].tv_sec = valid & set ? (time_t)(int64_t)sec[i] : 0;
      ts[i].tv_nsec = valid & now ? UTIME_NOW : valid & set ? (long)nsec[i] : UTIME_OMIT;
    }
    err = act_on_targets(path, targets, count, e->branch, FATTR_ATIME, ts, 0, 0, 0);
  }
  char msg[OUT_HEADER + ATTR_OUT] = {0};
  if (!err) err = -stat_beneath(names.branch_fd[e->branch], path, &st);
  if (err) {
    send_reply(devfd, msg, OUT_HEADER, h.unique, err);
  } else {
    put_u64(msg + OUT_HEADER, names.valid.attr_sec);
    put_u32(msg + OUT_HEADER + 8, names.valid.attr_nsec);
    put_attr(msg + OUT_HEADER + 16, &st, e->shown_ino);
    send_reply(devfd, msg, sizeof msg, h.unique, 0);
  }
  served_stats.count[SETATTR]++;
  served_stats.ns[SETATTR] += now_ns() - t0;
  return 1;
}

// serveSetattrs(modes): SETATTR of owner, mode and times answered here from
// now on (chown, chmod and utimens are epall), modes as for unlinkModes
// (one byte per branch: 1 RW or NC, 2 RO); null: JS answers them.
static napi_value js_serve_setattrs(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  void *modes;
  size_t nmodes;
  if (get_args(env, info, 1, argv) != 0) return NULL;
  names.setattrs = 0;
  if (get_buffer_quiet(env, argv[0], &modes, &nmodes) != 0) return make_num(env, 0);
  if (nmodes != (size_t)names.nbranches) return make_num(env, -EINVAL);
  memcpy(names.action_mode, modes, nmodes);
  names.setattrs = 1;
  return make_num(env, 0);
}

// GETXATTR of security.capability for a node with a served name, as
// ops/xattr.ts answers it (ENODATA with security_capability=false; else the
// attribute of the file the search finds, which must be the registered one).
static const char CAPABILITY_NAME[] = "security.capability";
static int serve_capability(int devfd, const char *req, size_t n) {
  struct in_head h;
  uint32_t size;
  if (!names.capability || !read_in_head(req, n, &h) || h.len < IN_HEADER + 8 + sizeof CAPABILITY_NAME) return 0;
  uint64_t unique = h.unique, node = h.node;
  memcpy(&size, req + IN_HEADER, 4);
  if (memcmp(req + IN_HEADER + 8, CAPABILITY_NAME, sizeof CAPABILITY_NAME) != 0) return 0;
  double t0 = now_ns();
  char msg[OUT_HEADER + 256];
  memset(msg, 0, OUT_HEADER + 8);
  long got;
  if (names.capability == 2) {
    got = -ENODATA;
  } else {
    struct served_name *e = node_entry(node);
    struct stat st;
    if (!e || !served_stat(e, &st) || size > 256 - 8) return 0;
    int dirfd;
    const char *last;
    if (resolve_parent(names.branch_fd[e->branch], e->name + e->namelen + 1, &dirfd, &last) != 0) return 0;
    char *value = msg + OUT_HEADER;
    struct braid_xattr_args a = { (uint64_t)(uintptr_t)(size ? value : NULL), size, 0 };
    got = -1;
    if (have_xattrat) got = syscall(SYS_getxattrat, dirfd, last, AT_SYMLINK_NOFOLLOW, CAPABILITY_NAME, &a, sizeof a);
    if (!have_xattrat || (got < 0 && errno == ENOSYS)) {
      char proc[PATH_MAX + 64];
      got = snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", dirfd, last) < (int)sizeof proc ? lgetxattr(proc, CAPABILITY_NAME, size ? value : NULL, size) : -1;
    }
    if (got < 0) got = -errno;
    if (dirfd != names.branch_fd[e->branch]) close(dirfd);
  }
  if (got < 0) send_reply(devfd, msg, OUT_HEADER, unique, (int)-got);
  else if (size == 0) {
    put_u32(msg + OUT_HEADER, (uint32_t)got); // struct fuse_getxattr_out: the size it would take
    send_reply(devfd, msg, OUT_HEADER + 8, unique, 0);
  } else {
    send_reply(devfd, msg, OUT_HEADER + (size_t)got, unique, 0);
  }
  served_stats.count[CAPABILITY]++;
  served_stats.ns[CAPABILITY] += now_ns() - t0;
  return 1;
}

// ---------------------------------------------------------------------------
// Directory handles opened here. A walk (find, du, rm -rf) opens, lists
// and closes every directory: OPENDIR, one READDIR(PLUS) with the whole
// listing, one more that finds the end, RELEASEDIR. The other three are
// answered here; so is the listing itself when it goes out names-only and
// gives no node ("Listings made here" below). JS keeps the merge rules,
// readdirplus=auto's decisions and the node table.
// - OPENDIR of a served directory, found again by the getattr search as the
//   registered one (as a LOOKUP is), opens it on that branch, as dir.ts
//   opendir does (the first branch that has it), and answers with an fh of
//   its own range (ADDON_DIR_FH and up; JS numbers its handles from 1).
// - JS takes a handle over at its first use (adoptDir): the fd becomes
//   JS's, and JS's DirHandle keeps this fh. Whenever JS answers a READDIR
//   that reaches the end of its listing it says where that end is
//   (dirListingEnd), and the READDIR that asks from there gets the empty
//   reply here. JS keeps every other offset, rewinds included.
// - RELEASEDIR closes a handle JS never took; one JS took is answered here
//   and delivered to JS marked answered, to close it.
// JS thread only.

#define FUSE_OP_OPENDIR 27
#define FUSE_OP_READDIR 28
#define FUSE_OP_RELEASEDIR 29
#define FUSE_OP_READDIRPLUS 44
#define ADDON_DIR_FH (1ull << 40)
#define NO_END UINT64_MAX

struct served_dir {
  uint64_t fh;   // first: 0 marks a free slot
  uint64_t node;
  uint64_t end;  // the offset where the listing given ends, or NO_END
  int fd;        // -1 once JS took the handle over
  int branch;
  unsigned char *listing; // a listing made here (readdirMergedSync's packed form), or NULL
  size_t listing_len;
};
static uint64_t served_dir_hash(const void *e) { return fh_hash(((const struct served_dir *)e)->fh); }
static int served_dir_is(const void *e, const void *fh) { return ((const struct served_dir *)e)->fh == *(const uint64_t *)fh; }
static struct oa_table dir_table = { NULL, sizeof(struct served_dir), 0, 0, 64, served_dir_hash };
static uint64_t next_dir_fh = ADDON_DIR_FH;
// fuse_open_out open_flags for OPENDIR (cache.readdir), or -1: JS answers OPENDIR.
static int dir_open_flags = -1;

static struct served_dir *dir_find(uint64_t fh) { return fh >= ADDON_DIR_FH ? oa_find(&dir_table, fh_hash(fh), served_dir_is, &fh) : NULL; }

// O_RDONLY | O_DIRECTORY open of a branch-relative path beneath the root, or -1.
static int open_dir_rdonly(int rootfd, const char *path) {
  int dirfd;
  const char *last;
  if (resolve_parent(rootfd, path, &dirfd, &last) != 0) return -1;
  int fd = openat(dirfd, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dirfd != rootfd) close(dirfd);
  return fd;
}

// OPENDIR of a served directory: 1 when answered here.
static int serve_opendir(int devfd, const char *req, size_t n) {
  struct in_head h;
  if (dir_open_flags < 0 || !read_in_head(req, n, &h)) return 0;
  double t0 = now_ns();
  struct served_name *e = node_entry(h.node);
  struct stat st, opened;
  if (!e || e->type != S_IFDIR || !served_stat(e, &st)) return 0;
  int fd = open_dir_rdonly(names.branch_fd[e->branch], e->name + e->namelen + 1);
  if (fd < 0) return 0;
  // Still the directory the search found (not one renamed into its place meanwhile).
  struct served_dir *d = NULL;
  if (fstat(fd, &opened) != 0 || opened.st_dev != st.st_dev || opened.st_ino != st.st_ino || !(d = oa_add(&dir_table, fh_hash(next_dir_fh)))) {
    close(fd);
    return 0;
  }
  *d = (struct served_dir){ next_dir_fh++, h.node, NO_END, fd, e->branch, NULL, 0 };
  char msg[OUT_HEADER + 16] = {0};
  put_u64(msg + OUT_HEADER, d->fh);
  put_u32(msg + OUT_HEADER + 8, (uint32_t)dir_open_flags);
  if (send_reply(devfd, msg, sizeof msg, h.unique, 0) != 0) {
    // Interrupted: the kernel will never release this fh.
    close(fd);
    oa_remove(&dir_table, d);
    return 1;
  }
  served_stats.count[OPENDIR]++;
  served_stats.ns[OPENDIR] += now_ns() - t0;
  return 1;
}

// Listings made here: the first READDIRPLUS (or READDIR) of a handle opened
// here, names only, while JS allows it (native.serveListings: readdirplus=
// false, or readdirplus=auto while walks do not stat what they list), of a
// directory without subdirectories (a names-only READDIRPLUS gives those
// their attributes, and so a node, which is JS's to make). The same merge as dir.ts's
// packedListing (readdirMergedSync's code, over the handle's fd and the
// directory's path on the other branches), the same names-only records as
// dir.ts's readdirplus for kind 'names'; the listing is kept with the handle
// so that JS, should it take the handle over, goes on from the same one.
// Each listing is logged for JS's PlusAdvisor, which reads the log before it
// decides anything (takeListings); when the log is full, listings go to JS.
#define WHOLE_NAMES_ONLY 16384 // dir.ts WHOLE_NAMES_ONLY
#define LISTED_LOG 256
static struct {
  int on;
  int calc;                                  // inodecalc's listing code
  unsigned char seeds[8 * MAX_BRANCHES];     // each branch's devino seed
  uint64_t log[3 * LISTED_LOG];              // [dir node, non-directory names, served_file_lookups then]
  unsigned logged;
} listings;

static void dir_free_listing(struct served_dir *d) {
  free(d->listing);
  d->listing = NULL;
  d->listing_len = 0;
}

#define NAMES_ONLY_BATCH 4096 // dir.ts NAMES_ONLY_BATCH

// The end of the entries from `from` whose records fit in `size` bytes, and
// their size in *bytes (dir.ts fitting()).
static size_t batch_end(const struct merge_out *m, size_t from, int plus, size_t size, size_t *bytes) {
  size_t i = from;
  *bytes = 0;
  for (; i < m->count; i++) {
    size_t rec = rec_size(rec_namelen(m->buf + m->offs[i]), plus);
    if (*bytes + rec > size) break;
    *bytes += rec;
  }
  return i;
}

// The first batch of a listing, made here: 1 when answered, 0 for JS.
static int serve_listing(int devfd, struct served_dir *d, uint64_t unique, uint32_t size, int plus) {
  if (!listings.on || !names.enabled || listings.logged == LISTED_LOG || d->fd < 0) return 0;
  struct served_name *e = node_entry(d->node);
  if (!e || e->type != S_IFDIR || d->branch >= names.nbranches) return 0;
  double t0 = now_ns();
  const char *path = e->name + e->namelen + 1;
  int fds[MAX_BRANCHES], ok = 1;
  for (int b = 0; b < names.nbranches; b++) {
    if (b == d->branch) { fds[b] = d->fd; continue; }
    fds[b] = open_dir_rdonly(names.branch_fd[b], path);
    if (fds[b] < 0 && !missing(-errno)) ok = 0; // an error JS reports (or lists around)
  }
  struct merge_out m = {0};
  ok = ok && merge_dirs(fds, (unsigned)names.nbranches, &m) == 0;
  for (int b = 0; b < names.nbranches; b++)
    if (b != d->branch && fds[b] >= 0) close(fds[b]);
  // What the first reply holds, as dir.ts decides it: a READDIR as much as
  // fits; a names-only READDIRPLUS all of it if that fits in
  // WHOLE_NAMES_ONLY, else NAMES_ONLY_BATCH worth (namesOnlyBatch). The rest
  // is sent from the kept listing (serve_readdir).
  size_t bytes = 0;
  size_t end = ok ? batch_end(&m, 0, plus, plus ? (size < WHOLE_NAMES_ONLY ? size : WHOLE_NAMES_ONLY) : size, &bytes) : 0;
  if (plus && end < m.count) end = batch_end(&m, 0, plus, size < NAMES_ONLY_BATCH ? size : NAMES_ONLY_BATCH, &bytes);
  uint64_t nondirs = 0;
  int subdirs = 0;
  for (size_t i = 0; i < end; i++) {
    const unsigned char *r = m.buf + m.offs[i];
    uint32_t type;
    memcpy(&type, r + 20, 4);
    if (type != DT_DIR) nondirs++;
    else if (!rec_is_dot(r)) subdirs++;
  }
  // A names-only READDIRPLUS gives directories their attributes (dir.ts
  // withoutAttributes), which takes a node for each: JS's.
  if (plus && subdirs) ok = 0;
  // Nothing fits (a name longer than the reply): JS says so.
  unsigned char *packed = ok && (end > 0 || m.count == 0) ? malloc(merge_packed_size(&m)) : NULL;
  char *msg = packed ? malloc(OUT_HEADER + bytes) : NULL;
  if (!msg) {
    free(packed);
    merge_free(&m);
    return 0;
  }
  merge_finish(&m, listings.calc, listings.seeds, path, strlen(path));
  char *o = msg + OUT_HEADER;
  if (!plus) {
    memcpy(o, m.buf, bytes); // the records are struct fuse_dirent already
  } else {
    for (size_t i = 0; i < end; i++) {
      const unsigned char *r = m.buf + m.offs[i];
      size_t nl = rec_namelen(r), rec = rec_size(nl, 1);
      memset(o, 0, rec); // nodeid 0: the name only, no lookup
      memcpy(o + ENTRY_OUT, r, DIRENT_HEAD + nl);
      o += rec;
    }
  }
  merge_pack(&m, packed);
  dir_free_listing(d);
  d->listing = packed;
  d->listing_len = merge_packed_size(&m);
  d->end = m.count;
  merge_free(&m);
  send_reply(devfd, msg, OUT_HEADER + bytes, unique, 0);
  free(msg);
  if (plus) {
    uint64_t *l = listings.log + 3 * listings.logged++;
    l[0] = d->node;
    l[1] = nondirs;
    l[2] = (uint64_t)served_file_lookups;
  }
  served_stats.count[LISTING]++;
  served_stats.ns[LISTING] += now_ns() - t0;
  return 1;
}

// A later READDIR of a listing made here: the records from `off` that fit,
// as dir.ts readdir sends them from the same listing. 1 when answered here.
static int serve_listing_rest(int devfd, const struct served_dir *d, uint64_t unique, uint64_t off, uint32_t size) {
  const unsigned char *L = d->listing;
  uint32_t count, len, start, stop;
  memcpy(&count, L, 4);
  memcpy(&len, L + 4, 4);
  if (off >= count) return 0;
  double t0 = now_ns();
  const unsigned char *offs = L + 8 + len; // count + 1 record offsets, the last one len
  memcpy(&start, offs + 4 * off, 4);
  stop = start;
  for (uint64_t i = off; i < count; i++) {
    uint32_t next;
    memcpy(&next, offs + 4 * (i + 1), 4);
    if (next - start > size) break;
    stop = next;
  }
  char *msg = stop > start ? malloc(OUT_HEADER + (stop - start)) : NULL;
  if (!msg) return 0; // nothing fits (JS says so), or no memory
  memcpy(msg + OUT_HEADER, L + 8 + start, stop - start);
  send_reply(devfd, msg, OUT_HEADER + (stop - start), unique, 0);
  free(msg);
  served_stats.count[READDIR_LATER]++;
  served_stats.ns[READDIR_LATER] += now_ns() - t0;
  return 1;
}

// READDIR(PLUS) of a handle opened here: at the end of the listing given,
// the empty reply that tells the kernel it is over; at offset 0, a listing
// made here when it can be; a READDIR after that, the listing's next batch.
// 1 when answered here.
static int serve_readdir(int devfd, const char *req, size_t n, int plus) {
  struct in_head h;
  uint64_t fh, off;
  uint32_t size;
  if (!read_in_head(req, n, &h) || h.len < IN_HEADER + 20) return 0;
  memcpy(&fh, req + IN_HEADER, 8);
  memcpy(&off, req + IN_HEADER + 8, 8);
  memcpy(&size, req + IN_HEADER + 16, 4);
  struct served_dir *d = dir_find(fh);
  if (!d) return 0;
  if (off == 0) return serve_listing(devfd, d, h.unique, size, plus);
  // READDIRPLUS after the first batch: the kernel wants attributes (JS's).
  if (!plus && d->listing && off < d->end) return serve_listing_rest(devfd, d, h.unique, off, size);
  if (d->end != off) return 0;
  double t0 = now_ns();
  char msg[OUT_HEADER];
  send_reply(devfd, msg, OUT_HEADER, h.unique, 0);
  served_stats.count[READDIR_LATER]++;
  served_stats.ns[READDIR_LATER] += now_ns() - t0;
  return 1;
}

// serveListings(on, calc, seeds): listings of handles opened here are made
// here (see serve_listing) while on; calc and seeds as readdirMergedSync
// takes them, for the branches serving started with.
static napi_value js_serve_listings(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  bool on;
  int32_t calc;
  void *seeds;
  size_t seeds_len;
  if (get_args(env, info, 3, argv) != 0 || napi_get_value_bool(env, argv[0], &on) != napi_ok || get_i32(env, argv[1], &calc) != 0 ||
      get_buffer(env, argv[2], &seeds, &seeds_len) != 0) return NULL;
  if (seeds_len > sizeof listings.seeds) return make_num(env, -EINVAL);
  memcpy(listings.seeds, seeds, seeds_len);
  listings.calc = calc;
  listings.on = on;
  return make_num(env, 0);
}

// takeListings() → the log of listings made here since the last call, as a
// BigUint64Array of [dir node, non-directory names, served file lookups then]
// per listing, or null when there were none.
static napi_value js_take_listings(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value ab, out;
  void *data;
  if (listings.logged == 0) {
    napi_get_null(env, &out);
    return out;
  }
  size_t bytes = 3 * 8 * (size_t)listings.logged;
  NAPI_CALL(env, napi_create_arraybuffer(env, bytes, &data, &ab));
  memcpy(data, listings.log, bytes);
  NAPI_CALL(env, napi_create_typedarray(env, napi_biguint64_array, 3 * (size_t)listings.logged, ab, 0, &out));
  listings.logged = 0;
  return out;
}

// RELEASEDIR of a handle opened here: 1 when answered (JS never took it),
// 2 when answered and JS has its DirHandle to close, 0 for JS's own handles.
static int serve_releasedir(int devfd, const char *req, size_t n) {
  struct in_head h;
  uint64_t fh;
  if (!read_in_head(req, n, &h) || h.len < IN_HEADER + 8) return 0;
  memcpy(&fh, req + IN_HEADER, 8);
  struct served_dir *d = dir_find(fh);
  if (!d) return 0;
  double t0 = now_ns();
  int js = d->fd < 0;
  if (!js) close(d->fd);
  dir_free_listing(d);
  oa_remove(&dir_table, d);
  char msg[OUT_HEADER];
  send_reply(devfd, msg, OUT_HEADER, h.unique, 0);
  served_stats.count[RELEASEDIR]++;
  served_stats.ns[RELEASEDIR] += now_ns() - t0;
  return js ? 2 : 1;
}

// serveDirs(openFlags): OPENDIR of served directories is answered here from
// now on, with these fuse_open_out flags; serveDirs(-1): no more (handles
// already given out keep being served: they need no branch or policy).
static napi_value js_serve_dirs(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t flags;
  if (get_args(env, info, 1, argv) != 0 || get_i32(env, argv[0], &flags) != 0) return NULL;
  dir_open_flags = flags < 0 ? -1 : flags;
  return NULL;
}

// adoptDir(fh) → [node, branch, fd, listing?] of a handle opened here, which
// JS owns from now on (the fd included), with the listing made here if any
// (readdirMergedSync's packed form: JS goes on from it), or null when there
// is no such handle.
static napi_value js_adopt_dir(napi_env env, napi_callback_info info) {
  napi_value argv[1], out, v;
  int64_t fh;
  if (get_args(env, info, 1, argv) != 0 || get_i64(env, argv[0], &fh) != 0) return NULL;
  struct served_dir *d = fh > 0 ? dir_find((uint64_t)fh) : NULL;
  if (!d || d->fd < 0) {
    napi_get_null(env, &out);
    return out;
  }
  NAPI_CALL(env, napi_create_array_with_length(env, 4, &out));
  NAPI_CALL(env, napi_create_bigint_uint64(env, d->node, &v));
  napi_set_element(env, out, 0, v);
  napi_set_element(env, out, 1, make_num(env, d->branch));
  napi_set_element(env, out, 2, make_num(env, d->fd));
  if (d->listing) {
    void *copy;
    if (napi_create_buffer_copy(env, d->listing_len, d->listing, &copy, &v) == napi_ok) napi_set_element(env, out, 3, v);
    dir_free_listing(d);
  }
  d->fd = -1;
  return out;
}

// dirHandlesOf(node) → the fhs of handles opened here for `node` that JS has
// not taken over (a directory that lost its name is reached through them).
static napi_value js_dir_handles_of(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  uint64_t node;
  bool lossless;
  if (get_args(env, info, 1, argv) != 0) return NULL;
  if (napi_get_value_bigint_uint64(env, argv[0], &node, &lossless) != napi_ok) {
    napi_throw_type_error(env, NULL, "braidfs native: dirHandlesOf wants a bigint");
    return NULL;
  }
  NAPI_CALL(env, napi_create_array(env, &out));
  uint32_t k = 0;
  for (size_t i = 0; i < dir_table.cap; i++) {
    const struct served_dir *d = oa_at(&dir_table, i);
    if (oa_live(&dir_table, i) && d->node == node && d->fd >= 0) napi_set_element(env, out, k++, make_num(env, (double)d->fh));
  }
  return out;
}

// dirListingEnd(fh, end): JS's listing of a handle it took over ends at
// offset `end` (-1: JS did not reach the end; it answers every READDIR).
static napi_value js_dir_listing_end(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t fh, end;
  if (get_args(env, info, 2, argv) != 0 || get_i64(env, argv[0], &fh) != 0 || get_i64(env, argv[1], &end) != 0) return NULL;
  struct served_dir *d = fh > 0 ? dir_find((uint64_t)fh) : NULL;
  if (d) d->end = end < 0 ? NO_END : (uint64_t)end;
  return NULL;
}

// A request answered here? 1: yes; 2: yes, and JS still has bookkeeping to
// do (it gets the request marked answered); 0: JS answers it.
static int serve_name_op(int devfd, const char *req, size_t n) {
  if (n < IN_HEADER) return 0;
  uint32_t op;
  memcpy(&op, req + 4, 4);
  // Handles given out stay served after serving stops (they need no branch or policy).
  if (op == FUSE_OP_READDIR || op == FUSE_OP_READDIRPLUS) return serve_readdir(devfd, req, n, op == FUSE_OP_READDIRPLUS);
  if (op == FUSE_OP_RELEASEDIR) return serve_releasedir(devfd, req, n);
  if (!names.enabled) return 0;
  if (op == FUSE_OP_OPENDIR) return serve_opendir(devfd, req, n);
  if (op == FUSE_OP_SETATTR) return serve_setattr(devfd, req, n);
  if (op == FUSE_OP_LOOKUP) return serve_lookup(devfd, req, n);
  if (op == FUSE_OP_GETATTR) return serve_getattr(devfd, req, n);
  if (op == FUSE_OP_UNLINK) return serve_unlink(devfd, req, n);
  if (op == FUSE_OP_GETXATTR) return serve_capability(devfd, req, n);
  return 0;
}

// readdirPlusSync(listing, from, end, dirFds, out, entrySec, attrSec, rel, calc, seeds, info, dirsOnly) → bytes written or -errno
//
// A READDIRPLUS reply for entries [from, end) of a readdirMergedSync result
// (`listing`), written into `out` (sized by the caller, as dir.ts fitting()
// sizes it): for each name an fstatat beneath its branch's directory fd
// (dirFds[branch index], an O_PATH fd of `rel` there, or -1), and a struct
// fuse_direntplus with the attributes, the shown inode number (inodecalc, as
// readdirMergedSync computes it, now from st_ino) and nodeid 0. JS then
// gives each stat'ed name its node (the node table is JS's) and writes the
// nodeid in. "." and "..", and names whose stat fails, go out without
// attributes (nodeid 0: the kernel takes the name only), as dir.ts does.
// info (BigUint64Array, 3 per entry): [st_dev, st_ino, st_mode | branch << 32],
// or zeros for a name sent without attributes. JS thread only.
static napi_value js_readdir_plus_sync(napi_env env, napi_callback_info info) {
  napi_value argv[12];
  bool dirs_only;
  if (get_args(env, info, 12, argv) != 0) return NULL;
  if (napi_get_value_bool(env, argv[11], &dirs_only) != napi_ok) {
    napi_throw_type_error(env, NULL, "braidfs native: readdirPlusSync dirsOnly");
    return NULL;
  }
  void *lst, *outp, *rel, *seeds, *infop;
  size_t lst_len, out_len, rl, seeds_len, info_len;
  uint32_t from, end, nfds;
  int32_t calc;
  double entry_s, attr_s;
  napi_typedarray_type it;
  napi_value ab;
  size_t ioff;
  if (get_buffer(env, argv[0], &lst, &lst_len) != 0 || get_buffer(env, argv[4], &outp, &out_len) != 0 || get_buffer(env, argv[7], &rel, &rl) != 0 ||
      get_buffer(env, argv[9], &seeds, &seeds_len) != 0) return NULL;
  if (napi_get_value_uint32(env, argv[1], &from) != napi_ok || napi_get_value_uint32(env, argv[2], &end) != napi_ok ||
      napi_get_array_length(env, argv[3], &nfds) != napi_ok || napi_get_value_double(env, argv[5], &entry_s) != napi_ok ||
      napi_get_value_double(env, argv[6], &attr_s) != napi_ok || get_i32(env, argv[8], &calc) != 0 ||
      napi_get_typedarray_info(env, argv[10], &it, &info_len, &infop, &ab, &ioff) != napi_ok || it != napi_biguint64_array) {
    napi_throw_type_error(env, NULL, "braidfs native: readdirPlusSync arguments");
    return NULL;
  }
  const unsigned char *L = lst;
  uint32_t count, len;
  if (lst_len < 8) return make_num(env, -EINVAL);
  memcpy(&count, L, 4);
  memcpy(&len, L + 4, 4);
  if ((size_t)8 + len + 4 * ((size_t)count + 1) + count > lst_len || from > end || end > count || info_len < 3 * (size_t)(end - from) ||
      nfds > MAX_BRANCHES || seeds_len < 8 * (size_t)nfds || entry_s < 0 || attr_s < 0) return make_num(env, -EINVAL);
  const unsigned char *recs = L + 8, *idx = L + 8 + len + 4 * ((size_t)count + 1);
  int fds[MAX_BRANCHES];
  for (uint32_t b = 0; b < nfds; b++) {
    napi_value el;
    if (napi_get_element(env, argv[3], b, &el) != napi_ok || get_i32(env, el, &fds[b]) != 0) return NULL;
  }
  struct timeouts t;
  split_secs(entry_s, &t.entry_sec, &t.entry_nsec);
  split_secs(attr_s, &t.attr_sec, &t.attr_nsec);
  uint64_t *inf = infop;
  char *out = outp;
  size_t at = 0;
  char name[NAME_MAX + 1];
  for (uint32_t i = from; i < end; i++) {
    uint32_t p, nl, type;
    memcpy(&p, L + 8 + len + 4 * (size_t)i, 4);
    const unsigned char *r = recs + p;
    memcpy(&nl, r + 16, 4);
    memcpy(&type, r + 20, 4);
    size_t rec = rec_size(nl, 1);
    if (at + rec > out_len) break;
    char *o = out + at, *d = o + ENTRY_OUT;
    memset(o, 0, rec);
    memcpy(d, r, DIRENT_HEAD + nl); // ino, off, namelen, type, name as listed
    uint64_t *slot = inf + 3 * (size_t)(i - from);
    slot[0] = slot[1] = slot[2] = 0;
    unsigned b = idx[i];
    int dot = rec_is_dot(r);
    struct stat st;
    if (!dot && nl <= NAME_MAX && b < nfds && fds[b] >= 0 && (!dirs_only || type == DT_DIR)) {
      memcpy(name, r + DIRENT_HEAD, nl);
      name[nl] = 0;
      if (fstatat(fds[b], name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        uint64_t shown = listed_ino(calc, seed_at(seeds, b), rel, rl, (const unsigned char *)name, nl, S_ISDIR(st.st_mode), (uint64_t)st.st_ino);
        put_entry_out(o, 0, &t, &st, shown);
        put_u64(d, shown);
        put_u32(d + 20, (uint32_t)(st.st_mode & S_IFMT) >> 12);
        slot[0] = (uint64_t)st.st_dev;
        slot[1] = (uint64_t)st.st_ino;
        slot[2] = (uint64_t)st.st_mode | ((uint64_t)b << 32);
      }
    }
    at += rec;
  }
  return make_num(env, (double)at);
}

// serveListedNames(parent, rel, out, bytes, info) registers the names of a
// READDIRPLUS reply written by readdirPlusSync (nodeids filled in by JS) as
// served names, as serveName would one by one; info[3k] then holds the
// pending count of the entry each replaced (JS adds it to the node).
static napi_value js_serve_listed_names(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (get_args(env, info, 5, argv) != 0) return NULL;
  uint64_t parent;
  bool lossless;
  void *rel, *outp, *infop;
  size_t rl, out_len, info_len, ioff;
  uint32_t bytes;
  napi_typedarray_type it;
  napi_value ab;
  if (napi_get_value_bigint_uint64(env, argv[0], &parent, &lossless) != napi_ok || get_buffer(env, argv[1], &rel, &rl) != 0 ||
      get_buffer(env, argv[2], &outp, &out_len) != 0 || napi_get_value_uint32(env, argv[3], &bytes) != napi_ok ||
      napi_get_typedarray_info(env, argv[4], &it, &info_len, &infop, &ab, &ioff) != napi_ok || it != napi_biguint64_array) {
    napi_throw_type_error(env, NULL, "braidfs native: serveListedNames arguments");
    return NULL;
  }
  if (bytes > out_len || rl == 0) return make_num(env, -EINVAL);
  const char *out = outp;
  uint64_t *inf = infop;
  size_t k = 0;
  for (size_t at = 0; at + DIRENTPLUS_HEAD <= bytes && 3 * k + 2 < info_len; k++) {
    const char *o = out + at, *d = o + ENTRY_OUT;
    uint32_t nl;
    uint64_t node, shown;
    memcpy(&nl, d + 16, 4);
    memcpy(&node, o, 8);
    memcpy(&shown, o + 40, 8);
    uint64_t *slot = inf + 3 * k;
    if (node != 0 && slot[2] != 0 && nl > 0 && !memchr(d + DIRENT_HEAD, 0, nl)) {
      int branch = (int)(slot[2] >> 32);
      uint32_t type = (uint32_t)slot[2] & S_IFMT;
      slot[0] = (uint64_t)name_register(parent, node, d + DIRENT_HEAD, nl, rel, rl, d + DIRENT_HEAD, nl, slot[0], slot[1], shown, type, branch);
    } else {
      slot[0] = 0;
    }
    at += rec_size(nl, 1);
  }
  return make_num(env, (double)k);
}

// servedStats() → [count, ms] of each kind answered here: READ, WRITE,
// LOOKUP (found), LOOKUP (nowhere), GETATTR (for SIGUSR2 stats).
static napi_value js_served_file_lookups(napi_env env, napi_callback_info info) {
  (void)info;
  return make_num(env, served_file_lookups);
}

static napi_value js_served_stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr;
  NAPI_CALL(env, napi_create_array_with_length(env, 2 * N_SERVED_KINDS, &arr));
  for (uint32_t i = 0; i < N_SERVED_KINDS; i++) {
    napi_set_element(env, arr, 2 * i, make_num(env, served_stats.count[i]));
    napi_set_element(env, arr, 2 * i + 1, make_num(env, served_stats.ns[i] / 1e6));
  }
  return arr;
}

// ---------------------------------------------------------------------------
// poll reader: /dev/fuse read on the event loop itself. The fd is made
// non-blocking and watched with uv_poll; when readable, requests are read
// until EAGAIN (at most a batch) and each goes to JS at once. Compared with
// the reader thread this saves a thread wake-up and an async hand-off per
// request, which dominates the cost of small metadata requests. Each call
// into JS goes through napi_make_callback, so promise continuations (and so
// replies) run before the next request is read.

struct poller {
  uv_poll_t handle;
  napi_env env;
  napi_ref cb;
  napi_async_context actx;
  int fd;
  size_t bufsize;
  char *buf;
  // Small requests (all but big WRITEs) are copied into `shared`, one JS
  // Buffer made once, and delivered as (shared, length, -1): JS copies what it
  // keeps from Node's buffer pool. A big request is read straight into a
  // free read slot, a JS Buffer made once per slot, and delivered as
  // (slot buffer, length, slot): no copy of a 1 MiB WRITE, no allocation and
  // no external memory for the GC to account per request. JS gives the slot
  // back (releaseReadSlot) once the request is answered.
  napi_ref shared;
  int stopped;
};

#define SHARED_SIZE (64 * 1024)
#define SLOTS 4

// Read slots: JS-thread only (poller callbacks and releaseReadSlot run there).
// They belong to the process, not to one poller: a daemon has one session.
static struct read_slot {
  char *data;
  size_t size;
  napi_ref buf;
  int busy;
} slots[SLOTS];

static void free_shared_buf(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  free(data);
}

// Makes the slots (once per process, for the first bufsize seen). On failure
// there are simply fewer slots: big requests then take the copying path.
static void make_slots(napi_env env, size_t size) {
  for (int i = 0; i < SLOTS; i++) {
    if (slots[i].data) continue;
    char *d = malloc(size);
    napi_value b;
    if (!d) return;
    if (napi_create_external_buffer(env, size, d, free_shared_buf, NULL, &b) != napi_ok) { free(d); return; }
    if (napi_create_reference(env, b, 1, &slots[i].buf) != napi_ok) return; // freed by the buffer's finalizer
    slots[i].data = d;
    slots[i].size = size;
    slots[i].busy = 0;
  }
}

static int free_slot(size_t size) {
  for (int i = 0; i < SLOTS; i++)
    if (slots[i].data && !slots[i].busy && slots[i].size >= size) return i;
  return -1;
}

static void poller_close_cb(uv_handle_t *h) {
  struct poller *p = h->data;
  free(p->buf);
  free(p);
}

// Delivers the `len` bytes at `data` (p->buf or slot `slot`'s), or, with len
// 0 and err, the end.
// The slot argument JS gets for a request the addon has answered, delivered
// for JS's bookkeeping only (a small request: never in a read slot).
#define ANSWERED (-2)

static void poller_deliver(struct poller *p, const char *data, size_t len, int slot, int err) {
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[4], cb, recv;
  napi_get_reference_value(env, p->cb, &cb);
  napi_get_global(env, &recv); // napi_make_callback wants an object as `this`
  int given = -1;
  if (err == 0 && len > SHARED_SIZE && slot >= 0) {
    napi_get_reference_value(env, slots[slot].buf, &argv[0]);
    slots[slot].busy = 1;
    given = slot;
  } else if (err == 0 && len > SHARED_SIZE) {
    // Every slot still busy (several big requests in flight): a copy.
    void *copy;
    if (napi_create_buffer_copy(env, len, data, &copy, &argv[0]) != napi_ok) err = ENOMEM;
  } else if (err == 0) {
    napi_get_reference_value(env, p->shared, &argv[0]);
    void *shared;
    size_t cap;
    napi_get_buffer_info(env, argv[0], &shared, &cap);
    memcpy(shared, data, len);
  }
  if (err) napi_get_null(env, &argv[0]);
  argv[1] = make_num(env, err);
  argv[2] = make_num(env, (int64_t)len);
  argv[3] = make_num(env, slot == ANSWERED ? ANSWERED : given);
  dircache_clear(); // a new request: directory fds cached for the last one may name something else now
  napi_value result;
  napi_make_callback(env, p->actx, recv, cb, 4, argv, &result);
  napi_close_handle_scope(env, scope);
}

// releaseReadSlot(slot): the request delivered in that slot has been answered.
static napi_value js_release_read_slot(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv) != 0) return NULL;
  int slot;
  if (get_i32(env, argv[0], &slot) != 0) return NULL;
  if (slot >= 0 && slot < SLOTS) slots[slot].busy = 0;
  return NULL;
}

static void poller_stop(struct poller *p, int err) {
  if (p->stopped) return;
  p->stopped = 1;
  uv_poll_stop(&p->handle);
  poller_deliver(p, NULL, 0, -1, err ? err : ENODEV);
  napi_delete_reference(p->env, p->cb);
  napi_delete_reference(p->env, p->shared);
  napi_async_destroy(p->env, p->actx);
  uv_close((uv_handle_t *)&p->handle, poller_close_cb);
}

// poll-spin: after a burst of requests, keep reading for this long before
// going back to epoll. A caller that makes one request after another (stat,
// du, small random reads) sends its next one within microseconds of our
// reply; finding us awake, the kernel need not wake us, and we skip the
// sleep and the context switch. Both cost tens of µs per request on a VM
// (measured: du over 111k files 5.2 s -> 3.0 s; 4 KiB random reads 1.8x).
// The spin starts only after a request was served, so an idle mount costs
// nothing, and the loop still returns to libuv after 64 requests. Every
// pause between two requests gets the whole spin (it once got it only
// once per wake-up, so most of a walk's requests found the daemon asleep:
// find over 1,100 directories 240 -> 170 ms). Between reads it yields the
// CPU, so a caller woken on this CPU runs at once instead of waiting for us
// to stop spinning.
// It does not spin after a big request (a WRITE read into a read slot): its
// caller must copy its next block (a 1 MiB copy takes 100 µs or more) before
// it can send it, so the spin would mostly expire, and meanwhile it takes a
// CPU from that caller and from the writeback that follows (8 interleaved
// runs of 2 GiB writes without passthrough: 0.89 of mergerfs 2.33 when
// spinning after each WRITE, 1.0 with no spin at all; this VM's noise is
// about 10%).
static double spin_ns;
// How many spins began, and how many of them a request ended (for the stats
// line: whether spinning pays on this workload).
static double spins_begun, spins_caught;

static napi_value js_set_poll_spin(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (get_args(env, info, 1, argv) != 0) return NULL;
  double ns;
  if (napi_get_value_double(env, argv[0], &ns) != napi_ok) return NULL;
  spin_ns = ns > 0 ? ns : 0;
  return NULL;
}

static void poller_cb(uv_poll_t *h, int status, int events) {
  struct poller *p = h->data;
  (void)events;
  if (status < 0) { poller_stop(p, -status == EBADF ? ENODEV : -status); return; }
  double spin_until = 0;
  int spin_next = 1; // 0 after a big request: see above
  for (int i = 0; i < 64 && !p->stopped; i++) {
    int slot = free_slot(p->bufsize);
    char *dst = slot >= 0 ? slots[slot].data : p->buf;
    ssize_t n = read(p->fd, dst, p->bufsize);
    if (n < 0) {
      if (errno == EAGAIN) {
        if (spin_ns == 0 || i == 0 || !spin_next) return;
        double now = now_ns();
        if (spin_until == 0) {
          spin_until = now + spin_ns;
          spins_begun++;
        }
        if (now >= spin_until) return;
        sched_yield();
        i--;
        continue;
      }
      // ENOENT: the request was interrupted while being copied; EINTR: a signal.
      if (errno == EINTR || errno == ENOENT) continue;
      poller_stop(p, errno);
      return;
    }
    if (n == 0) { poller_stop(p, ENODEV); return; }
    if (spin_until != 0) spins_caught++;
    spin_until = 0; // each pause between requests gets the whole spin
    spin_next = (size_t)n <= SHARED_SIZE;
    if (serve_io(p->fd, dst, (size_t)n)) continue;
    int served = serve_name_op(p->fd, dst, (size_t)n);
    if (served == 1) continue;
    poller_deliver(p, dst, (size_t)n, served == 2 ? ANSWERED : slot, 0);
  }
}

// pollSpinStats() → [spins begun, spins a request ended], ever.
static napi_value js_poll_spin_stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr;
  NAPI_CALL(env, napi_create_array_with_length(env, 2, &arr));
  napi_set_element(env, arr, 0, make_num(env, spins_begun));
  napi_set_element(env, arr, 1, make_num(env, spins_caught));
  return arr;
}

// startPollReader(fd, bufsize, callback(buf|null, errno, len, slot)) → 0 or -errno
static napi_value js_start_poll_reader(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (get_args(env, info, 3, argv) != 0) return NULL;
  int fd;
  int64_t bufsize;
  if (get_i32(env, argv[0], &fd) != 0 || get_i64(env, argv[1], &bufsize) != 0) return NULL;
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return make_num(env, -ENOSYS);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return make_num(env, -errno);
  struct poller *p = calloc(1, sizeof *p);
  char *buf = malloc((size_t)bufsize);
  char *small = malloc(SHARED_SIZE);
  if (!p || !buf || !small) { free(p); free(buf); free(small); return make_num(env, -ENOMEM); }
  p->env = env;
  p->fd = fd;
  p->bufsize = (size_t)bufsize;
  p->buf = buf;
  make_slots(env, (size_t)bufsize);
  napi_value name;
  napi_create_string_utf8(env, "braidfs-fuse-request", NAPI_AUTO_LENGTH, &name);
  napi_value resource, shared;
  napi_create_object(env, &resource);
  if (napi_create_external_buffer(env, SHARED_SIZE, small, free_shared_buf, NULL, &shared) != napi_ok) {
    free(small); free(buf); free(p);
    return make_num(env, -ENOMEM);
  }
  // From here on `small` is freed by the shared buffer's finalizer.
  if (napi_create_reference(env, shared, 1, &p->shared) != napi_ok) { free(buf); free(p); return make_num(env, -ENOMEM); }
  if (napi_create_reference(env, argv[2], 1, &p->cb) != napi_ok || napi_async_init(env, resource, name, &p->actx) != napi_ok) {
    napi_delete_reference(env, p->shared);
    free(buf); free(p);
    return make_num(env, -ENOMEM);
  }
  int r = uv_poll_init(loop, &p->handle, fd);
  if (r == 0) {
    p->handle.data = p;
    r = uv_poll_start(&p->handle, UV_READABLE, poller_cb);
  }
  if (r != 0) {
    napi_delete_reference(env, p->cb);
    napi_delete_reference(env, p->shared);
    napi_async_destroy(env, p->actx);
    fcntl(fd, F_SETFL, fl);
    free(buf); free(p);
    return make_num(env, r);
  }
  return make_num(env, 0);
}

// ---------------------------------------------------------------------------

#define EXPORT(name, fn) { name, NULL, fn, NULL, NULL, NULL, napi_default, NULL }

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    EXPORT("devOpen", js_dev_open),
    EXPORT("close", js_close),
    EXPORT("mount", js_mount),
    EXPORT("umount2", js_umount2),
    EXPORT("fusermount", js_fusermount),
    EXPORT("ioctlClone", js_ioctl_clone),
    EXPORT("backingOpen", js_backing_open),
    EXPORT("backingClose", js_backing_close),
    EXPORT("reply", js_reply),
    EXPORT("startReader", js_start_reader),
    EXPORT("startPollReader", js_start_poll_reader),
    EXPORT("releaseReadSlot", js_release_read_slot),
    EXPORT("serveFile", js_serve_file),
    EXPORT("unserveFile", js_unserve_file),
    EXPORT("servedStats", js_served_stats),
    EXPORT("servedFileLookups", js_served_file_lookups),
    EXPORT("serveName", js_serve_name),
    EXPORT("takeLookups", js_take_lookups),
    EXPORT("serveLookups", js_serve_lookups),
    EXPORT("readdirMergedSync", js_readdir_merged_sync),
    EXPORT("setPollSpin", js_set_poll_spin),
    EXPORT("pollSpinStats", js_poll_spin_stats),
    EXPORT("readdirPlusSync", js_readdir_plus_sync),
    EXPORT("serveListedNames", js_serve_listed_names),
    EXPORT("openPath", js_open_path),
    EXPORT("serveDirs", js_serve_dirs),
    EXPORT("adoptDir", js_adopt_dir),
    EXPORT("dirHandlesOf", js_dir_handles_of),
    EXPORT("dirListingEnd", js_dir_listing_end),
    EXPORT("serveListings", js_serve_listings),
    EXPORT("takeListings", js_take_listings),
    EXPORT("serveSetattrs", js_serve_setattrs),
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  for (size_t i = 0; i < N_OPS; i++) {
    char sync_name[64];
    snprintf(sync_name, sizeof sync_name, "%sSync", OPS[i].name);
    napi_value fa, fs;
    NAPI_CALL(env, napi_create_function(env, OPS[i].name, NAPI_AUTO_LENGTH, js_op_async, (void *)&OPS[i], &fa));
    NAPI_CALL(env, napi_create_function(env, sync_name, NAPI_AUTO_LENGTH, js_op_sync, (void *)&OPS[i], &fs));
    NAPI_CALL(env, napi_set_named_property(env, exports, OPS[i].name, fa));
    NAPI_CALL(env, napi_set_named_property(env, exports, sync_name, fs));
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
