// cell_can: raw SocketCAN (classic and FD) for the CAN driver (src/transports/can/socketcan.ts,
// docs/can.md §"Drivers"). Plain C11 on Node-API plus libuv's uv_poll from Node's own headers:
// ABI-stable, one build loads in every Node from 20 on. No thread per channel: the socket is
// non-blocking and watched by uv_poll on the loop of the calling thread.
//
//   open(ifname, opts, onBatch, onError) → handle { rx: ArrayBuffer, slots, mtu, ifindex }
//       opts: { fd, loopback, recvOwn, errMask, filters: Uint32Array [id, mask, id, mask, …], slots,
//               rcvbuf (SO_RCVBUF bytes; SO_RCVBUFFORCE first, so root can pass rmem_max) }
//       The socket is bound at once (frames queue in the kernel) but read only after start().
//       onBatch(count, rxOverflowTotal): `count` frames are in `rx` (layout below); called once
//       per recvmmsg batch, the buffer is reused by the next batch.
//       onError(code, errno, message): the socket failed (interface gone, …); polling has stopped.
//   start(handle)                            start polling (uv_poll on this thread's loop)
//   send(handle, ab, first, count) → n       frames [first, first+count) of the tx slots in `ab`
//       (layout below) with sendmmsg; n ≥ 0 frames went out, or -errno when the first failed
//       (-EAGAIN/-ENOBUFS: the queue is full, try again later).
//   setFilters(handle, Uint32Array)           CAN_RAW_FILTER pairs (raw can_id/can_mask values)
//   setErrorMask(handle, mask)               CAN_RAW_ERR_FILTER (0 = no error frames)
//   close(handle)                            idempotent; the handle's callbacks are released
//
// Slots are 80 bytes. Receive slot: f64 kernel timestamp in µs at 0 (SO_TIMESTAMP; the host's
// realtime clock if the kernel gave none), then the struct canfd_frame at 8 (can_id u32 at 8,
// len at 12, FD flags at 13, data at 16), and byte 14 is set to 1 for an FD frame (read with
// CANFD_MTU), 0 for a classic one. Transmit slot: u32 mtu at 0 (16 = classic, 72 = FD), the
// struct canfd_frame at 8.
//
// Errors thrown carry `.code` (the errno name, e.g. 'EAFNOSUPPORT' when the kernel has no
// AF_CAN, 'ENODEV' for an unknown interface, 'ENETDOWN' for one that is down, 'ENOTCANFD' when
// fd is asked on an interface whose MTU is not 72), `.errno` and `.syscall`.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_BYTES 80
#define SLOTS_DEFAULT 64
#define SLOTS_MAX 256
#define CMSG_BYTES 64
#define BATCHES_PER_WAKE 8 // recvmmsg rounds per poll wake-up before yielding to the loop
#define TX_BATCH_MAX 64

#ifdef __linux__
#include <linux/can.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif
#endif

__attribute__((unused)) static const napi_type_tag CHANNEL_TAG = { 0x63656c6c5f63616eULL, 0x5a1d3c9e7b2f4061ULL };

typedef struct channel {
  uv_poll_t poll; // first: the uv handle's address is the channel's
  napi_env env;
  int fd;
  bool polling;      // uv_poll_init done: the handle must be uv_close()d before free
  bool closed;       // fd closed, refs released
  bool handle_closed; // uv_close callback ran (or the handle was never initialised)
  bool finalized;    // the JS wrapper was collected
  bool hooked;       // env cleanup hook registered
  napi_ref on_batch;
  napi_ref on_error;
  napi_ref rx_ref;
  napi_async_context async;
  uint8_t *rx;
  unsigned slots;
  uint32_t overflow; // the largest SO_RXQ_OVFL count seen (the kernel's running total)
#ifdef __linux__
  struct mmsghdr msgs[SLOTS_MAX];
  struct iovec iov[SLOTS_MAX];
  uint8_t cmsg[SLOTS_MAX][CMSG_BYTES] __attribute__((aligned(8)));
#endif
} channel_t;

