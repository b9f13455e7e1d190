#include "fds.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "args.h"
#include "sys_error.h"

bool UnixAddr(const std::string& path, struct sockaddr_un* sa, socklen_t* len) {
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof sa->sun_path) return false;
  memcpy(sa->sun_path, path.data(), path.size());
  if (sa->sun_path[0] == '@') sa->sun_path[0] = 0;
  *len = offsetof(struct sockaddr_un, sun_path) + path.size();
  return true;
}

namespace {
constexpr int kMaxFds = 32;  // SCM_RIGHTS per datagram, ours and systemd's alike
}  // namespace

Napi::Value SendDatagram(Napi::Env env, const std::string& path, const void* data, size_t size, const std::vector<int>& fds) {
  if (fds.size() > size_t(kMaxFds)) return ThrowSys(env, "sendmsg", EINVAL, "too many fds");
  struct sockaddr_un sa;
  socklen_t len;
  if (!UnixAddr(path, &sa, &len)) return ThrowSys(env, "sendmsg", EINVAL, "socket path '" + path + "'");
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return ThrowSys(env, "socket", errno, "AF_UNIX");
  struct iovec iov = {const_cast<void*>(data), size};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFds), 0);
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_name = &sa;
  m.msg_namelen = len;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (!fds.empty()) {
    m.msg_control = control.data();
    m.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    struct cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n = sendmsg(s, &m, MSG_NOSIGNAL);
  int err = errno;
  close(s);
  if (n < 0) return ThrowSys(env, "sendmsg", err, path);
  return env.Undefined();
}

namespace {

// sendFds(path, bytes, fds): one datagram with the fds attached (SCM_RIGHTS). The receiver gets
// its own copies; the caller still owns (and closes) these.
Napi::Value SendFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_STRING("sendFds", 0, path);
  REQUIRE_BYTES("sendFds", 1, msg);
  REQUIRE_ARRAY("sendFds", 2, list);
  std::vector<int> fds;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsNumber()) return ThrowSys(env, "sendFds", EINVAL, "fds: numbers expected");
    fds.push_back(v.As<Napi::Number>().Int32Value());
  }
  return SendDatagram(env, path, msg.Data(), msg.ByteLength(), fds);
}

// bindDatagram(path) -> fd: a unix datagram socket bound at path, to receive one hand-over.
Napi::Value BindDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_STRING("bindDatagram", 0, path);
  struct sockaddr_un sa;
  socklen_t len;
  if (!UnixAddr(path, &sa, &len)) return ThrowSys(env, "bind", EINVAL, "socket path '" + path + "'");
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return ThrowSys(env, "socket", errno, "AF_UNIX");
  if (bind(s, reinterpret_cast<struct sockaddr*>(&sa), len) < 0) {
    int err = errno;
    close(s);
    return ThrowSys(env, "bind", err, path);
  }
  return Napi::Number::New(env, s);
}

// recvFds(fd, timeoutMs) -> { data, fds } | null (nothing within the time). Blocks the thread
// for at most timeoutMs: used once at start-up, before any bond runs.
Napi::Value RecvFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_INT32("recvFds", 0, s);
  REQUIRE_INT32("recvFds", 1, timeoutMs);
  struct pollfd p = {s, POLLIN, 0};
  int r = poll(&p, 1, timeoutMs);
  if (r < 0) return ThrowSys(env, "poll", errno);
  if (r == 0) return env.Null();
  std::vector<uint8_t> buf(256 << 10);
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFds), 0);
  struct iovec iov = {buf.data(), buf.size()};
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = control.data();
  m.msg_controllen = control.size();
  ssize_t n = recvmsg(s, &m, MSG_CMSG_CLOEXEC);
  if (n < 0) return ThrowSys(env, "recvmsg", errno);
  Napi::Array fds = Napi::Array::New(env);
  uint32_t k = 0;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const int* got = reinterpret_cast<const int*>(CMSG_DATA(c));
    for (size_t i = 0; i < count; i++) fds.Set(k++, Napi::Number::New(env, got[i]));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("data", Napi::Buffer<uint8_t>::Copy(env, buf.data(), size_t(n)));
  out.Set("fds", fds);
  out.Set("truncated", Napi::Boolean::New(env, (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0));
  return out;
}

// setCloexec(fd, on): whether fd goes with an execve (off: the new program inherits it).
Napi::Value SetCloexec(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_INT32("setCloexec", 0, fd);
  REQUIRE_BOOL("setCloexec", 1, on);
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0) return ThrowSys(env, "fcntl", errno, "F_GETFD");
  if (fcntl(fd, F_SETFD, on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC)) < 0) return ThrowSys(env, "fcntl", errno, "F_SETFD");
  return env.Undefined();
}

// execve(path, argv, env): replaces this process (the same pid) with a new program; returns
// only on failure. Node 20 has no process.execve.
Napi::Value Execve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_STRING("execve", 0, path);
  REQUIRE_ARRAY("execve", 1, argvIn);
  REQUIRE_ARRAY("execve", 2, envIn);
  std::vector<std::string> a, e;
  for (uint32_t i = 0; i < argvIn.Length(); i++) a.push_back(argvIn.Get(i).ToString().Utf8Value());
  for (uint32_t i = 0; i < envIn.Length(); i++) e.push_back(envIn.Get(i).ToString().Utf8Value());
  std::vector<char*> av, ev;
  for (auto& s : a) av.push_back(&s[0]);
  av.push_back(nullptr);
  for (auto& s : e) ev.push_back(&s[0]);
  ev.push_back(nullptr);
  execve(path.c_str(), av.data(), ev.data());
  return ThrowSys(env, "execve", errno, path);
}

}  // namespace

void InitFds(Napi::Env env, Napi::Object exports) {
  exports.Set("sendFds", Napi::Function::New(env, SendFds, "sendFds"));
  exports.Set("bindDatagram", Napi::Function::New(env, BindDatagram, "bindDatagram"));
  exports.Set("recvFds", Napi::Function::New(env, RecvFds, "recvFds"));
  exports.Set("setCloexec", Napi::Function::New(env, SetCloexec, "setCloexec"));
  exports.Set("execve", Napi::Function::New(env, Execve, "execve"));
}
