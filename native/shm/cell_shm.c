// cell_shm: POSIX shared memory (/dev/shm) mapped into JS as external ArrayBuffers, for the
// shared-memory transport (docs/shm.md §3). Plain C11 on Node-API only: ABI-stable, so one build
// loads in every Node from 20 on. No global state: safe to load in several worker threads.
//
//   create(name, bytes) → ArrayBuffer   new segment: O_EXCL, mode 0600 (umask-proof), pages reserved
//   open(name, bytes)   → ArrayBuffer   existing segment: must be ours, 0600, regular, exactly `bytes`
//   unlink(name)        → boolean       false when the name did not exist
//   unmap(ab)           → undefined     munmap now and detach `ab` (later access sees length 0)
//
// name must match ^/cell-[A-Za-z0-9._-]{1,200}$; bytes is an integer in [64, 1 GiB], a multiple
// of 64. Errors carry `.code` (the errno name, or 'EINVAL' for bad arguments, thrown as TypeError
// or RangeError), `.syscall` and `.path`.
//
// Lifetime: every mapping has a heap record {addr, len, mapped}; it is the finalize hint of the
// ArrayBuffer (the finalizer munmaps unless unmap() already did, then frees it) and is wrapped on
// the ArrayBuffer so unmap() can find it. Atomics on the mapping are atomic across processes;
// Atomics.wait/notify are not (V8 emulates them per process). Node keeps external ArrayBuffers on
// their thread (postMessage copies or throws); do not markAsUntransferable() one: on Node 21+ that
// sets a V8 detach key, and napi_detach_arraybuffer in unmap() then aborts the process.
#define _POSIX_C_SOURCE 200809L
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define PREFIX "/cell-"
#define PREFIX_LEN 6
#define NAME_CHARS_MAX 200
#define NAME_BUF (PREFIX_LEN + NAME_CHARS_MAX + 2) // one spare byte tells "too long" apart
#define BYTES_MIN 64.0
#define BYTES_MAX 1073741824.0 // 1 GiB
#define BYTES_ALIGN 64

typedef struct {
  void *addr;
  size_t len;
  bool mapped; // false once unmap() has munmapped it: the finalizer then only frees the record
} mapping_t;

// Marks ArrayBuffers made here, so unmap() refuses any other (and another addon's wrap).
static const napi_type_tag MAPPING_TAG = { 0x63656c6c5f73686dULL, 0x9b3e2f7a51d04c86ULL };

typedef enum { K_ERROR, K_TYPE, K_RANGE } kind_t;

static const char *errno_name(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case EEXIST: return "EEXIST";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case ENOSPC: return "ENOSPC";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EFBIG: return "EFBIG";
    case EISDIR: return "EISDIR";
    case EINTR: return "EINTR";
    case EAGAIN: return "EAGAIN";
    case ENOSYS: return "ENOSYS";
    case ENODEV: return "ENODEV";
    case EROFS: return "EROFS";
    case EOVERFLOW: return "EOVERFLOW";
    case ELOOP: return "ELOOP";
    case EBADF: return "EBADF";
    case EIO: return "EIO";
    default: return "UNKNOWN";
  }
}

// What to do about a failed call, by errno (the caller already names the call and the name).
static const char *errno_hint(int err) {
  switch (err) {
    case ENOENT: return "no such segment: the creating side must call create() first, or it has already unlinked it";
    case EEXIST: return "a segment of this name exists: pick another name, or unlink() it if it is a stale one (ls -l /dev/shm)";
    case EACCES: return "permission denied: the segment belongs to another user or mode forbids us";
    case EMFILE: case ENFILE: return "too many open files: close some, or raise the limit (ulimit -n)";
    case ENOMEM: case ENOSPC: case EFBIG: return "out of shared memory: free space in /dev/shm (df -h /dev/shm) or use a smaller segment";
    default: return "see the errno above";
  }
}

static void set_str(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  if (napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok) napi_set_named_property(env, obj, key, v);
}

static void throw_as(napi_env env, kind_t kind, const char *code, const char *msg, const char *syscall, const char *path) {
  napi_value c, m, e;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok) {
    napi_throw_error(env, code, msg);
    return;
  }
  napi_status s = kind == K_TYPE ? napi_create_type_error(env, c, m, &e)
                : kind == K_RANGE ? napi_create_range_error(env, c, m, &e)
                : napi_create_error(env, c, m, &e);
  if (s != napi_ok) { napi_throw_error(env, code, msg); return; }
  if (syscall != NULL) set_str(env, e, "syscall", syscall);
  if (path != NULL) set_str(env, e, "path", path);
  napi_throw(env, e);
}