static const char *errno_name(int err) {
  switch (err) {
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case ENETDOWN: return "ENETDOWN";
    case ENOBUFS: return "ENOBUFS";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case EBADF: return "EBADF";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EMSGSIZE: return "EMSGSIZE";
    case ENOSYS: return "ENOSYS";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    default: return "UNKNOWN";
  }
}

static void set_prop(napi_env env, napi_value obj, const char *key, napi_value v) {
  napi_set_named_property(env, obj, key, v);
}

static void throw_code(napi_env env, const char *code, int err, const char *syscall, const char *msg) {
  napi_value c, m, e, n;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &c) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok ||
      napi_create_error(env, c, m, &e) != napi_ok) {
    napi_throw_error(env, code, msg);
    return;
  }
  if (napi_create_int32(env, err, &n) == napi_ok) set_prop(env, e, "errno", n);
  if (syscall != NULL && napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &n) == napi_ok) set_prop(env, e, "syscall", n);
  napi_throw(env, e);
}

__attribute__((unused)) static void throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "EINVAL", msg);
}

#ifndef __linux__

static napi_value js_unsupported(napi_env env, napi_callback_info info) {
  (void)info;
  throw_code(env, "EAFNOSUPPORT", EAFNOSUPPORT, "socket", "cell_can: SocketCAN exists only on Linux; use an slcan adapter (slcan:/dev/tty…) on this system");
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    { "open", NULL, js_unsupported, NULL, NULL, NULL, napi_enumerable, NULL },
    { "start", NULL, js_unsupported, NULL, NULL, NULL, napi_enumerable, NULL },
    { "send", NULL, js_unsupported, NULL, NULL, NULL, napi_enumerable, NULL },
    { "setFilters", NULL, js_unsupported, NULL, NULL, NULL, napi_enumerable, NULL },
    { "setErrorMask", NULL, js_unsupported, NULL, NULL, NULL, napi_enumerable, NULL },
    { "close", NULL, js_unsupported, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

#else

static void throw_sys(napi_env env, int err, const char *syscall, const char *ifname) {
  char msg[512];
  const char *hint;
  switch (err) {
    case EAFNOSUPPORT: case EPROTONOSUPPORT:
      hint = "this kernel has no SocketCAN (AF_CAN): load it (modprobe can-raw), or use an slcan adapter"; break;
    case ENODEV: case ENXIO:
      hint = "no such network interface: create it (ip link add dev vcan0 type vcan) or check the name (ip link)"; break;
    case ENETDOWN:
      hint = "the interface is down: ip link set <if> up (type can bitrate 500000 restart-ms 100 for a real controller)"; break;
    case EPERM: case EACCES:
      hint = "not allowed to open a raw CAN socket here"; break;
    case EMFILE: case ENFILE:
      hint = "too many open files: close some, or raise the limit (ulimit -n)"; break;
    default:
      hint = "see the errno above";
  }
  snprintf(msg, sizeof msg, "cell_can: %s(%s) failed: %s (%s): %s", syscall, ifname, strerror(err), errno_name(err), hint);
  throw_code(env, errno_name(err), err, syscall, msg);
}

static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  napi_value undef;
  napi_get_undefined(env, &undef);
  for (size_t i = argc; i < want; i++) argv[i] = undef;
  return true;
}

static channel_t *get_channel(napi_env env, napi_value v) {
  bool tagged = false;
  napi_valuetype t;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_object ||
      napi_check_object_type_tag(env, v, &CHANNEL_TAG, &tagged) != napi_ok || !tagged ||
      napi_unwrap(env, v, &p) != napi_ok || p == NULL) {
    throw_type(env, "cell_can: not a handle returned by open()");
    return NULL;
  }
  return p;
}

static bool opt_bool(napi_env env, napi_value obj, const char *key, bool dflt) {
  napi_value v;
  napi_valuetype t;
  bool b = dflt;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) return dflt;
  if (t == napi_boolean) napi_get_value_bool(env, v, &b);
  return b;
}

