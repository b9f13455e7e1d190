// A raw NETLINK_ROUTE socket. Requests (send, then read replies up to DONE/ACK) are blocking
// with a timeout; a socket opened with multicast groups is polled on the loop and hands each
// datagram to a JS callback. Message encoding and parsing live in TypeScript (src/net/rtnl.ts).
#pragma once
#include <napi.h>
#include <uv.h>

class NetlinkSocket : public Napi::ObjectWrap<NetlinkSocket> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit NetlinkSocket(const Napi::CallbackInfo& info);
  ~NetlinkSocket();

 private:
  Napi::Value Request(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  static void OnPoll(uv_poll_t* h, int status, int events);
  void DoClose();
  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference onMessage_;
};
