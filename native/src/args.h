// Argument checks for every exported function (the REQUIRE_ARGUMENT_* idea of better-sqlite3):
// a wrong call gets a TypeError naming the function, the argument and what it must be, instead
// of reading garbage through an unchecked As<>(). C++ exceptions are off, so each check leaves
// a pending JS exception and the REQUIRE_* macro returns from the calling function.
#pragma once
#include <napi.h>
#include <string>

namespace args {

inline bool Fail(const Napi::CallbackInfo& info, const char* fn, size_t i, const char* what) {
  Napi::TypeError::New(info.Env(), std::string(fn) + ": argument " + std::to_string(i + 1) + " must be " + what)
      .ThrowAsJavaScriptException();
  return false;
}

inline bool Number(const Napi::CallbackInfo& info, const char* fn, size_t i) {
  return (info.Length() > i && info[i].IsNumber()) || Fail(info, fn, i, "a number");
}

inline bool Int32(const Napi::CallbackInfo& info, const char* fn, size_t i, int32_t* out) {
  if (!Number(info, fn, i)) return false;
  *out = info[i].As<Napi::Number>().Int32Value();
  return true;
}

inline bool Uint32(const Napi::CallbackInfo& info, const char* fn, size_t i, uint32_t* out) {
  if (!Number(info, fn, i)) return false;
  *out = info[i].As<Napi::Number>().Uint32Value();
  return true;
}

inline bool Double(const Napi::CallbackInfo& info, const char* fn, size_t i, double* out) {
  if (!Number(info, fn, i)) return false;
  *out = info[i].As<Napi::Number>().DoubleValue();
  return true;
}

inline bool Bool(const Napi::CallbackInfo& info, const char* fn, size_t i, bool* out) {
  if (info.Length() <= i || !info[i].IsBoolean()) return Fail(info, fn, i, "a boolean");
  *out = info[i].As<Napi::Boolean>().Value();
  return true;
}

inline bool String(const Napi::CallbackInfo& info, const char* fn, size_t i, std::string* out) {
  if (info.Length() <= i || !info[i].IsString()) return Fail(info, fn, i, "a string");
  *out = info[i].As<Napi::String>().Utf8Value();
  return true;
}

inline bool Bytes(const Napi::CallbackInfo& info, const char* fn, size_t i, Napi::Uint8Array* out) {
  if (info.Length() <= i || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    return Fail(info, fn, i, "a Uint8Array");
  *out = info[i].As<Napi::Uint8Array>();
  return true;
}

inline bool Array(const Napi::CallbackInfo& info, const char* fn, size_t i, Napi::Array* out) {
  if (info.Length() <= i || !info[i].IsArray()) return Fail(info, fn, i, "an array");
  *out = info[i].As<Napi::Array>();
  return true;
}

}  // namespace args

// `REQUIRE_INT32(fn, i, var);` declares var from argument i or returns undefined with a TypeError.
#define TB_REQUIRE(kind, type, fn, i, var) \
  type var{};                              \
  if (!args::kind(info, fn, i, &var)) return info.Env().Undefined()
#define REQUIRE_INT32(fn, i, var) TB_REQUIRE(Int32, int32_t, fn, i, var)
#define REQUIRE_UINT32(fn, i, var) TB_REQUIRE(Uint32, uint32_t, fn, i, var)
#define REQUIRE_DOUBLE(fn, i, var) TB_REQUIRE(Double, double, fn, i, var)
#define REQUIRE_BOOL(fn, i, var) TB_REQUIRE(Bool, bool, fn, i, var)
#define REQUIRE_STRING(fn, i, var) TB_REQUIRE(String, std::string, fn, i, var)
#define REQUIRE_BYTES(fn, i, var) TB_REQUIRE(Bytes, Napi::Uint8Array, fn, i, var)
#define REQUIRE_ARRAY(fn, i, var) TB_REQUIRE(Array, Napi::Array, fn, i, var)