static double opt_num(napi_env env, napi_value obj, const char *key, double dflt) {
  napi_value v;
  napi_valuetype t;
  double d = dflt;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) return dflt;
  if (t == napi_number) napi_get_value_double(env, v, &d);
  return d;
}

// A Uint32Array of [id, mask] pairs → setsockopt(CAN_RAW_FILTER); an empty one receives nothing,
// so "all" is the caller's single pair {0, 0}.
static bool apply_filters(napi_env env, int fd, napi_value arr) {
  napi_valuetype t;
  if (napi_typeof(env, arr, &t) != napi_ok) return false;
  if (t == napi_undefined || t == napi_null) return true;
  bool is_ta = false;
  napi_typedarray_type ty;
  size_t len = 0;
  void *data = NULL;
  if (napi_is_typedarray(env, arr, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, arr, &ty, &len, &data, NULL, NULL) != napi_ok || ty != napi_uint32_array || len % 2 != 0) {
    throw_type(env, "cell_can: filters must be a Uint32Array of [can_id, can_mask] pairs");
    return false;
  }
  if (len / 2 > CAN_RAW_FILTER_MAX) {
    napi_throw_range_error(env, "EINVAL", "cell_can: more than 512 CAN filters (CAN_RAW_FILTER_MAX)");
    return false;
  }
  struct can_filter f[CAN_RAW_FILTER_MAX];
  const uint32_t *p = data;
  for (size_t i = 0; i < len / 2; i++) {
    f[i].can_id = p[2 * i];
    f[i].can_mask = p[2 * i + 1];
  }
  if (setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FILTER, len ? f : NULL, (socklen_t)(len / 2 * sizeof f[0])) < 0) {
    throw_sys(env, errno, "setsockopt", "CAN_RAW_FILTER");
    return false;
  }
  return true;
}

static void channel_maybe_free(channel_t *ch) {
  if (ch->finalized && ch->handle_closed) free(ch);
}

static void on_handle_closed(uv_handle_t *h) {
  channel_t *ch = (channel_t *)h;
  ch->handle_closed = true;
  channel_maybe_free(ch);
}

static void env_cleanup(void *arg);

// Stops polling, closes the socket, releases the JS callbacks. Safe inside a callback of this
// channel: memory is freed only after uv_close's callback and the wrapper's finalizer.
static void channel_close(channel_t *ch, bool from_env_cleanup) {
  if (ch->closed) return;
  ch->closed = true;
  if (ch->polling) {
    uv_poll_stop(&ch->poll);
    uv_close((uv_handle_t *)&ch->poll, on_handle_closed);
  } else {
    ch->handle_closed = true;
  }
  if (ch->fd >= 0) close(ch->fd);
  ch->fd = -1;
  if (ch->hooked && !from_env_cleanup) napi_remove_env_cleanup_hook(ch->env, env_cleanup, ch);
  ch->hooked = false;
  if (!from_env_cleanup) {
    if (ch->on_batch) napi_delete_reference(ch->env, ch->on_batch);
    if (ch->on_error) napi_delete_reference(ch->env, ch->on_error);
    if (ch->async) napi_async_destroy(ch->env, ch->async);
  }
  ch->on_batch = ch->on_error = NULL;
  ch->async = NULL;
}

static void env_cleanup(void *arg) {
  channel_t *ch = arg;
  ch->hooked = false;
  channel_close(ch, true);
}

static void finalize_channel(napi_env env, void *data, void *hint) {
  (void)hint;
  channel_t *ch = data;
  channel_close(ch, false);
  if (ch->rx_ref) napi_delete_reference(env, ch->rx_ref);
  ch->rx_ref = NULL;
  ch->finalized = true;
  channel_maybe_free(ch);
}