// A failed system call: "cell_shm: shm_open("/cell-x") failed: File exists (EEXIST): <hint>".
static void throw_sys(napi_env env, int err, const char *syscall, const char *name) {
  char msg[512];
  snprintf(msg, sizeof msg, "cell_shm: %s(\"%s\") failed: %s (%s): %s", syscall, name, strerror(err), errno_name(err), errno_hint(err));
  throw_as(env, K_ERROR, errno_name(err), msg, syscall, name);
}

static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  napi_value undef;
  napi_get_undefined(env, &undef);
  for (size_t i = argc; i < want; i++) argv[i] = undef;
  return true;
}

// Copies a valid segment name into buf (NAME_BUF bytes) or throws.
static bool get_name(napi_env env, napi_value v, char *buf) {
  static const char *rule = "cell_shm: name must match ^/cell-[A-Za-z0-9._-]{1,200}$ (e.g. \"/cell-ring-1a2b\")";
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    throw_as(env, K_TYPE, "EINVAL", rule, NULL, NULL);
    return false;
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, NAME_BUF, &len) != napi_ok) {
    throw_as(env, K_TYPE, "EINVAL", rule, NULL, NULL);
    return false;
  }
  bool ok = len > PREFIX_LEN && len <= PREFIX_LEN + NAME_CHARS_MAX && strncmp(buf, PREFIX, PREFIX_LEN) == 0;
  for (size_t i = PREFIX_LEN; ok && i < len; i++) {
    char ch = buf[i];
    ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
  }
  if (!ok) throw_as(env, K_RANGE, "EINVAL", rule, NULL, NULL);
  return ok;
}

static bool get_bytes(napi_env env, napi_value v, size_t *out) {
  static const char *rule = "cell_shm: bytes must be an integer from 64 to 1 GiB (1073741824), a multiple of 64";
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    throw_as(env, K_TYPE, "EINVAL", rule, NULL, NULL);
    return false;
  }
  double d = 0;
  napi_get_value_double(env, v, &d);
  if (!(d >= BYTES_MIN && d <= BYTES_MAX) || (double)(size_t)d != d || (size_t)d % BYTES_ALIGN != 0) {
    throw_as(env, K_RANGE, "EINVAL", rule, NULL, NULL);
    return false;
  }
  *out = (size_t)d;
  return true;
}

static void finalize_mapping(napi_env env, void *data, void *hint) {
  (void)env;
  (void)data;
  mapping_t *m = hint;
  if (m->mapped) munmap(m->addr, m->len);
  free(m);
}

// An external ArrayBuffer over [addr, addr+len) that owns the mapping; munmaps on failure.
static napi_value wrap_mapping(napi_env env, void *addr, size_t len, const char *name) {
  mapping_t *m = malloc(sizeof *m);
  if (m == NULL) {
    munmap(addr, len);
    throw_sys(env, ENOMEM, "malloc", name);
    return NULL;
  }
  m->addr = addr;
  m->len = len;
  m->mapped = true;
  napi_value ab;
  if (napi_create_external_arraybuffer(env, addr, len, finalize_mapping, m, &ab) != napi_ok) {
    munmap(addr, len);
    free(m);
    throw_as(env, K_ERROR, "EINVAL", "cell_shm: napi_create_external_arraybuffer failed (a runtime without external buffers?)", NULL, name);
    return NULL;
  }
  // From here the ArrayBuffer owns m: on failure the finalizer cleans up when it is collected.
  if (napi_type_tag_object(env, ab, &MAPPING_TAG) != napi_ok || napi_wrap(env, ab, m, NULL, NULL, NULL) != napi_ok) {
    throw_as(env, K_ERROR, "EINVAL", "cell_shm: could not tag the mapping's ArrayBuffer", NULL, name);
    return NULL;
  }
  return ab;
}

