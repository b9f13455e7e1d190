// The frame engine: owns the TAP fd and the AF_PACKET slave fds, drains them in batches on the
// loop thread (uv_poll), hands each batch to ONE JS callback through arrays shared at
// construction, then sends every frame to the ports named by its verdict bitmask.
// No bonding policy lives here: which port gets which frame is decided in TypeScript.
#pragma once
#include <napi.h>
#include <uv.h>
#include <sys/socket.h>
#include <linux/if_packet.h>
#include <cstdint>
#include <vector>

constexpr int kMaxPorts = 32;    // verdict bit i = engine port i; port 0 is the TAP
constexpr int kVnetHdrLen = 10;  // struct virtio_net_hdr
constexpr int kHeadroom = 4;     // room to put back a VLAN tag stripped by AF_PACKET

// Per-port counters, laid out in a shared Float64Array: counters[port * kCounterCount + k].
enum Counter {
  kRxFrames, kRxBytes, kTxFrames, kTxBytes,
  kTxErrors,       // send failed (device down, no buffer space): frame dropped
  kRxTruncated,    // frame larger than a slot: dropped
  kRxKernelDrops,  // PACKET_STATISTICS tp_drops, accumulated by readKernelStats()
  kRxErrors,       // recv failed with something other than EAGAIN
  kCounterCount
};

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Engine(const Napi::CallbackInfo& info);
  ~Engine();
  void CloseAll();

 private:
  struct Port {
    int fd = -1;
    bool isTap = false;
    int ifindex = 0;
    uv_poll_t* poll = nullptr;
    Engine* engine = nullptr;
    int index = 0;
  };

  Napi::Value OpenTap(const Napi::CallbackInfo& info);
  Napi::Value OpenPacket(const Napi::CallbackInfo& info);
  Napi::Value ClosePort(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value SetTapCarrier(const Napi::CallbackInfo& info);
  Napi::Value SetTapPersist(const Napi::CallbackInfo& info);
  Napi::Value AdoptTap(const Napi::CallbackInfo& info);
  Napi::Value DupTap(const Napi::CallbackInfo& info);
  Napi::Value SetMembership(const Napi::CallbackInfo& info);
  Napi::Value ReadKernelStats(const Napi::CallbackInfo& info);
  Napi::Value SetBusyPoll(const Napi::CallbackInfo& info);
  Napi::Value AttachFilter(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  static void OnPoll(uv_poll_t* handle, int status, int events);
  void Drain(Port& port);
  int DrainOnce(Port& port);
  void BusyPoll();
  int ReadTap(Port& port);
  int ReadPacket(Port& port);
  void Dispatch(int srcIndex, int count);
  void SendTo(Port& dst, uint32_t bit, int count);
  bool StartPoll(Port& port);
  Napi::Value UseTap(Napi::Env env, int fd, const char* name);
  void ClosePortAt(int index);
  double& Ctr(int port, Counter c) { return counters_[port * kCounterCount + c]; }

  Port ports_[kMaxPorts];
  Napi::FunctionReference onBatch_;
  Napi::ObjectReference arenaRef_, offsetsRef_, lengthsRef_, verdictsRef_, pkttypesRef_, countersRef_;
  uint8_t* arena_ = nullptr;
  uint32_t* offsets_ = nullptr;
  uint32_t* lengths_ = nullptr;
  uint32_t* verdicts_ = nullptr;
  uint8_t* pkttypes_ = nullptr;
  double* counters_ = nullptr;
  uint32_t slotSize_ = 0;
  uint32_t batchMax_ = 0;
  bool closed_ = false;
  bool inCallback_ = false;
  // After a batch, keep polling every fd for this long (ns) before going back to epoll, so a
  // reply that follows within microseconds needs no wake-up; capped per wake. 0 = off.
  int64_t busyPollNs_ = 0;
  // Reused scratch, sized to batchMax_ once. recvmmsg has its own headers, filled at
  // construction (each names its arena slot, address and control buffer); a call only resets
  // the fields the kernel wrote in the entries the previous call used (rxUsed_).
  std::vector<struct mmsghdr> rxMsgs_;
  std::vector<struct iovec> rxIovs_;
  uint32_t rxUsed_ = 0;
  std::vector<struct mmsghdr> msgs_;
  std::vector<struct iovec> iovs_;
  std::vector<struct sockaddr_ll> addrs_;
  std::vector<uint8_t> cmsgs_;
};