// Calls a JS callback from the loop (outside any JS frame); an exception goes to
// process 'uncaughtException' like one from any other event.
static void call_js(channel_t *ch, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_env env = ch->env;
  napi_value fn, recv, result;
  if (fn_ref == NULL || napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == NULL) return;
  napi_get_global(env, &recv); // napi_make_callback wants an object as `this`
  napi_status s = napi_make_callback(env, ch->async, recv, fn, argc, argv, &result);
  bool pending = false;
  if (s != napi_ok && napi_is_exception_pending(env, &pending) == napi_ok && pending) {
    napi_value err;
    if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
  }
}

static void report_error(channel_t *ch, int err, const char *syscall) {
  napi_env env = ch->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  if (ch->polling && !ch->closed) uv_poll_stop(&ch->poll);
  char msg[256];
  snprintf(msg, sizeof msg, "cell_can: %s failed: %s (%s)", syscall, strerror(err), errno_name(err));
  napi_value argv[3];
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &argv[0]);
  napi_create_int32(env, err, &argv[1]);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &argv[2]);
  call_js(ch, ch->on_error, 3, argv);
  napi_close_handle_scope(env, scope);
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec * 1e6 + (double)(ts.tv_nsec / 1000);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  channel_t *ch = (channel_t *)h;
  (void)events;
  if (ch->closed) return;
  if (status < 0) {
    // libuv turns POLLERR into UV_EBADF: the socket's own error (ENETDOWN when the interface went
    // down, ENODEV when it was deleted) says what happened.
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (getsockopt(ch->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr != 0) report_error(ch, soerr, "recvmmsg");
    else report_error(ch, -status, "uv_poll");
    return;
  }
  for (int round = 0; round < BATCHES_PER_WAKE && !ch->closed; round++) {
    for (unsigned i = 0; i < ch->slots; i++) {
      ch->msgs[i].msg_hdr.msg_controllen = CMSG_BYTES;
      ch->msgs[i].msg_hdr.msg_flags = 0;
      ch->msgs[i].msg_len = 0;
    }
    int n = recvmmsg(ch->fd, ch->msgs, ch->slots, MSG_DONTWAIT, NULL);
    if (n < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) return;
      report_error(ch, err, "recvmmsg");
      return;
    }
    if (n == 0) return;
    double fallback = -1;
    for (int i = 0; i < n; i++) {
      uint8_t *slot = ch->rx + (size_t)i * SLOT_BYTES;
      double ts = -1;
      struct msghdr *mh = &ch->msgs[i].msg_hdr;
      for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET) continue;
        if (c->cmsg_type == SO_TIMESTAMP) {
          struct timeval tv;
          memcpy(&tv, CMSG_DATA(c), sizeof tv);
          ts = (double)tv.tv_sec * 1e6 + (double)tv.tv_usec;
        } else if (c->cmsg_type == SO_RXQ_OVFL) {
          uint32_t drops;
          memcpy(&drops, CMSG_DATA(c), sizeof drops);
          if (drops > ch->overflow) ch->overflow = drops;
        }
      }
      if (ts < 0) {
        if (fallback < 0) fallback = now_us();
        ts = fallback;
      }
      memcpy(slot, &ts, sizeof ts);
      slot[8 + 6] = ch->msgs[i].msg_len == CANFD_MTU ? 1 : 0;
      if (ch->msgs[i].msg_len != CANFD_MTU && ch->msgs[i].msg_len != CAN_MTU) slot[8 + 4] = 0xff; // not a frame: JS ignores it
    }
    napi_handle_scope scope;
    if (napi_open_handle_scope(ch->env, &scope) != napi_ok) return;
    napi_value argv[2];
    napi_create_uint32(ch->env, (uint32_t)n, &argv[0]);
    napi_create_uint32(ch->env, ch->overflow, &argv[1]);
    call_js(ch, ch->on_batch, 2, argv);
    napi_close_handle_scope(ch->env, scope);
    if ((unsigned)n < ch->slots) return;
  }
}

