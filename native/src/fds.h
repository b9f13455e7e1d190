// File descriptors that outlive a bondd: passed over unix sockets (SCM_RIGHTS: systemd's fd
// store, a hand-over to the next bondd) and across execve (a reload). Thin wrappers only.
#pragma once
#include <napi.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <string>
#include <vector>

// One datagram to the unix socket at path, with `fds` attached (SCM_RIGHTS) when there are any.
// Returns undefined, or throws a SystemError.
Napi::Value SendDatagram(Napi::Env env, const std::string& path, const void* data, size_t size, const std::vector<int>& fds);

// A unix socket address from a path; a leading '@' names an abstract socket. False when the
// path does not fit.
bool UnixAddr(const std::string& path, struct sockaddr_un* sa, socklen_t* len);

void InitFds(Napi::Env env, Napi::Object exports);
