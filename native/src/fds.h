// File descriptors that outlive a bondd: passed over unix sockets (SCM_RIGHTS: systemd's fd
// store, a hand-over to the next bondd) and across execve (a reload). Thin wrappers only.
#pragma once
#include <napi.h>

void InitFds(Napi::Env env, Napi::Object exports);
