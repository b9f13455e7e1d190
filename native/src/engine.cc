// Frame engine: batched TAP / AF_PACKET I/O. See engine.h and native/README.md.
#include "engine.h"

#include "args.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>

#include <algorithm>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "sys_error.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

namespace {
// struct virtio_net_hdr (linux/virtio_net.h cannot be included from C++: it has a field named
// `class`). Fields are in host byte order for a legacy, non-big-endian vnet header.
struct VnetHdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
} __attribute__((packed));
static_assert(sizeof(VnetHdr) == kVnetHdrLen, "virtio_net_hdr is 10 bytes");
constexpr uint8_t kVnetNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr uint8_t kVnetGsoNone = 0;    // VIRTIO_NET_HDR_GSO_NONE

std::vector<Engine*> g_engines;  // closed at addon-instance teardown

// One drain pass reads at most this many batches before yielding back to the loop, so a busy
// port cannot starve the others (uv_poll is level-triggered and will call again).
constexpr int kMaxRoundsPerWake = 8;
}  // namespace

Napi::Function Engine::Init(Napi::Env env) {
  return DefineClass(env, "Engine", {
    InstanceMethod("openTap", &Engine::OpenTap),
    InstanceMethod("openPacket", &Engine::OpenPacket),
    InstanceMethod("closePort", &Engine::ClosePort),
    InstanceMethod("send", &Engine::Send),
    InstanceMethod("setTapCarrier", &Engine::SetTapCarrier),
    InstanceMethod("setTapPersist", &Engine::SetTapPersist),
    InstanceMethod("adoptTap", &Engine::AdoptTap),
    InstanceMethod("dupTap", &Engine::DupTap),
    InstanceMethod("setMembership", &Engine::SetMembership),
    InstanceMethod("readKernelStats", &Engine::ReadKernelStats),
    InstanceMethod("setBusyPoll", &Engine::SetBusyPoll),
    InstanceMethod("attachFilter", &Engine::AttachFilter),
    InstanceMethod("close", &Engine::Close),
  });
}

// new Engine({ arena, offsets, lengths, verdicts, pkttypes, counters, slotSize, batchMax, onBatch })
Engine::Engine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Engine>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) {
    Napi::TypeError::New(env, "Engine: options object expected").ThrowAsJavaScriptException();
    return;
  }
  Napi::Object o = info[0].As<Napi::Object>();
  auto typed = [&](const char* key, napi_typedarray_type t) {
    Napi::Value v = o.Get(key);
    return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == t;
  };
  const char* bad = !o.Get("slotSize").IsNumber() ? "slotSize (a number)"
                    : !o.Get("batchMax").IsNumber() ? "batchMax (a number)"
                    : !o.Get("arena").IsArrayBuffer() ? "arena (an ArrayBuffer)"
                    : !typed("offsets", napi_uint32_array) ? "offsets (a Uint32Array)"
                    : !typed("lengths", napi_uint32_array) ? "lengths (a Uint32Array)"
                    : !typed("verdicts", napi_uint32_array) ? "verdicts (a Uint32Array)"
                    : !typed("pkttypes", napi_uint8_array) ? "pkttypes (a Uint8Array)"
                    : !typed("counters", napi_float64_array) ? "counters (a Float64Array)"
                    : !o.Get("onBatch").IsFunction() ? "onBatch (a function)"
                    : nullptr;
  if (bad) {
    Napi::TypeError::New(env, std::string("Engine: option ") + bad + " expected").ThrowAsJavaScriptException();
    return;
  }
  slotSize_ = o.Get("slotSize").As<Napi::Number>().Uint32Value();
  batchMax_ = o.Get("batchMax").As<Napi::Number>().Uint32Value();
  auto arena = o.Get("arena").As<Napi::ArrayBuffer>();
  auto offsets = o.Get("offsets").As<Napi::Uint32Array>();
  auto lengths = o.Get("lengths").As<Napi::Uint32Array>();
  auto verdicts = o.Get("verdicts").As<Napi::Uint32Array>();
  auto pkttypes = o.Get("pkttypes").As<Napi::Uint8Array>();
  auto counters = o.Get("counters").As<Napi::Float64Array>();
  if (arena.ByteLength() < size_t(slotSize_) * batchMax_ || offsets.ElementLength() < batchMax_ ||
      lengths.ElementLength() < batchMax_ || verdicts.ElementLength() < batchMax_ ||
      pkttypes.ElementLength() < batchMax_ || counters.ElementLength() < size_t(kMaxPorts) * kCounterCount ||
      slotSize_ < 2048 || batchMax_ == 0) {
    Napi::RangeError::New(env, "Engine: shared arrays too small").ThrowAsJavaScriptException();
    return;
  }
  arena_ = static_cast<uint8_t*>(arena.Data());
  offsets_ = offsets.Data();
  lengths_ = lengths.Data();
  verdicts_ = verdicts.Data();
  pkttypes_ = pkttypes.Data();
  counters_ = counters.Data();
  arenaRef_ = Napi::Persistent(arena.As<Napi::Object>());
  offsetsRef_ = Napi::Persistent(offsets.As<Napi::Object>());
  lengthsRef_ = Napi::Persistent(lengths.As<Napi::Object>());
  verdictsRef_ = Napi::Persistent(verdicts.As<Napi::Object>());
  pkttypesRef_ = Napi::Persistent(pkttypes.As<Napi::Object>());
  countersRef_ = Napi::Persistent(counters.As<Napi::Object>());
  onBatch_ = Napi::Persistent(o.Get("onBatch").As<Napi::Function>());

  msgs_.resize(batchMax_);
  iovs_.resize(batchMax_);  // sendmmsg only: one per frame of a batch
  addrs_.resize(batchMax_);
  cmsgs_.resize(batchMax_ * CMSG_SPACE(sizeof(struct tpacket_auxdata)));
  rxMsgs_.resize(batchMax_);
  rxIovs_.resize(batchMax_);
  memset(rxMsgs_.data(), 0, sizeof(struct mmsghdr) * batchMax_);
  for (uint32_t i = 0; i < batchMax_; i++) {
    rxIovs_[i].iov_base = arena_ + size_t(i) * slotSize_ + kHeadroom;
    rxIovs_[i].iov_len = slotSize_ - kHeadroom;
    msghdr& h = rxMsgs_[i].msg_hdr;
    h.msg_iov = &rxIovs_[i];
    h.msg_iovlen = 1;
    h.msg_name = &addrs_[i];
    h.msg_control = cmsgs_.data() + i * CMSG_SPACE(sizeof(struct tpacket_auxdata));
  }
  rxUsed_ = batchMax_;  // every entry gets its lengths set before the first call
  for (int i = 0; i < kMaxPorts; i++) ports_[i].index = i, ports_[i].engine = this;
  g_engines.push_back(this);
}

