#include "link.h"

#include "args.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <net/if_arp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <malloc.h>
#include <sched.h>
#include <unistd.h>

#include "fds.h"
#include "sys_error.h"

namespace {
int CtlSock() {
  static int fd = -1;
  if (fd < 0) fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  return fd;
}

bool NameArg(const Napi::CallbackInfo& info, struct ifreq& ifr) {
  memset(&ifr, 0, sizeof ifr);
  if (info.Length() < 1 || !info[0].IsString()) {
    Napi::TypeError::New(info.Env(), "interface name expected").ThrowAsJavaScriptException();
    return false;
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.empty() || name.size() >= IFNAMSIZ) {
    SysError(info.Env(), "ifname", EINVAL, "'" + name + "'").ThrowAsJavaScriptException();
    return false;
  }
  strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  return true;
}

// linkInfo(name, ethtool = true) -> { ifindex, flags, mtu, mac, type, speed, duplex, link }
// With ethtool false only the ioctls that run under RCU are made: SIOCETHTOOL takes the RTNL
// lock, which the kernel holds through a link change (a carrier loss's own processing).
Napi::Value LinkInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct ifreq ifr;
  if (!NameArg(info, ifr)) return env.Undefined();
  int s = CtlSock();
  Napi::Object r = Napi::Object::New(env);
  if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) return ThrowSys(env, "ioctl", errno, std::string("SIOCGIFINDEX ") + ifr.ifr_name);
  r.Set("ifindex", ifr.ifr_ifindex);
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) return ThrowSys(env, "ioctl", errno, "SIOCGIFFLAGS");
  r.Set("flags", Napi::Number::New(env, (unsigned short)ifr.ifr_flags));
  if (ioctl(s, SIOCGIFMTU, &ifr) < 0) return ThrowSys(env, "ioctl", errno, "SIOCGIFMTU");
  r.Set("mtu", ifr.ifr_mtu);
  if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0) return ThrowSys(env, "ioctl", errno, "SIOCGIFHWADDR");
  r.Set("type", ifr.ifr_hwaddr.sa_family);
  auto mac = Napi::Uint8Array::New(env, 6);
  memcpy(mac.Data(), ifr.ifr_hwaddr.sa_data, 6);
  r.Set("mac", mac);
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsBoolean()) {
      args::Fail(info, "linkInfo", 1, "a boolean");
      return env.Undefined();
    }
    if (!info[1].As<Napi::Boolean>().Value()) {
      r.Set("speed", -1);
      r.Set("duplex", "unknown");
      r.Set("link", env.Null());
      return r;
    }
  }

  struct ethtool_cmd ecmd;
  memset(&ecmd, 0, sizeof ecmd);
  ecmd.cmd = ETHTOOL_GSET;
  ifr.ifr_data = reinterpret_cast<char*>(&ecmd);
  if (ioctl(s, SIOCETHTOOL, &ifr) == 0) {
    uint32_t speed = ethtool_cmd_speed(&ecmd);
    r.Set("speed", (speed == 0 || speed == (uint32_t)SPEED_UNKNOWN) ? -1 : (double)speed);
    r.Set("duplex", ecmd.duplex == DUPLEX_FULL ? "full" : ecmd.duplex == DUPLEX_HALF ? "half" : "unknown");
  } else {
    r.Set("speed", -1);
    r.Set("duplex", "unknown");
  }
  struct ethtool_value ev;
  memset(&ev, 0, sizeof ev);
  ev.cmd = ETHTOOL_GLINK;
  ifr.ifr_data = reinterpret_cast<char*>(&ev);
  if (ioctl(s, SIOCETHTOOL, &ifr) == 0) r.Set("link", Napi::Boolean::New(env, ev.data != 0));
  else r.Set("link", env.Null());
  return r;
}

Napi::Value SetMac(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct ifreq ifr;
  if (!NameArg(info, ifr)) return env.Undefined();
  REQUIRE_BYTES("setMac", 1, mac);
  if (mac.ByteLength() != 6) return ThrowSys(env, "setMac", EINVAL, "mac length");
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  memcpy(ifr.ifr_hwaddr.sa_data, mac.Data(), 6);
  if (ioctl(CtlSock(), SIOCSIFHWADDR, &ifr) < 0) return ThrowSys(env, "ioctl", errno, std::string("SIOCSIFHWADDR ") + ifr.ifr_name);
  return env.Undefined();
}

Napi::Value SetMtu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct ifreq ifr;
  if (!NameArg(info, ifr)) return env.Undefined();
  REQUIRE_INT32("setMtu", 1, mtu);
  ifr.ifr_mtu = mtu;
  if (ioctl(CtlSock(), SIOCSIFMTU, &ifr) < 0) return ThrowSys(env, "ioctl", errno, std::string("SIOCSIFMTU ") + ifr.ifr_name);
  return env.Undefined();
}

