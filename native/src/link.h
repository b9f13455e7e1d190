// Link queries and settings through ioctls on an AF_INET datagram socket (the process's
// network namespace): flags, MTU, MAC, ethtool speed/duplex/link. Thin wrappers only.
#pragma once
#include <napi.h>

void InitLink(Napi::Env env, Napi::Object exports);