Engine::~Engine() {
  CloseAll();
  for (size_t i = 0; i < g_engines.size(); i++)
    if (g_engines[i] == this) { g_engines.erase(g_engines.begin() + i); break; }
}

void CloseAllEngines(void*) {
  for (Engine* e : g_engines) e->CloseAll();
}

bool Engine::StartPoll(Port& port) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(Env(), &loop);
  port.poll = new uv_poll_t;
  if (uv_poll_init(loop, port.poll, port.fd) != 0) { delete port.poll; port.poll = nullptr; return false; }
  port.poll->data = &port;
  uv_poll_start(port.poll, UV_READABLE, &Engine::OnPoll);
  return true;
}

void Engine::ClosePortAt(int index) {
  Port& p = ports_[index];
  if (p.poll) {
    uv_poll_stop(p.poll);
    uv_close(reinterpret_cast<uv_handle_t*>(p.poll), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    p.poll = nullptr;
  }
  if (p.fd >= 0) close(p.fd);
  p.fd = -1;
  p.isTap = false;
  p.ifindex = 0;
}

void Engine::CloseAll() {
  if (closed_) return;
  closed_ = true;
  for (int i = 0; i < kMaxPorts; i++) ClosePortAt(i);
}

// openTap(name) -> { ifindex, name }: always engine port 0. Creates the TAP, or attaches to a
// persistent one of that name that no process holds (a bond left by an earlier bondd).
// IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, vnet header 10 bytes, CSUM/TSO4/TSO6/TSO_ECN offloads.
Napi::Value Engine::OpenTap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_STRING("openTap", 0, name);
  if (closed_ || ports_[0].fd >= 0) return ThrowSys(env, "openTap", EBUSY);
  if (name.size() >= IFNAMSIZ) return ThrowSys(env, "openTap", ENAMETOOLONG, name);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return ThrowSys(env, "open", errno, "/dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) { int e = errno; close(fd); return ThrowSys(env, "ioctl", e, "TUNSETIFF " + name); }
  Napi::Value r = UseTap(env, fd, ifr.ifr_name);
  if (ports_[0].fd < 0) close(fd);  // refused: the fd this call opened goes
  return r;
}

// adoptTap(fd) -> { ifindex, name }: engine port 0 from a TAP fd this process was given (by
// systemd's fd store, a hand-over, or across execve): the TAP never lost its last fd, so its
// carrier never fell. The fd is the engine's from here on.
Napi::Value Engine::AdoptTap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_INT32("adoptTap", 0, fd);
  if (closed_ || ports_[0].fd >= 0) return ThrowSys(env, "adoptTap", EBUSY);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(fd, TUNGETIFF, &ifr) < 0) return ThrowSys(env, "ioctl", errno, "TUNGETIFF (not a TAP fd)");
  if (!(ifr.ifr_flags & IFF_TAP) || !(ifr.ifr_flags & IFF_VNET_HDR)) return ThrowSys(env, "adoptTap", EINVAL, "not a vnet-header TAP");
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return ThrowSys(env, "fcntl", errno, "O_NONBLOCK");
  int cfl = fcntl(fd, F_GETFD);
  if (cfl >= 0) fcntl(fd, F_SETFD, cfl | FD_CLOEXEC);
  return UseTap(env, fd, ifr.ifr_name);
}