Napi::Value SetFlags(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct ifreq ifr;
  if (!NameArg(info, ifr)) return env.Undefined();
  REQUIRE_UINT32("setFlags", 1, flags);
  ifr.ifr_flags = (short)flags;
  if (ioctl(CtlSock(), SIOCSIFFLAGS, &ifr) < 0) return ThrowSys(env, "ioctl", errno, std::string("SIOCSIFFLAGS ") + ifr.ifr_name);
  return env.Undefined();
}

// setAffinity([cpu, ...]): pins the calling (main, datapath) thread.
Napi::Value SetAffinity(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_ARRAY("setAffinity", 0, list);
  cpu_set_t set;
  CPU_ZERO(&set);
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value v = list.Get(i);
    if (!v.IsNumber()) return ThrowSys(env, "sched_setaffinity", EINVAL, "cpu list entry " + std::to_string(i) + " is not a number");
    int c = v.As<Napi::Number>().Int32Value();
    if (c < 0 || c >= CPU_SETSIZE) return ThrowSys(env, "sched_setaffinity", EINVAL, "cpu " + std::to_string(c));
    CPU_SET(c, &set);
  }
  if (sched_setaffinity(0, sizeof set, &set) < 0) return ThrowSys(env, "sched_setaffinity", errno);
  return env.Undefined();
}

Napi::Value IfName(const Napi::CallbackInfo& info) {
  REQUIRE_UINT32("ifName", 0, ifindex);
  char buf[IF_NAMESIZE];
  if (!if_indextoname(ifindex, buf)) return info.Env().Null();
  return Napi::String::New(info.Env(), buf);
}
// sendUnixDatagram(path, bytes): one datagram to a unix socket (sd_notify's NOTIFY_SOCKET; a
// leading '@' names an abstract socket). Node's dgram module has no AF_UNIX.
Napi::Value SendUnixDatagram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_STRING("sendUnixDatagram", 0, path);
  REQUIRE_BYTES("sendUnixDatagram", 1, msg);
  return SendDatagram(env, path, msg.Data(), msg.ByteLength(), {});
}
// raiseCaps(): effective := permitted (file capabilities given as +p only, so that an exec
// without them in the bounding set still starts and can say what is missing). Returns
// { effective, permitted } as the low 32 capability bits.
Napi::Value RaiseCaps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  if (syscall(SYS_capget, &hdr, data) < 0) return ThrowSys(env, "capget", errno);
  if (data[0].effective != data[0].permitted || data[1].effective != data[1].permitted) {
    data[0].effective = data[0].permitted;
    data[1].effective = data[1].permitted;
    if (syscall(SYS_capset, &hdr, data) < 0) return ThrowSys(env, "capset", errno);
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("effective", Napi::Number::New(env, data[0].effective));
  r.Set("permitted", Napi::Number::New(env, data[0].permitted));
  return r;
}
// mallocArenaMax(n): glibc's mallopt(M_ARENA_MAX, n). A thread's first malloc after this takes
// one of at most n arenas instead of a new one of its own. false where the C library has no
// such setting (or refuses the value).
Napi::Value MallocArenaMax(const Napi::CallbackInfo& info) {
  REQUIRE_INT32("mallocArenaMax", 0, n);
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
  return Napi::Boolean::New(info.Env(), n > 0 && mallopt(M_ARENA_MAX, n) == 1);
#else
  (void)n;
  return Napi::Boolean::New(info.Env(), false);
#endif
}
// The credentials of the process at the other end of a unix socket (SO_PEERCRED).
Napi::Value PeerCred(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_INT32("peerCred", 0, fd);
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return ThrowSys(env, "getsockopt SO_PEERCRED", errno);
  Napi::Object r = Napi::Object::New(env);
  r.Set("pid", Napi::Number::New(env, cred.pid));
  r.Set("uid", Napi::Number::New(env, cred.uid));
  r.Set("gid", Napi::Number::New(env, cred.gid));
  return r;
}
}  // namespace

void InitLink(Napi::Env env, Napi::Object exports) {
  exports.Set("linkInfo", Napi::Function::New(env, LinkInfo));
  exports.Set("setMac", Napi::Function::New(env, SetMac));
  exports.Set("setMtu", Napi::Function::New(env, SetMtu));
  exports.Set("setFlags", Napi::Function::New(env, SetFlags));
  exports.Set("ifName", Napi::Function::New(env, IfName));
  exports.Set("setAffinity", Napi::Function::New(env, SetAffinity));
  exports.Set("sendUnixDatagram", Napi::Function::New(env, SendUnixDatagram));
  exports.Set("raiseCaps", Napi::Function::New(env, RaiseCaps));
  exports.Set("peerCred", Napi::Function::New(env, PeerCred));
  exports.Set("mallocArenaMax", Napi::Function::New(env, MallocArenaMax));
}
