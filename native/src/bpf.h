// The bpf() syscall, thinly: maps, program load, TCX links, test runs. Which program runs where
// and what its maps hold is decided in TypeScript (src/fastpath/); no policy here.
#pragma once
#include <napi.h>

void InitBpf(Napi::Env env, Napi::Object exports);