// Engine port 0 on a TAP fd (made here or given): the vnet header and offloads every TAP of
// ours has, and polling. On a failure port 0 stays empty and the fd is the caller's.
Napi::Value Engine::UseTap(Napi::Env env, int fd, const char* name) {
  int hdr = kVnetHdrLen;
  if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) return ThrowSys(env, "ioctl", errno, "TUNSETVNETHDRSZ");
  unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
  if (ioctl(fd, TUNSETOFFLOAD, off) < 0) return ThrowSys(env, "ioctl", errno, "TUNSETOFFLOAD");
  Port& p = ports_[0];
  p.fd = fd;
  p.isTap = true;
  p.ifindex = if_nametoindex(name);
  if (!StartPoll(p)) {
    p.fd = -1;
    p.isTap = false;
    p.ifindex = 0;
    return ThrowSys(env, "uv_poll_init", EINVAL);
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("ifindex", p.ifindex);
  r.Set("name", Napi::String::New(env, name));
  return r;
}

// dupTap() -> a new fd (close-on-exec) of the TAP, for whoever must hold it across this
// process's end (systemd's fd store, the next bondd).
Napi::Value Engine::DupTap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ports_[0].fd < 0) return ThrowSys(env, "dupTap", EBADF);
  int fd = fcntl(ports_[0].fd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) return ThrowSys(env, "fcntl", errno, "F_DUPFD_CLOEXEC");
  return Napi::Number::New(env, fd);
}

// openPacket(index, ifindex, bufBytes): AF_PACKET SOCK_RAW bound to ifindex, with the vnet header,
// outgoing frames ignored, VLAN aux data, and forced socket buffers (the ~208 KiB default overflows with 64 KiB GSO frames).
Napi::Value Engine::OpenPacket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_INT32("openPacket", 0, index);
  REQUIRE_INT32("openPacket", 1, ifindex);
  REQUIRE_INT32("openPacket", 2, buf);
  if (closed_ || index < 1 || index >= kMaxPorts || ports_[index].fd >= 0) return ThrowSys(env, "openPacket", EBUSY);
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ThrowSys(env, "socket", errno, "AF_PACKET");
  int one = 1;
  auto fail = [&](const char* what) { int e = errno; close(fd); return ThrowSys(env, "setsockopt", e, what); };
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) return fail("PACKET_VNET_HDR");
  if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) return fail("PACKET_AUXDATA");
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) return fail("PACKET_IGNORE_OUTGOING");
  // FORCE needs CAP_NET_ADMIN; fall back to the capped variant without it.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) < 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf) < 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) < 0) { int e = errno; close(fd); return ThrowSys(env, "bind", e, "AF_PACKET"); }
  // Discard what queued before the options took effect (nothing should, but be exact).
  struct tpacket_stats st;
  socklen_t sl = sizeof st;
  getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
  Port& p = ports_[index];
  p.fd = fd;
  p.isTap = false;
  p.ifindex = ifindex;
  for (int k = 0; k < kCounterCount; k++) Ctr(index, Counter(k)) = 0;
  if (!StartPoll(p)) { ClosePortAt(index); return ThrowSys(env, "uv_poll_init", EINVAL); }
  return env.Undefined();
}

Napi::Value Engine::ClosePort(const Napi::CallbackInfo& info) {
  REQUIRE_INT32("closePort", 0, index);
  if (index >= 0 && index < kMaxPorts) ClosePortAt(index);
  return info.Env().Undefined();
}

