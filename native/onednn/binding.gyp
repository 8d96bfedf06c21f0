{
  "targets": [
    {
      "target_name": "onednn",
      "sources": ["src/onednn.cc"],
      "cflags_cc": ["-O2", "-std=c++17", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "include_dirs": ["<!(node -p \"process.env.ONEDNN_ROOT ? process.env.ONEDNN_ROOT + '/include' : '/usr/include'\")"],
      "libraries": [
        "<!(node -p \"process.env.ONEDNN_ROOT ? '-L' + process.env.ONEDNN_ROOT + '/lib -Wl,-rpath,' + process.env.ONEDNN_ROOT + '/lib' : ''\")",
        "-ldnnl", "-lgomp"
      ]
    }
  ]
}
