// Optional native convolutions for the workspace's wasm engine (src/engine/native).
//
// The three convolutions of training (forward, input gradient, filter gradient) computed by
// oneDNN (the library PyTorch uses on CPU) directly on the wasm backend's heap: tensors stay
// where tfjs-backend-wasm keeps them (NHWC activations, HWIO filters); only the filter is
// reordered to oneDNN's blocked layout (and the filter gradient back), a few hundred KB at most.
//
// JS API (all synchronous):
//   run(op, heap, p)  op: 0 forward y = conv(x, w); 1 input gradient dx = conv_bwd_data(dy, w);
//                     2 filter gradient dw = conv_bwd_weights(x, dy).
//                     heap: the wasm memory's ArrayBuffer; p: Float64Array
//                     [N, H, W, C, F, KH, KW, stride, padTop, padLeft, Ho, Wo, offA, offB, offOut]
//                     with byte offsets on the heap: op 0 (x, w, y), op 1 (dy, w, dx), op 2 (x, dy, dw).
//   setThreads(n)     OpenMP threads of the calling JS thread's oneDNN calls (default 1).
//   info()            { version: "2.6.3", isa: "...", threads }
//
// Primitives are created once per (op, shape) and kept per JS thread (worker_threads each have
// their own), so calls from several threads never share state. oneDNN is deterministic for a
// fixed thread count and ISA, which keeps a run's bits reproducible.
#include <node_api.h>
#include <omp.h>
#include <dnnl.hpp>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

struct Conv {
  // forward hint (also the forward primitive)
  std::unique_ptr<dnnl::convolution_forward::primitive_desc> fwd_pd;
  dnnl::primitive prim;
  memory::desc user_w;   // HWIO as oneDNN dims {F, C, KH, KW}
  memory::desc prim_w;   // the primitive's (diff_)weights layout
  bool reorder = false;
  dnnl::reorder to_prim;    // user -> prim (ops 0, 1)
  dnnl::reorder from_prim;  // prim -> user (op 2)
  std::vector<float> wbuf;
  std::vector<uint8_t> scratch;
  memory::desc scratch_md;
};

struct ThreadState {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::unordered_map<std::string, std::unique_ptr<Conv>> convs;
  int threads = 1;
};

thread_local std::unique_ptr<ThreadState> state;

ThreadState& st() {
  if (!state) state = std::make_unique<ThreadState>();
  return *state;
}

std::unique_ptr<Conv> make(int op, const int64_t* q) {
  const int64_t N = q[0], H = q[1], W = q[2], C = q[3], F = q[4], KH = q[5], KW = q[6], S = q[7];
  const int64_t pt = q[8], pl = q[9], Ho = q[10], Wo = q[11];
  // oneDNN wants the right/bottom padding that makes the output size exact.
  const int64_t pb = (Ho - 1) * S + KH - H - pt;
  const int64_t pr = (Wo - 1) * S + KW - W - pl;
  ThreadState& s = st();
  auto c = std::make_unique<Conv>();
  memory::desc src({N, C, H, W}, dt::f32, tag::nhwc);
  memory::desc dst({N, F, Ho, Wo}, dt::f32, tag::nhwc);
  memory::desc wany({F, C, KH, KW}, dt::f32, tag::any);
  c->user_w = memory::desc({F, C, KH, KW}, dt::f32, tag::hwio);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const memory::dims strides{S, S}, padl{pt, pl}, padr{pb, pr};
  dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                     src, wany, dst, strides, padl, padr);
  c->fwd_pd = std::make_unique<dnnl::convolution_forward::primitive_desc>(fd, attr, s.eng);
  memory::desc& scratch_md = c->scratch_md;
  if (op == 0) {
    c->prim_w = c->fwd_pd->weights_desc();
    c->prim = dnnl::convolution_forward(*c->fwd_pd);
    scratch_md = c->fwd_pd->scratchpad_desc();
  } else if (op == 1) {
    dnnl::convolution_backward_data::desc bd(dnnl::algorithm::convolution_direct, src, wany, dst, strides, padl, padr);
    dnnl::convolution_backward_data::primitive_desc pd(bd, attr, s.eng, *c->fwd_pd);
    c->prim_w = pd.weights_desc();
    c->prim = dnnl::convolution_backward_data(pd);
    scratch_md = pd.scratchpad_desc();
  } else {
    dnnl::convolution_backward_weights::desc bd(dnnl::algorithm::convolution_direct, src, wany, dst, strides, padl, padr);
    dnnl::convolution_backward_weights::primitive_desc pd(bd, attr, s.eng, *c->fwd_pd);
    c->prim_w = pd.diff_weights_desc();
    c->prim = dnnl::convolution_backward_weights(pd);
    scratch_md = pd.scratchpad_desc();
  }
  c->reorder = c->prim_w != c->user_w;
  if (c->reorder) {
    c->wbuf.resize(c->prim_w.get_size() / sizeof(float) + 16);
    if (op == 2) {
      c->from_prim = dnnl::reorder(dnnl::reorder::primitive_desc(s.eng, c->prim_w, s.eng, c->user_w));
    } else {
      c->to_prim = dnnl::reorder(dnnl::reorder::primitive_desc(s.eng, c->user_w, s.eng, c->prim_w));
    }
  }
  c->scratch.resize(scratch_md.get_size() + 64);
  return c;
}