// send(index, frame): a control frame (LACPDU, ARP probe, gratuitous ARP...). A zero vnet
// header is prepended here. Returns true when the kernel took it.
Napi::Value Engine::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_INT32("send", 0, index);
  REQUIRE_BYTES("send", 1, frame);
  if (index < 0 || index >= kMaxPorts || ports_[index].fd < 0) return Napi::Boolean::New(env, false);
  Port& p = ports_[index];
  uint8_t hdr[kVnetHdrLen] = {0};
  struct iovec iov[2] = {{hdr, sizeof hdr}, {frame.Data(), frame.ByteLength()}};
  ssize_t n = writev(p.fd, iov, 2);
  if (n < 0) { Ctr(index, kTxErrors)++; return Napi::Boolean::New(env, false); }
  Ctr(index, kTxFrames)++;
  Ctr(index, kTxBytes) += frame.ByteLength();
  return Napi::Boolean::New(env, true);
}

// setTapCarrier(on): the bond's carrier follows "at least one usable slave".
// setTapPersist(on): TUNSETPERSIST. A persistent TAP outlives its last fd (its carrier goes
// off then); taking persistence off makes the TAP go with the fd.
Napi::Value Engine::SetTapPersist(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_BOOL("setTapPersist", 0, on);
  if (ports_[0].fd < 0) return ThrowSys(env, "setTapPersist", EBADF);
  if (ioctl(ports_[0].fd, TUNSETPERSIST, on ? 1UL : 0UL) < 0) return ThrowSys(env, "ioctl", errno, "TUNSETPERSIST");
  return env.Undefined();
}

Napi::Value Engine::SetTapCarrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_BOOL("setTapCarrier", 0, up);
  int on = up ? 1 : 0;
  if (ports_[0].fd < 0) return ThrowSys(env, "setTapCarrier", EBADF);
  if (ioctl(ports_[0].fd, TUNSETCARRIER, &on) < 0) return ThrowSys(env, "ioctl", errno, "TUNSETCARRIER");
  return env.Undefined();
}

// setMembership(index, add, type, mac?): PACKET_ADD/DROP_MEMBERSHIP with PACKET_MR_PROMISC,
// PACKET_MR_ALLMULTI or PACKET_MR_MULTICAST. Memberships die with the socket, so a crash
// cannot leave a slave promiscuous.
Napi::Value Engine::SetMembership(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_INT32("setMembership", 0, index);
  REQUIRE_BOOL("setMembership", 1, add);
  REQUIRE_STRING("setMembership", 2, type);
  if (index < 1 || index >= kMaxPorts || ports_[index].fd < 0) return ThrowSys(env, "setMembership", EBADF);
  struct packet_mreq mr;
  memset(&mr, 0, sizeof mr);
  mr.mr_ifindex = ports_[index].ifindex;
  if (type == "promisc") mr.mr_type = PACKET_MR_PROMISC;
  else if (type == "allmulti") mr.mr_type = PACKET_MR_ALLMULTI;
  else if (type == "multicast") {
    mr.mr_type = PACKET_MR_MULTICAST;
    REQUIRE_BYTES("setMembership", 3, mac);
    if (mac.ByteLength() != 6) return ThrowSys(env, "setMembership", EINVAL, "mac");
    mr.mr_alen = 6;
    memcpy(mr.mr_address, mac.Data(), 6);
  } else return ThrowSys(env, "setMembership", EINVAL, type);
  int opt = add ? PACKET_ADD_MEMBERSHIP : PACKET_DROP_MEMBERSHIP;
  if (setsockopt(ports_[index].fd, SOL_PACKET, opt, &mr, sizeof mr) < 0)
    return ThrowSys(env, "setsockopt", errno, add ? "PACKET_ADD_MEMBERSHIP" : "PACKET_DROP_MEMBERSHIP");
  return env.Undefined();
}

