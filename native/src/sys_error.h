// errno -> JS Error shaped like Node's SystemError: { code: 'EPERM', errno, syscall, message }.
#pragma once
#include <napi.h>
#include <string>

Napi::Error SysError(Napi::Env env, const char* syscall, int err, const std::string& what = "");
// Throws a SysError and returns an empty value, for `return ThrowSys(...)` in methods.
Napi::Value ThrowSys(Napi::Env env, const char* syscall, int err, const std::string& what = "");
