#include "sys_error.h"
#include <cstring>

Napi::Error SysError(Napi::Env env, const char* syscall, int err, const std::string& what) {
  const char* name = strerrorname_np(err);
  std::string code = name ? name : "EUNKNOWN";
  std::string msg = std::string(syscall) + (what.empty() ? "" : " " + what) + " failed: " +
                    std::strerror(err) + " (" + code + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

Napi::Value ThrowSys(Napi::Env env, const char* syscall, int err, const std::string& what) {
  SysError(env, syscall, err, what).ThrowAsJavaScriptException();
  return env.Undefined();
}