// readKernelStats(index): folds PACKET_STATISTICS (which resets on read) into the counters.
Napi::Value Engine::ReadKernelStats(const Napi::CallbackInfo& info) {
  REQUIRE_INT32("readKernelStats", 0, index);
  if (index >= 1 && index < kMaxPorts && ports_[index].fd >= 0) {
    struct tpacket_stats st;
    socklen_t sl = sizeof st;
    if (getsockopt(ports_[index].fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0)
      Ctr(index, kRxKernelDrops) += st.tp_drops;
  }
  return info.Env().Undefined();
}

Napi::Value Engine::Close(const Napi::CallbackInfo& info) {
  CloseAll();
  return info.Env().Undefined();
}

void Engine::OnPoll(uv_poll_t* handle, int status, int events) {
  Port* port = static_cast<Port*>(handle->data);
  if (status < 0 || port->fd < 0) return;
  port->engine->Drain(*port);
}

namespace {
int64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
constexpr int64_t kBusyPollCapFactor = 8;  // at most 8 windows of busy polling per wake
}  // namespace

// attachFilter(index, progFd): an eBPF socket filter on a slave's packet socket (SO_ATTACH_BPF);
// progFd < 0 removes it (SO_DETACH_FILTER).
Napi::Value Engine::AttachFilter(const Napi::CallbackInfo& info) {
  REQUIRE_INT32("attachFilter", 0, index);
  REQUIRE_INT32("attachFilter", 1, prog);
  Napi::Env env = info.Env();
  if (index < 1 || index >= kMaxPorts || ports_[index].fd < 0) return ThrowSys(env, "attachFilter", EBADF);
  int fd = ports_[index].fd;
  int rc = prog >= 0 ? setsockopt(fd, SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof prog)
                     : setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &prog, sizeof prog);
  if (rc < 0 && !(prog < 0 && errno == ENOENT)) return ThrowSys(env, "setsockopt", errno, prog >= 0 ? "SO_ATTACH_BPF" : "SO_DETACH_FILTER");
  return env.Undefined();
}

// setBusyPoll(microseconds)
Napi::Value Engine::SetBusyPoll(const Napi::CallbackInfo& info) {
  REQUIRE_DOUBLE("setBusyPoll", 0, us);
  busyPollNs_ = us > 0 ? int64_t(us * 1000) : 0;
  return info.Env().Undefined();
}

// Returns the number of frames handled.
int Engine::DrainOnce(Port& port) {
  int total = 0;
  for (int round = 0; round < kMaxRoundsPerWake && port.fd >= 0 && !closed_; round++) {
    int n = port.isTap ? ReadTap(port) : ReadPacket(port);
    if (n <= 0) break;
    Dispatch(port.index, n);
    total += n;
    if (uint32_t(n) < batchMax_) break;
  }
  return total;
}

void Engine::Drain(Port& port) {
  if (inCallback_) return;  // never re-enter JS from inside its own callback
  Napi::HandleScope scope(Env());
  if (DrainOnce(port) > 0 && busyPollNs_ > 0) BusyPoll();
}

void Engine::BusyPoll() {
  const int64_t start = NowNs();
  int64_t deadline = start + busyPollNs_;
  const int64_t cap = start + busyPollNs_ * kBusyPollCapFactor;
  for (int64_t now = start; now < deadline && !closed_; now = NowNs()) {
    bool got = false;
    for (int i = 0; i < kMaxPorts && !closed_; i++) {
      if (ports_[i].fd >= 0 && DrainOnce(ports_[i]) > 0) got = true;
    }
    if (got) deadline = std::min(cap, NowNs() + busyPollNs_);
  }
}

// TAP: one read() per frame until EAGAIN (a TAP has no batched read). Tags stay inline.
int Engine::ReadTap(Port& port) {
  int n = 0;
  while (uint32_t(n) < batchMax_) {
    uint8_t* slot = arena_ + size_t(n) * slotSize_;
    ssize_t r = read(port.fd, slot + kHeadroom, slotSize_ - kHeadroom);
    if (r < 0) {
      if (errno != EAGAIN && errno != EINTR) Ctr(port.index, kRxErrors)++;
      break;
    }
    offsets_[n] = uint32_t(n) * slotSize_ + kHeadroom;
    lengths_[n] = uint32_t(r);
    pkttypes_[n] = PACKET_OUTGOING;
    Ctr(port.index, kRxFrames)++;
    Ctr(port.index, kRxBytes) += double(r);
    n++;
  }
  return n;
}

