#include "bpf.h"

#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "args.h"
#include "sys_error.h"

namespace {

long Bpf(int cmd, union bpf_attr* attr) { return syscall(__NR_bpf, cmd, attr, sizeof *attr); }

uint64_t Ptr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// A lookup-style command: true when found, false on ENOENT, a thrown SystemError otherwise.
Napi::Value Found(Napi::Env env, int cmd, union bpf_attr* a, const char* what) {
  if (Bpf(cmd, a) == 0) return Napi::Boolean::New(env, true);
  if (errno == ENOENT) return Napi::Boolean::New(env, false);
  return ThrowSys(env, "bpf", errno, what);
}

// bpfMapCreate(type, keySize, valueSize, maxEntries, flags, name) -> fd
Napi::Value MapCreate(const Napi::CallbackInfo& info) {
  REQUIRE_UINT32("bpfMapCreate", 0, type);
  REQUIRE_UINT32("bpfMapCreate", 1, keySize);
  REQUIRE_UINT32("bpfMapCreate", 2, valueSize);
  REQUIRE_UINT32("bpfMapCreate", 3, maxEntries);
  REQUIRE_UINT32("bpfMapCreate", 4, flags);
  REQUIRE_STRING("bpfMapCreate", 5, name);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_type = type;
  a.key_size = keySize;
  a.value_size = valueSize;
  a.max_entries = maxEntries;
  a.map_flags = flags;
  strncpy(a.map_name, name.c_str(), BPF_OBJ_NAME_LEN - 1);
  long fd = Bpf(BPF_MAP_CREATE, &a);
  if (fd < 0) return ThrowSys(info.Env(), "bpf", errno, "BPF_MAP_CREATE " + name);
  return Napi::Number::New(info.Env(), double(fd));
}

// bpfMapUpdate(fd, key, value, flags)
Napi::Value MapUpdate(const Napi::CallbackInfo& info) {
  REQUIRE_INT32("bpfMapUpdate", 0, fd);
  REQUIRE_BYTES("bpfMapUpdate", 1, key);
  REQUIRE_BYTES("bpfMapUpdate", 2, value);
  REQUIRE_UINT32("bpfMapUpdate", 3, flags);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_fd = fd;
  a.key = Ptr(key.Data());
  a.value = Ptr(value.Data());
  a.flags = flags;
  if (Bpf(BPF_MAP_UPDATE_ELEM, &a) < 0) return ThrowSys(info.Env(), "bpf", errno, "BPF_MAP_UPDATE_ELEM");
  return info.Env().Undefined();
}

// bpfMapLookup(fd, key, valueOut) -> found
Napi::Value MapLookup(const Napi::CallbackInfo& info) {
  REQUIRE_INT32("bpfMapLookup", 0, fd);
  REQUIRE_BYTES("bpfMapLookup", 1, key);
  REQUIRE_BYTES("bpfMapLookup", 2, value);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_fd = fd;
  a.key = Ptr(key.Data());
  a.value = Ptr(value.Data());
  return Found(info.Env(), BPF_MAP_LOOKUP_ELEM, &a, "BPF_MAP_LOOKUP_ELEM");
}

// bpfMapNextKey(fd, key | null, nextOut) -> found
Napi::Value MapNextKey(const Napi::CallbackInfo& info) {
  REQUIRE_INT32("bpfMapNextKey", 0, fd);
  REQUIRE_BYTES("bpfMapNextKey", 2, next);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_fd = fd;
  if (info[1].IsTypedArray()) {
    REQUIRE_BYTES("bpfMapNextKey", 1, key);
    a.key = Ptr(key.Data());
  }
  a.next_key = Ptr(next.Data());
  return Found(info.Env(), BPF_MAP_GET_NEXT_KEY, &a, "BPF_MAP_GET_NEXT_KEY");
}

// The verifier gives up with EAGAIN when a signal is pending (a profiler's SIGPROF, a child's
// SIGCHLD): the load is tried again, as libbpf does, a few times.
long ProgLoadRetrying(union bpf_attr* a) {
  long fd = -1;
  for (int i = 0; i < 5; i++) {
    fd = Bpf(BPF_PROG_LOAD, a);
    if (fd >= 0 || errno != EAGAIN) break;
  }
  return fd;
}

// bpfProgLoad(type, insns, license, name, expectedAttachType) -> fd. A refusal carries the
// verifier's log in the error's `log` property.
Napi::Value ProgLoad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_UINT32("bpfProgLoad", 0, type);
  REQUIRE_BYTES("bpfProgLoad", 1, insns);
  REQUIRE_STRING("bpfProgLoad", 2, license);
  REQUIRE_STRING("bpfProgLoad", 3, name);
  REQUIRE_UINT32("bpfProgLoad", 4, attachType);
  std::vector<char> log(1 << 20);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = type;
  a.insns = Ptr(insns.Data());
  a.insn_cnt = insns.ByteLength() / sizeof(struct bpf_insn);
  a.license = Ptr(license.c_str());
  a.expected_attach_type = attachType;
  strncpy(a.prog_name, name.c_str(), BPF_OBJ_NAME_LEN - 1);
  long fd = ProgLoadRetrying(&a);
  if (fd < 0 && errno != EPERM) {  // again with the verifier's log, to say why
    a.log_buf = Ptr(log.data());
    a.log_size = log.size();
    a.log_level = 1;
    fd = ProgLoadRetrying(&a);
  }
  if (fd < 0) {
    int err = errno;
    Napi::Error e = SysError(env, "bpf", err, "BPF_PROG_LOAD " + name);
    std::string text(log.data(), strnlen(log.data(), log.size()));
    if (text.size() > 4000) text = "..." + text.substr(text.size() - 4000);
    e.Set("log", Napi::String::New(env, text));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::Number::New(env, double(fd));
}

// bpfLinkCreate(progFd, ifindex, attachType) -> link fd (the program stays attached while the
// fd is open: a TCX link goes with the process)
Napi::Value LinkCreate(const Napi::CallbackInfo& info) {
  REQUIRE_INT32("bpfLinkCreate", 0, prog);
  REQUIRE_UINT32("bpfLinkCreate", 1, ifindex);
  REQUIRE_UINT32("bpfLinkCreate", 2, attachType);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.link_create.prog_fd = prog;
  a.link_create.target_ifindex = ifindex;
  a.link_create.attach_type = attachType;
  long fd = Bpf(BPF_LINK_CREATE, &a);
  if (fd < 0) return ThrowSys(info.Env(), "bpf", errno, "BPF_LINK_CREATE ifindex " + std::to_string(ifindex));
  return Napi::Number::New(info.Env(), double(fd));
}

// bpfProgTestRun(progFd, data, ctx | null, repeat) -> { retval, data, ctx, duration }
Napi::Value ProgTestRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_INT32("bpfProgTestRun", 0, prog);
  REQUIRE_BYTES("bpfProgTestRun", 1, data);
  REQUIRE_UINT32("bpfProgTestRun", 3, repeat);
  std::vector<uint8_t> out(data.ByteLength() + 256);
  std::vector<uint8_t> ctxOut(256);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.test.prog_fd = prog;
  a.test.data_in = Ptr(data.Data());
  a.test.data_size_in = data.ByteLength();
  a.test.data_out = Ptr(out.data());
  a.test.data_size_out = out.size();
  a.test.repeat = repeat;
  if (info[2].IsTypedArray()) {
    REQUIRE_BYTES("bpfProgTestRun", 2, ctx);
    a.test.ctx_in = Ptr(ctx.Data());
    a.test.ctx_size_in = ctx.ByteLength();
    a.test.ctx_out = Ptr(ctxOut.data());
    a.test.ctx_size_out = ctxOut.size();
  }
  if (Bpf(BPF_PROG_TEST_RUN, &a) < 0) return ThrowSys(env, "bpf", errno, "BPF_PROG_TEST_RUN");
  Napi::Object r = Napi::Object::New(env);
  r.Set("retval", Napi::Number::New(env, int32_t(a.test.retval)));
  r.Set("duration", Napi::Number::New(env, a.test.duration));
  r.Set("data", Napi::Buffer<uint8_t>::Copy(env, out.data(), std::min<size_t>(a.test.data_size_out, out.size())));
  r.Set("ctx", Napi::Buffer<uint8_t>::Copy(env, ctxOut.data(), std::min<size_t>(a.test.ctx_size_out, ctxOut.size())));
  return r;
}

