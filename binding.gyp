{
  "targets": [
    {
      "target_name": "braidfs_native",
      "sources": ["src/native/addon.c"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