static void *map_fd(int fd, size_t len) {
  return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

static napi_value js_create(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char name[NAME_BUF];
  size_t bytes;
  if (!get_args(env, info, 2, argv) || !get_name(env, argv[0], name) || !get_bytes(env, argv[1], &bytes)) return NULL;

  int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw_sys(env, errno, "shm_open", name);
    return NULL;
  }
  const char *failed = NULL;
  int err = 0;
  void *addr = MAP_FAILED;
  if (fchmod(fd, 0600) != 0) { failed = "fchmod"; err = errno; }  // the umask may have cleared bits
  else if (ftruncate(fd, (off_t)bytes) != 0) { failed = "ftruncate"; err = errno; }
#ifdef __linux__
  // Reserve the pages now: on a full tmpfs a plain ftruncate succeeds and the first write to the
  // mapping raises SIGBUS, which kills the process. Filesystems without fallocate keep ftruncate.
  else if ((err = posix_fallocate(fd, 0, (off_t)bytes)) != 0 && err != EOPNOTSUPP && err != EINVAL && err != ENOSYS) {
    failed = "posix_fallocate";
  }
#endif
  if (failed == NULL && (addr = map_fd(fd, bytes)) == MAP_FAILED) { failed = "mmap"; err = errno; }
  close(fd);
  if (failed != NULL) {
    shm_unlink(name);
    throw_sys(env, err, failed, name);
    return NULL;
  }
  napi_value ab = wrap_mapping(env, addr, bytes, name);
  if (ab == NULL) shm_unlink(name);
  return ab;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char name[NAME_BUF];
  size_t bytes;
  if (!get_args(env, info, 2, argv) || !get_name(env, argv[0], name) || !get_bytes(env, argv[1], &bytes)) return NULL;

  int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) {
    throw_sys(env, errno, "shm_open", name);
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    throw_sys(env, err, "fstat", name);
    return NULL;
  }
  // Map only what create() would have made: ours, private to us, a plain file of the agreed size.
  char msg[512];
  const char *code = NULL;
  if (!S_ISREG(st.st_mode)) {
    code = "EINVAL";
    snprintf(msg, sizeof msg, "cell_shm: open(\"%s\") refused: not a regular shared-memory file (mode 0%o); remove it and let create() make it", name, (unsigned)st.st_mode);
  } else if (st.st_uid != geteuid()) {
    code = "EPERM";
    snprintf(msg, sizeof msg, "cell_shm: open(\"%s\") refused: owned by uid %u, not by us (uid %u); both sides must run as the same user", name, (unsigned)st.st_uid, (unsigned)geteuid());
  } else if ((st.st_mode & 0777) != 0600) {
    code = "EACCES";
    snprintf(msg, sizeof msg, "cell_shm: open(\"%s\") refused: mode 0%03o, not 0600, so other users could read or write it; it was not made by create(): unlink it and create it again", name, (unsigned)(st.st_mode & 0777));
  } else if (st.st_size < 0 || (uintmax_t)st.st_size != (uintmax_t)bytes) {
    code = "EINVAL";
    snprintf(msg, sizeof msg, "cell_shm: open(\"%s\") refused: the segment has %jd bytes, the caller expects %zu; both sides must use the same size (capacity)", name, (intmax_t)st.st_size, bytes);
  }
  if (code != NULL) {
    close(fd);
    throw_as(env, K_ERROR, code, msg, "open", name);
    return NULL;
  }
  void *addr = map_fd(fd, bytes);
  int err = errno;
  close(fd);
  if (addr == MAP_FAILED) {
    throw_sys(env, err, "mmap", name);
    return NULL;
  }
  return wrap_mapping(env, addr, bytes, name);
}

static napi_value js_unlink(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char name[NAME_BUF];
  if (!get_args(env, info, 1, argv) || !get_name(env, argv[0], name)) return NULL;
  bool removed = true;
  if (shm_unlink(name) != 0) {
    if (errno != ENOENT) {
      throw_sys(env, errno, "shm_unlink", name);
      return NULL;
    }
    removed = false;
  }
  napi_value result;
  napi_get_boolean(env, removed, &result);
  return result;
}

static napi_value js_unmap(napi_env env, napi_callback_info info) {
  static const char *rule = "cell_shm: unmap() takes an ArrayBuffer returned by create() or open()";
  napi_value argv[1], undef;
  if (!get_args(env, info, 1, argv)) return NULL;
  napi_get_undefined(env, &undef);
  bool is_ab = false, ours = false, detached = false;
  if (napi_is_arraybuffer(env, argv[0], &is_ab) != napi_ok || !is_ab ||
      napi_check_object_type_tag(env, argv[0], &MAPPING_TAG, &ours) != napi_ok || !ours) {
    throw_as(env, K_TYPE, "EINVAL", rule, NULL, NULL);
    return NULL;
  }
  if (napi_is_detached_arraybuffer(env, argv[0], &detached) != napi_ok) return NULL;
  mapping_t *m = NULL;
  if (detached || napi_remove_wrap(env, argv[0], (void **)&m) != napi_ok || m == NULL) return undef; // done before
  // Clear `mapped` before detaching: once detached, the backing store may be released and the
  // finalizer (deferred by Node today, but not promised) may free m — so m is not touched after.
  void *addr = m->addr;
  size_t len = m->len;
  m->mapped = false;
  if (napi_detach_arraybuffer(env, argv[0]) != napi_ok) {
    m->mapped = true; // still attached, so still owned by the ArrayBuffer: leave it mapped
    napi_wrap(env, argv[0], m, NULL, NULL, NULL);
    throw_as(env, K_ERROR, "EINVAL", "cell_shm: could not detach the ArrayBuffer; the mapping stays until it is collected", "munmap", NULL);
    return NULL;
  }
  munmap(addr, len);
  return undef;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    { "create", NULL, js_create, NULL, NULL, NULL, napi_enumerable, NULL },
    { "open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL },
    { "unlink", NULL, js_unlink, NULL, NULL, NULL, napi_enumerable, NULL },
    { "unmap", NULL, js_unmap, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