napi_value throwError(napi_env env, const std::string& msg) {
  napi_throw_error(env, nullptr, msg.c_str());
  return nullptr;
}

napi_value Run(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 3) return throwError(env, "onednn.run(op, heap, params): 3 arguments expected");
  int32_t op = -1;
  if (napi_get_value_int32(env, argv[0], &op) != napi_ok || op < 0 || op > 2) {
    return throwError(env, "onednn.run: op must be 0, 1 or 2");
  }
  void* heap = nullptr;
  size_t heapBytes = 0;
  if (napi_get_arraybuffer_info(env, argv[1], &heap, &heapBytes) != napi_ok) {
    return throwError(env, "onednn.run: heap must be an ArrayBuffer (the wasm memory's buffer)");
  }
  napi_typedarray_type type;
  size_t len = 0;
  void* pdata = nullptr;
  if (napi_get_typedarray_info(env, argv[2], &type, &len, &pdata, nullptr, nullptr) != napi_ok ||
      type != napi_float64_array || len != 15) {
    return throwError(env, "onednn.run: params must be a Float64Array of 15 numbers");
  }
  const double* pd = static_cast<const double*>(pdata);
  int64_t q[15];
  for (int i = 0; i < 15; i++) q[i] = static_cast<int64_t>(pd[i]);
  const int64_t N = q[0], H = q[1], W = q[2], C = q[3], F = q[4], KH = q[5], KW = q[6];
  const int64_t Ho = q[10], Wo = q[11];
  const int64_t inBytes = N * H * W * C * 4, wBytes = KH * KW * C * F * 4, outBytes = N * Ho * Wo * F * 4;
  const int64_t sizes[3][3] = {{inBytes, wBytes, outBytes}, {outBytes, wBytes, inBytes}, {inBytes, outBytes, wBytes}};
  for (int i = 0; i < 3; i++) {
    if (q[12 + i] < 0 || q[12 + i] + sizes[op][i] > static_cast<int64_t>(heapBytes)) {
      return throwError(env, "onednn.run: a tensor lies outside the heap");
    }
  }
  ThreadState& s = st();
  std::string key(reinterpret_cast<const char*>(q), sizeof(int64_t) * 12);
  key.push_back(static_cast<char>('0' + op));
  try {
    // before make(): oneDNN's kernels fix their thread split when the primitive is created, from
    // the OpenMP maximum then in force; created at the default (every core), the first shape of a
    // process ran on all cores' OpenMP threads while the process meant one (3-4x its CPU time).
    omp_set_num_threads(s.threads);
    auto it = s.convs.find(key);
    if (it == s.convs.end()) it = s.convs.emplace(key, make(op, q)).first;
    Conv& c = *it->second;
    char* base = static_cast<char*>(heap);
    memory a(c.fwd_pd->src_desc(), s.eng, base + q[12]);
    memory::desc dstd = c.fwd_pd->dst_desc();
    memory scratch(c.scratch_md, s.eng, c.scratch.data());
    if (op == 0 || op == 1) {
      memory wuser(c.user_w, s.eng, base + q[13]);
      memory wprim = c.reorder ? memory(c.prim_w, s.eng, c.wbuf.data()) : wuser;
      if (c.reorder) c.to_prim.execute(s.strm, wuser, wprim);
      if (op == 0) {
        memory y(dstd, s.eng, base + q[14]);
        c.prim.execute(s.strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, wprim}, {DNNL_ARG_DST, y}, {DNNL_ARG_SCRATCHPAD, scratch}});
      } else {
        memory dy(dstd, s.eng, base + q[12]);
        memory dx(c.fwd_pd->src_desc(), s.eng, base + q[14]);
        c.prim.execute(s.strm, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, wprim}, {DNNL_ARG_DIFF_SRC, dx}, {DNNL_ARG_SCRATCHPAD, scratch}});
      }
    } else {
      memory dy(dstd, s.eng, base + q[13]);
      memory wuser(c.user_w, s.eng, base + q[14]);
      memory wprim = c.reorder ? memory(c.prim_w, s.eng, c.wbuf.data()) : wuser;
      c.prim.execute(s.strm, {{DNNL_ARG_SRC, a}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, wprim}, {DNNL_ARG_SCRATCHPAD, scratch}});
      if (c.reorder) c.from_prim.execute(s.strm, wprim, wuser);
    }
    s.strm.wait();
  } catch (const dnnl::error& e) {
    return throwError(env, std::string("onednn: ") + e.what());
  } catch (const std::exception& e) {
    return throwError(env, std::string("onednn: ") + e.what());
  }
  return nullptr;
}