static int if_ioctl(int fd, unsigned long req, struct ifreq *ifr) {
  return ioctl(fd, req, ifr);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  char ifname[IFNAMSIZ + 1];
  size_t nlen = 0;
  napi_valuetype t;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_string ||
      napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &nlen) != napi_ok || nlen == 0 || nlen >= IFNAMSIZ) {
    throw_type(env, "cell_can: the interface name must be a string of 1 to 15 characters (e.g. \"can0\", \"vcan0\")");
    return NULL;
  }
  napi_valuetype t1, t2, t3;
  napi_typeof(env, argv[1], &t1);
  napi_typeof(env, argv[2], &t2);
  napi_typeof(env, argv[3], &t3);
  if (t1 != napi_object || t2 != napi_function || t3 != napi_function) {
    throw_type(env, "cell_can: open(ifname, opts, onBatch, onError)");
    return NULL;
  }
  bool fd_frames = opt_bool(env, argv[1], "fd", false);
  bool loopback = opt_bool(env, argv[1], "loopback", true);
  bool recv_own = opt_bool(env, argv[1], "recvOwn", false);
  double err_mask = opt_num(env, argv[1], "errMask", 0);
  double slots_d = opt_num(env, argv[1], "slots", SLOTS_DEFAULT);
  double rcvbuf = opt_num(env, argv[1], "rcvbuf", 0);
  if (!(rcvbuf >= 0 && rcvbuf <= 1 << 30)) rcvbuf = 0;
  if (!(slots_d >= 1 && slots_d <= SLOTS_MAX)) slots_d = SLOTS_DEFAULT;
  napi_value filters;
  if (napi_get_named_property(env, argv[1], "filters", &filters) != napi_ok) return NULL;

  int fd = socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);
  if (fd < 0) {
    throw_sys(env, errno, "socket", "PF_CAN, SOCK_RAW, CAN_RAW");
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, ifname, nlen);
  if (if_ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
    int e = errno;
    close(fd);
    throw_sys(env, e, "SIOCGIFINDEX", ifname);
    return NULL;
  }
  int ifindex = ifr.ifr_ifindex;
  if (if_ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
    close(fd);
    throw_sys(env, ENETDOWN, "SIOCGIFFLAGS", ifname);
    return NULL;
  }
  int mtu = 0;
  if (if_ioctl(fd, SIOCGIFMTU, &ifr) == 0) mtu = ifr.ifr_mtu;
  if (fd_frames && mtu != 0 && mtu < (int)CANFD_MTU) {
    close(fd);
    char msg[256];
    snprintf(msg, sizeof msg, "cell_can: %s is not a CAN FD interface (mtu %d, not 72): ip link set %s mtu 72 (vcan), or type can ... fd on dbitrate (a real controller), or open it without fd", ifname, mtu, ifname);
    throw_code(env, "ENOTCANFD", EINVAL, "SIOCGIFMTU", msg);
    return NULL;
  }
  int one = 1, v;
  const char *failed = NULL;
  v = fd_frames ? 1 : 0;
  if (fd_frames && setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, &v, sizeof v) < 0) failed = "CAN_RAW_FD_FRAMES";
  v = loopback ? 1 : 0;
  if (!failed && setsockopt(fd, SOL_CAN_RAW, CAN_RAW_LOOPBACK, &v, sizeof v) < 0) failed = "CAN_RAW_LOOPBACK";
  v = recv_own ? 1 : 0;
  if (!failed && setsockopt(fd, SOL_CAN_RAW, CAN_RAW_RECV_OWN_MSGS, &v, sizeof v) < 0) failed = "CAN_RAW_RECV_OWN_MSGS";
  can_err_mask_t em = (can_err_mask_t)err_mask;
  if (!failed && setsockopt(fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &em, sizeof em) < 0) failed = "CAN_RAW_ERR_FILTER";
  if (!failed && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof one) < 0) failed = "SO_TIMESTAMP";
  if (!failed && setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one) < 0) failed = "SO_RXQ_OVFL";
  if (!failed && rcvbuf > 0) {
    // Past net.core.rmem_max only with CAP_NET_ADMIN (SO_RCVBUFFORCE); else the kernel caps it.
    int b = (int)rcvbuf;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &b, sizeof b) < 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &b, sizeof b) < 0) failed = "SO_RCVBUF";
  }
  if (failed) {
    int e = errno;
    close(fd);
    throw_sys(env, e, "setsockopt", failed);
    return NULL;
  }
  if (!apply_filters(env, fd, filters)) {
    close(fd);
    return NULL;
  }
  struct sockaddr_can addr;
  memset(&addr, 0, sizeof addr);
  addr.can_family = AF_CAN;
  addr.can_ifindex = ifindex;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    int e = errno;
    close(fd);
    throw_sys(env, e, "bind", ifname);
    return NULL;
  }

  channel_t *ch = calloc(1, sizeof *ch);
  if (ch == NULL) {
    close(fd);
    throw_sys(env, ENOMEM, "calloc", ifname);
    return NULL;
  }
  ch->env = env;
  ch->fd = fd;
  ch->slots = (unsigned)slots_d;
  ch->handle_closed = true; // until uv_poll_init succeeds
  napi_value handle, rx, name;
  void *rx_data = NULL;
  if (napi_create_object(env, &handle) != napi_ok ||
      napi_create_arraybuffer(env, (size_t)ch->slots * SLOT_BYTES, &rx_data, &rx) != napi_ok) {
    close(fd);
    free(ch);
    return NULL;
  }
  ch->rx = rx_data;
  memset(ch->rx, 0, (size_t)ch->slots * SLOT_BYTES);
  for (unsigned i = 0; i < ch->slots; i++) {
    ch->iov[i].iov_base = ch->rx + (size_t)i * SLOT_BYTES + 8;
    ch->iov[i].iov_len = CANFD_MTU;
    ch->msgs[i].msg_hdr.msg_iov = &ch->iov[i];
    ch->msgs[i].msg_hdr.msg_iovlen = 1;
    ch->msgs[i].msg_hdr.msg_control = ch->cmsg[i];
    ch->msgs[i].msg_hdr.msg_controllen = CMSG_BYTES;
  }
  if (napi_wrap(env, handle, ch, finalize_channel, NULL, NULL) != napi_ok) {
    close(fd);
    free(ch);
    napi_throw_error(env, "EINVAL", "cell_can: napi_wrap failed");
    return NULL;
  }
  // From here the wrapper owns ch: errors close it, the finalizer frees it.
  napi_type_tag_object(env, handle, &CHANNEL_TAG);
  if (napi_create_reference(env, rx, 1, &ch->rx_ref) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &ch->on_batch) != napi_ok ||
      napi_create_reference(env, argv[3], 1, &ch->on_error) != napi_ok ||
      napi_create_string_utf8(env, "cell_can", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, NULL, name, &ch->async) != napi_ok) {
    channel_close(ch, false);
    napi_throw_error(env, "ENOMEM", "cell_can: could not keep the callbacks");
    return NULL;
  }
  struct uv_loop_s *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL) {
    channel_close(ch, false);
    napi_throw_error(env, "ENOSYS", "cell_can: no libuv loop (napi_get_uv_event_loop failed)");
    return NULL;
  }
  int r = uv_poll_init(loop, &ch->poll, fd);
  if (r == 0) {
    ch->polling = true;
    ch->handle_closed = false;
  }
  if (r != 0) {
    channel_close(ch, false);
    throw_sys(env, -r, "uv_poll_init", ifname);
    return NULL;
  }
  if (napi_add_env_cleanup_hook(env, env_cleanup, ch) == napi_ok) ch->hooked = true;

  napi_value v_slots, v_mtu, v_ifindex;
  napi_create_uint32(env, ch->slots, &v_slots);
  napi_create_int32(env, mtu, &v_mtu);
  napi_create_int32(env, ifindex, &v_ifindex);
  set_prop(env, handle, "rx", rx);
  set_prop(env, handle, "slots", v_slots);
  set_prop(env, handle, "mtu", v_mtu);
  set_prop(env, handle, "ifindex", v_ifindex);
  return handle;
}