// AF_PACKET: one recvmmsg per batch. A VLAN tag that the kernel moved to aux data is put back
// into the frame (and the vnet header's csum_start/hdr_len shifted by 4 to match).
int Engine::ReadPacket(Port& port) {
  const size_t cspace = CMSG_SPACE(sizeof(struct tpacket_auxdata));
  for (uint32_t i = 0; i < rxUsed_; i++) {
    msghdr& h = rxMsgs_[i].msg_hdr;
    h.msg_namelen = sizeof(sockaddr_ll);
    h.msg_controllen = cspace;
    h.msg_flags = 0;
  }
  rxUsed_ = 0;
  int n = recvmmsg(port.fd, rxMsgs_.data(), batchMax_, MSG_DONTWAIT, nullptr);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) Ctr(port.index, kRxErrors)++;
    return 0;
  }
  rxUsed_ = uint32_t(n);
  for (int i = 0; i < n; i++) {
    uint8_t* slot = arena_ + size_t(i) * slotSize_;
    uint32_t len = rxMsgs_[i].msg_len;
    offsets_[i] = uint32_t(i) * slotSize_ + kHeadroom;
    pkttypes_[i] = addrs_[i].sll_pkttype;
    if (rxMsgs_[i].msg_hdr.msg_flags & MSG_TRUNC) {
      Ctr(port.index, kRxTruncated)++;
      lengths_[i] = 0;  // JS counts and drops zero-length frames
      continue;
    }
    for (cmsghdr* c = CMSG_FIRSTHDR(&rxMsgs_[i].msg_hdr); c; c = CMSG_NXTHDR(&rxMsgs_[i].msg_hdr, c)) {
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
      auto* aux = reinterpret_cast<tpacket_auxdata*>(CMSG_DATA(c));
      if (!(aux->tp_status & TP_STATUS_VLAN_VALID) || len < kVnetHdrLen + 12) continue;
      uint16_t tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux->tp_vlan_tpid : ETH_P_8021Q;
      memmove(slot, slot + kHeadroom, kVnetHdrLen + 12);
      uint16_t be[2] = {htons(tpid), htons(aux->tp_vlan_tci)};
      memcpy(slot + kVnetHdrLen + 12, be, 4);
      auto* vh = reinterpret_cast<VnetHdr*>(slot);
      if (vh->flags & kVnetNeedsCsum) vh->csum_start += 4;
      if (vh->gso_type != kVnetGsoNone) vh->hdr_len += 4;
      offsets_[i] -= kHeadroom;
      len += 4;
    }
    lengths_[i] = len;
    Ctr(port.index, kRxFrames)++;
    Ctr(port.index, kRxBytes) += double(len);
  }
  return n;
}

void Engine::Dispatch(int srcIndex, int count) {
  Napi::Env env = Env();
  inCallback_ = true;
  onBatch_.Call({Napi::Number::New(env, srcIndex), Napi::Number::New(env, count)});
  inCallback_ = false;
  if (env.IsExceptionPending()) {
    Napi::Error e = env.GetAndClearPendingException();
    napi_fatal_exception(env, e.Value());
    return;
  }
  if (closed_) return;
  uint32_t all = 0;
  for (int i = 0; i < count; i++) all |= verdicts_[i];
  for (int q = 0; all && q < kMaxPorts; q++) {
    uint32_t bit = 1u << q;
    if (!(all & bit)) continue;
    all &= ~bit;
    if (ports_[q].fd >= 0) SendTo(ports_[q], bit, count);
  }
}

void Engine::SendTo(Port& dst, uint32_t bit, int count) {
  if (dst.isTap) {
    for (int i = 0; i < count; i++) {
      if (!(verdicts_[i] & bit) || lengths_[i] == 0) continue;
      ssize_t w = write(dst.fd, arena_ + offsets_[i], lengths_[i]);
      if (w < 0) { Ctr(dst.index, kTxErrors)++; continue; }  // EIO while the TAP is down
      Ctr(dst.index, kTxFrames)++;
      Ctr(dst.index, kTxBytes) += lengths_[i];
    }
    return;
  }
  int m = 0;
  for (int i = 0; i < count; i++) {
    if (!(verdicts_[i] & bit) || lengths_[i] == 0) continue;
    iovs_[m].iov_base = arena_ + offsets_[i];
    iovs_[m].iov_len = lengths_[i];
    memset(&msgs_[m].msg_hdr, 0, sizeof(msghdr));
    msgs_[m].msg_hdr.msg_iov = &iovs_[m];
    msgs_[m].msg_hdr.msg_iovlen = 1;
    m++;
  }
  int done = 0;
  while (done < m) {
    int r = sendmmsg(dst.fd, msgs_.data() + done, m - done, MSG_DONTWAIT);
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      Ctr(dst.index, kTxErrors)++;  // this frame is dropped; try the rest
      done++;
      continue;
    }
    for (int k = done; k < done + r; k++) Ctr(dst.index, kTxBytes) += iovs_[k].iov_len;
    Ctr(dst.index, kTxFrames) += r;
    done += r;
  }
}
