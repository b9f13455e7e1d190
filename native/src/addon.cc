// Module init: registers the classes and functions only. See native/README.md.
#include <napi.h>

#include "bpf.h"
#include "engine.h"
#include "fds.h"
#include "link.h"
#include "netlink.h"

void CloseAllEngines(void*);

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Engine", Engine::Init(env));
  exports.Set("NetlinkSocket", NetlinkSocket::Init(env));
  InitLink(env, exports);
  InitBpf(env, exports);
  InitFds(env, exports);
  exports.Set("COUNTERS", Napi::Number::New(env, kCounterCount));
  exports.Set("MAX_PORTS", Napi::Number::New(env, kMaxPorts));
  exports.Set("VNET_HDR_LEN", Napi::Number::New(env, kVnetHdrLen));
  exports.Set("HEADROOM", Napi::Number::New(env, kHeadroom));
  napi_add_env_cleanup_hook(env, CloseAllEngines, nullptr);
  return exports;
}

NODE_API_MODULE(tapbond, Init)