static napi_value js_send(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv)) return NULL;
  channel_t *ch = get_channel(env, argv[0]);
  if (ch == NULL) return NULL;
  bool is_ab = false;
  void *data = NULL;
  size_t bytes = 0;
  if (napi_is_arraybuffer(env, argv[1], &is_ab) != napi_ok || !is_ab ||
      napi_get_arraybuffer_info(env, argv[1], &data, &bytes) != napi_ok) {
    throw_type(env, "cell_can: send(handle, ArrayBuffer, first, count)");
    return NULL;
  }
  uint32_t first = 0, count = 0;
  if (napi_get_value_uint32(env, argv[2], &first) != napi_ok || napi_get_value_uint32(env, argv[3], &count) != napi_ok ||
      (uint64_t)first + count > bytes / SLOT_BYTES) {
    napi_throw_range_error(env, "EINVAL", "cell_can: send: slots out of range");
    return NULL;
  }
  napi_value out;
  if (ch->closed) {
    napi_create_int32(env, -EBADF, &out);
    return out;
  }
  if (count > TX_BATCH_MAX) count = TX_BATCH_MAX;
  struct mmsghdr msgs[TX_BATCH_MAX];
  struct iovec iov[TX_BATCH_MAX];
  memset(msgs, 0, sizeof(struct mmsghdr) * count);
  for (uint32_t i = 0; i < count; i++) {
    uint8_t *slot = (uint8_t *)data + (size_t)(first + i) * SLOT_BYTES;
    uint32_t mtu;
    memcpy(&mtu, slot, sizeof mtu);
    if (mtu != CAN_MTU && mtu != CANFD_MTU) {
      napi_throw_range_error(env, "EINVAL", "cell_can: send: a slot's mtu is neither 16 nor 72");
      return NULL;
    }
    iov[i].iov_base = slot + 8;
    iov[i].iov_len = mtu;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int n = count == 0 ? 0 : sendmmsg(ch->fd, msgs, count, MSG_DONTWAIT);
  if (n < 0) n = -errno;
  napi_create_int32(env, n, &out);
  return out;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  channel_t *ch = get_channel(env, argv[0]);
  if (ch == NULL || ch->closed) return NULL;
  int r = uv_poll_start(&ch->poll, UV_READABLE, on_poll);
  if (r != 0) throw_sys(env, -r, "uv_poll_start", "the CAN socket");
  return NULL;
}

