{
  "targets": [
    {
      "target_name": "tapbond",
      "sources": [
        "native/src/addon.cc",
        "native/src/bpf.cc",
        "native/src/engine.cc",
        "native/src/fds.cc",
        "native/src/link.cc",
        "native/src/netlink.cc",
        "native/src/sys_error.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