// bpfProgQuery(ifindex, attachType) -> how many programs are attached there (TCX: every link)
Napi::Value ProgQuery(const Napi::CallbackInfo& info) {
  REQUIRE_UINT32("bpfProgQuery", 0, ifindex);
  REQUIRE_UINT32("bpfProgQuery", 1, attachType);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.query.target_fd = ifindex;  // target_ifindex in newer headers: the same field
  a.query.attach_type = attachType;
  if (Bpf(BPF_PROG_QUERY, &a) < 0) return ThrowSys(info.Env(), "bpf", errno, "BPF_PROG_QUERY ifindex " + std::to_string(ifindex));
  return Napi::Number::New(info.Env(), a.query.prog_cnt);
}

// bpfObjPin(fd, path): BPF_OBJ_PIN, the object (a link, a map) then outlives this process
Napi::Value ObjPin(const Napi::CallbackInfo& info) {
  REQUIRE_INT32("bpfObjPin", 0, fd);
  REQUIRE_STRING("bpfObjPin", 1, path);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.pathname = Ptr(path.c_str());
  a.bpf_fd = fd;
  if (Bpf(BPF_OBJ_PIN, &a) < 0) return ThrowSys(info.Env(), "bpf", errno, "BPF_OBJ_PIN " + path);
  return info.Env().Undefined();
}

