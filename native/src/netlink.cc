#include "netlink.h"

#include "args.h"

#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <vector>

#include "sys_error.h"

namespace { constexpr size_t kBuf = 1 << 16; }

Napi::Function NetlinkSocket::Init(Napi::Env env) {
  return DefineClass(env, "NetlinkSocket", {
    InstanceMethod("request", &NetlinkSocket::Request),
    InstanceMethod("close", &NetlinkSocket::Close),
  });
}

// new NetlinkSocket(groups, onMessage?)
NetlinkSocket::NetlinkSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkSocket>(info) {
  Napi::Env env = info.Env();
  if ((info.Length() > 0 && !info[0].IsUndefined() && !info[0].IsNumber()) ||
      (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsFunction())) {
    Napi::TypeError::New(env, "NetlinkSocket: arguments must be (groups?: number, onMessage?: function)").ThrowAsJavaScriptException();
    return;
  }
  uint32_t groups = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 0;
  bool events = info.Length() > 1 && info[1].IsFunction();
  fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | (events ? SOCK_NONBLOCK : 0), NETLINK_ROUTE);
  if (fd_ < 0) { ThrowSys(env, "socket", errno, "NETLINK_ROUTE"); return; }
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = groups;
  if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) { int e = errno; DoClose(); ThrowSys(env, "bind", e, "NETLINK_ROUTE"); return; }
  int buf = 1 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
  if (!events) {
    struct timeval tv = {2, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return;
  }
  onMessage_ = Napi::Persistent(info[1].As<Napi::Function>());
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  poll_ = new uv_poll_t;
  uv_poll_init(loop, poll_, fd_);
  poll_->data = this;
  uv_poll_start(poll_, UV_READABLE, &NetlinkSocket::OnPoll);
}

NetlinkSocket::~NetlinkSocket() { DoClose(); }

void NetlinkSocket::DoClose() {
  if (poll_) {
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

Napi::Value NetlinkSocket::Close(const Napi::CallbackInfo& info) {
  DoClose();
  return info.Env().Undefined();
}

// request(message) -> Uint8Array[]: every reply datagram until NLMSG_DONE, an ACK/error, or a
// reply without NLM_F_MULTI.
Napi::Value NetlinkSocket::Request(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0 || poll_) return ThrowSys(env, "netlink request", EBADF);
  REQUIRE_BYTES("request", 0, msg);
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  if (sendto(fd_, msg.Data(), msg.ByteLength(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
    return ThrowSys(env, "sendto", errno, "NETLINK_ROUTE");
  Napi::Array out = Napi::Array::New(env);
  std::vector<uint8_t> buf(kBuf);
  for (uint32_t k = 0;;) {
    ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ThrowSys(env, "recv", errno, "NETLINK_ROUTE");
    }
    auto b = Napi::Uint8Array::New(env, n);
    memcpy(b.Data(), buf.data(), n);
    out.Set(k++, b);
    bool done = false;
    int len = int(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR || !(h->nlmsg_flags & NLM_F_MULTI)) done = true;
    }
    if (done) break;
  }
  return out;
}

void NetlinkSocket::OnPoll(uv_poll_t* h, int status, int events) {
  auto* self = static_cast<NetlinkSocket*>(h->data);
  if (status < 0 || self->fd_ < 0) return;
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  std::vector<uint8_t> buf(kBuf);
  for (int i = 0; i < 64 && self->fd_ >= 0; i++) {
    ssize_t n = recv(self->fd_, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == ENOBUFS) continue;  // events were lost; JS resyncs on its next poll
      break;
    }
    auto b = Napi::Uint8Array::New(env, n);
    memcpy(b.Data(), buf.data(), n);
    self->onMessage_.Call({b});
    if (env.IsExceptionPending()) {
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
      return;
    }
  }
}