napi_value SetThreads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t n = 0;
  if (argc != 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1 || n > 1024) {
    return throwError(env, "onednn.setThreads(n): n must be an integer from 1 to 1024");
  }
  // primitives keep the thread split they were created with: create them again for the new count
  if (st().threads != n) st().convs.clear();
  st().threads = n;
  return nullptr;
}

napi_value Info(napi_env env, napi_callback_info) {
  const dnnl_version_t* v = dnnl_version();
  napi_value obj, version, isa, threads;
  napi_create_object(env, &obj);
  std::string ver = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  napi_create_string_utf8(env, ver.c_str(), NAPI_AUTO_LENGTH, &version);
  const char* isaName = "unknown";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx: isaName = "avx512_core_amx"; break;
    case dnnl::cpu_isa::avx512_core_bf16: isaName = "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_vnni: isaName = "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core: isaName = "avx512_core"; break;
    case dnnl::cpu_isa::avx2_vnni: isaName = "avx2_vnni"; break;
    case dnnl::cpu_isa::avx2: isaName = "avx2"; break;
    case dnnl::cpu_isa::avx: isaName = "avx"; break;
    case dnnl::cpu_isa::sse41: isaName = "sse41"; break;
    default: break;
  }
  napi_create_string_utf8(env, isaName, NAPI_AUTO_LENGTH, &isa);
  napi_create_int32(env, st().threads, &threads);
  napi_set_named_property(env, obj, "version", version);
  napi_set_named_property(env, obj, "isa", isa);
  napi_set_named_property(env, obj, "threads", threads);
  return obj;
}

}  // namespace

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"run", nullptr, Run, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, SetThreads, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, 3, props);
  return exports;
}