// bpfObjGet(path) -> fd of a pinned object, or -1 when nothing is pinned there
Napi::Value ObjGet(const Napi::CallbackInfo& info) {
  REQUIRE_STRING("bpfObjGet", 0, path);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.pathname = Ptr(path.c_str());
  long fd = Bpf(BPF_OBJ_GET, &a);
  if (fd < 0 && errno == ENOENT) return Napi::Number::New(info.Env(), -1);
  if (fd < 0) return ThrowSys(info.Env(), "bpf", errno, "BPF_OBJ_GET " + path);
  return Napi::Number::New(info.Env(), double(fd));
}

// bpfLinkUpdate(linkFd, progFd): the link runs progFd from the next packet on (BPF_LINK_UPDATE)
Napi::Value LinkUpdate(const Napi::CallbackInfo& info) {
  REQUIRE_INT32("bpfLinkUpdate", 0, link);
  REQUIRE_INT32("bpfLinkUpdate", 1, prog);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.link_update.link_fd = link;
  a.link_update.new_prog_fd = prog;
  if (Bpf(BPF_LINK_UPDATE, &a) < 0) return ThrowSys(info.Env(), "bpf", errno, "BPF_LINK_UPDATE");
  return info.Env().Undefined();
}

// bpfMapInfo(fd) -> { type, keySize, valueSize, maxEntries, flags } (BPF_OBJ_GET_INFO_BY_FD)
Napi::Value MapInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  REQUIRE_INT32("bpfMapInfo", 0, fd);
  struct bpf_map_info m;
  memset(&m, 0, sizeof m);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.info.bpf_fd = fd;
  a.info.info_len = sizeof m;
  a.info.info = Ptr(&m);
  if (Bpf(BPF_OBJ_GET_INFO_BY_FD, &a) < 0) return ThrowSys(env, "bpf", errno, "BPF_OBJ_GET_INFO_BY_FD");
  Napi::Object r = Napi::Object::New(env);
  r.Set("type", m.type);
  r.Set("keySize", m.key_size);
  r.Set("valueSize", m.value_size);
  r.Set("maxEntries", m.max_entries);
  r.Set("flags", m.map_flags);
  return r;
}

// closeFd(fd)
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  REQUIRE_INT32("closeFd", 0, fd);
  if (fd >= 0) close(fd);
  return info.Env().Undefined();
}

}  // namespace

void InitBpf(Napi::Env env, Napi::Object exports) {
  exports.Set("bpfMapCreate", Napi::Function::New(env, MapCreate, "bpfMapCreate"));
  exports.Set("bpfMapUpdate", Napi::Function::New(env, MapUpdate, "bpfMapUpdate"));
  exports.Set("bpfMapLookup", Napi::Function::New(env, MapLookup, "bpfMapLookup"));
  exports.Set("bpfMapNextKey", Napi::Function::New(env, MapNextKey, "bpfMapNextKey"));
  exports.Set("bpfProgLoad", Napi::Function::New(env, ProgLoad, "bpfProgLoad"));
  exports.Set("bpfLinkCreate", Napi::Function::New(env, LinkCreate, "bpfLinkCreate"));
  exports.Set("bpfProgTestRun", Napi::Function::New(env, ProgTestRun, "bpfProgTestRun"));
  exports.Set("bpfProgQuery", Napi::Function::New(env, ProgQuery, "bpfProgQuery"));
  exports.Set("bpfObjPin", Napi::Function::New(env, ObjPin, "bpfObjPin"));
  exports.Set("bpfObjGet", Napi::Function::New(env, ObjGet, "bpfObjGet"));
  exports.Set("bpfLinkUpdate", Napi::Function::New(env, LinkUpdate, "bpfLinkUpdate"));
  exports.Set("bpfMapInfo", Napi::Function::New(env, MapInfo, "bpfMapInfo"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
}