static napi_value js_set_filters(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  channel_t *ch = get_channel(env, argv[0]);
  if (ch == NULL) return NULL;
  if (ch->closed) return NULL;
  apply_filters(env, ch->fd, argv[1]);
  return NULL;
}

static napi_value js_set_error_mask(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv)) return NULL;
  channel_t *ch = get_channel(env, argv[0]);
  if (ch == NULL) return NULL;
  uint32_t mask = 0;
  if (napi_get_value_uint32(env, argv[1], &mask) != napi_ok) {
    throw_type(env, "cell_can: setErrorMask(handle, mask)");
    return NULL;
  }
  if (ch->closed) return NULL;
  can_err_mask_t em = mask & CAN_ERR_MASK;
  if (setsockopt(ch->fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &em, sizeof em) < 0) throw_sys(env, errno, "setsockopt", "CAN_RAW_ERR_FILTER");
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  channel_t *ch = get_channel(env, argv[0]);
  if (ch == NULL) return NULL;
  channel_close(ch, false);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    { "open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL },
    { "start", NULL, js_start, NULL, NULL, NULL, napi_enumerable, NULL },
    { "send", NULL, js_send, NULL, NULL, NULL, napi_enumerable, NULL },
    { "setFilters", NULL, js_set_filters, NULL, NULL, NULL, napi_enumerable, NULL },
    { "setErrorMask", NULL, js_set_error_mask, NULL, NULL, NULL, napi_enumerable, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

#endif
