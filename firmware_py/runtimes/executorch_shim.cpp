// A plain C ABI over ExecuTorch's low-level C++ runtime, so a board runs .pte programs from
// Python (ctypes + numpy) without the ExecuTorch Python runtime, which links libtorch.
//
// Built on first use by firmware_py/runtimes/executorch_build.py against the installed
// `executorch` wheel: its include/ headers and lib/libexecutorch*.so (runtime, threadpool,
// XNNPACK backend, kernels for ops outside the delegate), none of which link libtorch. The flow is ExecuTorch's own "Running an ExecuTorch Model in C++" tutorial
// (docs/source/running-a-model-cpp-tutorial.md): a data loader -> Program::load ->
// MethodMeta -> memory-planned buffers in a HierarchicalAllocator + MemoryManager ->
// load_method -> set_input -> execute -> get_output. extension::Module is not in the wheel's
// libraries, so the Program/Method API is used directly.
//
// Threads: the XNNPACK delegate takes the process-wide pthreadpool of
// extension/threadpool (threadpool.cpp: get_threadpool(), sized by cpuinfo to the cores)
// when a method is loaded (xnn_create_runtime captures the pointer). The wheel ships no
// threadpool.h, so the two members used here are declared below with the upstream
// signatures; _unsafe_reset_threadpool replaces the pool, which is safe only while no
// loaded method holds it, so it is called only when no program of this shim is alive.
//
// Every function returns 0 on success; on failure the reason is kept per thread and read
// with specks_et_error(), with ExecuTorch's latest error log line of that call appended (the
// shim registers a PAL log function that keeps error lines and drops info/debug chatter,
// e.g. cpuinfo's probing of /sys on every start). Calls on one handle must not overlap; runs are serialised across
// handles because they share one threadpool, which takes one caller at a time.

#include <executorch/extension/data_loader/buffer_data_loader.h>
#include <executorch/extension/data_loader/file_data_loader.h>
#include <executorch/extension/memory_allocator/malloc_memory_allocator.h>
#include <executorch/runtime/executor/method.h>
#include <executorch/runtime/executor/program.h>
#include <executorch/runtime/platform/platform.h>
#include <executorch/runtime/platform/runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace executorch::extension::threadpool {
// NOTE: declared, not included: the wheel ships the library but not threadpool.h.
class ThreadPool final {
 public:
  size_t get_thread_count() const;
  bool _unsafe_reset_threadpool(uint32_t num_threads);
};
ThreadPool* get_threadpool();
}  // namespace executorch::extension::threadpool

namespace {

namespace et = ::executorch::runtime;
namespace ext = ::executorch::extension;
using et::Error;
using et::Result;

thread_local std::string last_error;
thread_local std::string last_log;  // ExecuTorch's latest error-level log line
std::mutex state_mutex;  // guards live_programs and the threadpool size
std::mutex run_mutex;    // one run at a time: the threadpool takes one caller
size_t live_programs = 0;

int fail(const std::string& message) {
  last_error = last_log.empty() ? message : message + " [" + last_log + "]";
  return 1;
}

int fail(const std::string& what, Error error) {
  return fail(what + ": " + et::to_string(error) + " (error " +
              std::to_string(static_cast<int>(error)) + ")");
}

void emit_log(et_timestamp_t, et_pal_log_level_t level, const char* file, const char*,
              size_t line, const char* message, size_t length) {
  if (level != kError && level != kFatal) return;
  const char* slash = std::strrchr(file, '/');
  std::string text(message, length);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  last_log = std::string(slash ? slash + 1 : file) + ":" + std::to_string(line) + " " + text;
  if (level == kFatal) std::fprintf(stderr, "executorch: %s\n", last_log.c_str());
}

void init_runtime() {
  et::register_pal(et::PalImpl::create(emit_log, __FILE__));
  et::runtime_init();
}

struct Aligned {
  void operator()(uint8_t* p) const { std::free(p); }
};

// One tensor of the method's signature, with what a TensorImpl needs to wrap a buffer.
struct Io {
  int32_t dtype;
  size_t nbytes;
  std::vector<et::etensor::TensorImpl::SizesType> sizes;
  std::vector<et::etensor::TensorImpl::DimOrderType> dim_order;
  std::vector<et::etensor::TensorImpl::StridesType> strides;
};

struct Handle {
  std::vector<uint8_t> bytes;  // the program when loaded from memory; outlives the loader
  std::unique_ptr<et::DataLoader> loader;
  std::optional<et::Program> program;
  ext::MallocMemoryAllocator method_allocator;
  ext::MallocMemoryAllocator temp_allocator;
  std::vector<std::unique_ptr<uint8_t, Aligned>> planned;
  std::vector<et::Span<uint8_t>> planned_spans;
  std::unique_ptr<et::HierarchicalAllocator> planned_memory;
  std::unique_ptr<et::MemoryManager> memory;
  std::optional<et::Method> method;
  std::vector<Io> inputs;
  std::vector<Io> outputs;
  bool counted = false;

  ~Handle() {
    method.reset();  // before the memory and program it points into
    if (counted) {
      std::lock_guard<std::mutex> lock(state_mutex);
      --live_programs;
    }
  }
};

int describe(const et::MethodMeta& meta, bool input, size_t index, Io& io) {
  const char* kind = input ? "input " : "output ";
  auto tag = input ? meta.input_tag(index) : meta.output_tag(index);
  if (!tag.ok() || tag.get() != et::Tag::Tensor) {
    return fail(std::string(kind) + std::to_string(index) + " is not a tensor");
  }
  Result<et::TensorInfo> info =
      input ? meta.input_tensor_meta(index) : meta.output_tensor_meta(index);
  if (!info.ok()) {
    return fail(std::string(kind) + std::to_string(index), info.error());
  }
  auto sizes = info->sizes();
  auto order = info->dim_order();
  io.dtype = static_cast<int32_t>(info->scalar_type());
  io.nbytes = info->nbytes();
  io.sizes.assign(sizes.begin(), sizes.end());
  io.dim_order.assign(order.begin(), order.end());
  for (size_t d = 0; d < io.dim_order.size(); ++d) {
    if (io.dim_order[d] != d) {
      return fail(std::string(kind) + std::to_string(index) +
                  " has a non-contiguous dim order; export with contiguous tensors");
    }
  }
  io.strides.assign(io.sizes.size(), 1);
  for (size_t d = io.sizes.size(); d-- > 1;) {
    io.strides[d - 1] = io.strides[d] * io.sizes[d];
  }
  return 0;
}

// Counts `h` as alive; first sizes the shared threadpool to `threads` (0: leave it) when no
// other program is alive, so no loaded method holds the pool being replaced.
void enter(Handle& h, uint32_t threads) {
  std::lock_guard<std::mutex> lock(state_mutex);
  auto* pool = ext::threadpool::get_threadpool();
  if (threads > 0 && live_programs == 0 && pool->get_thread_count() != threads) {
    pool->_unsafe_reset_threadpool(threads);
  }
  ++live_programs;
  h.counted = true;
}

int plan_memory(Handle& h, const et::MethodMeta& meta) {
  for (size_t i = 0; i < meta.num_memory_planned_buffers(); ++i) {
    Result<int64_t> size = meta.memory_planned_buffer_size(i);
    if (!size.ok()) {
      return fail("planned buffer " + std::to_string(i), size.error());
    }
    size_t bytes = (static_cast<size_t>(size.get()) + 63) / 64 * 64;
    auto* data = static_cast<uint8_t*>(std::aligned_alloc(64, bytes > 0 ? bytes : 64));
    if (data == nullptr) {
      return fail("out of memory for planned buffer " + std::to_string(i));
    }
    h.planned.emplace_back(data);
    h.planned_spans.emplace_back(data, static_cast<size_t>(size.get()));
  }
  h.planned_memory = std::make_unique<et::HierarchicalAllocator>(
      et::Span<et::Span<uint8_t>>(h.planned_spans.data(), h.planned_spans.size()));
  h.memory = std::make_unique<et::MemoryManager>(&h.method_allocator, h.planned_memory.get(),
                                                 &h.temp_allocator);
  return 0;
}

int load(Handle& h, const char* method_name, uint32_t threads) {
  static std::once_flag init;
  std::call_once(init, init_runtime);
  Result<et::Program> program = et::Program::load(h.loader.get());
  if (!program.ok()) {
    return fail("Program::load", program.error());
  }
  h.program.emplace(std::move(program.get()));
  Result<et::MethodMeta> meta = h.program->method_meta(method_name);
  if (!meta.ok()) {
    return fail(std::string("no method '") + method_name + "'", meta.error());
  }
  h.inputs.resize(meta->num_inputs());
  h.outputs.resize(meta->num_outputs());
  for (size_t i = 0; i < h.inputs.size(); ++i) {
    if (describe(meta.get(), true, i, h.inputs[i]) != 0) return 1;
  }
  for (size_t i = 0; i < h.outputs.size(); ++i) {
    if (describe(meta.get(), false, i, h.outputs[i]) != 0) return 1;
  }
  if (plan_memory(h, meta.get()) != 0) return 1;
  enter(h, threads);
  Result<et::Method> method = h.program->load_method(method_name, h.memory.get());
  if (!method.ok()) {
    return fail(std::string("load_method('") + method_name + "')", method.error());
  }
  h.method.emplace(std::move(method.get()));
  return 0;
}

template <typename F>
int guarded(F&& body) {
  last_log.clear();
  try {
    return body();
  } catch (const std::exception& e) {
    return fail(std::string("C++ exception: ") + e.what());
  } catch (...) {
    return fail("unknown C++ exception");
  }
}

int finish_load(std::unique_ptr<Handle> h, const char* method, uint32_t threads, void** out) {
  if (load(*h, method, threads) != 0) return 1;
  *out = h.release();
  return 0;
}

const Io* io_at(const Handle* h, int input, size_t index) {
  const auto& list = input ? h->inputs : h->outputs;
  if (index >= list.size()) {
    fail(std::string(input ? "input " : "output ") + std::to_string(index) + " out of range");
    return nullptr;
  }
  return &list[index];
}

}  // namespace

extern "C" {

const char* specks_et_error() { return last_error.c_str(); }

// Loads `method` of the .pte at `path`; `threads` > 0 sizes the shared threadpool first.
int specks_et_load_file(const char* path, const char* method, uint32_t threads, void** out) {
  return guarded([&] {
    auto h = std::make_unique<Handle>();
    Result<ext::FileDataLoader> loader = ext::FileDataLoader::from(path);
    if (!loader.ok()) return fail(std::string("cannot read ") + path, loader.error());
    h->loader = std::make_unique<ext::FileDataLoader>(std::move(loader.get()));
    return finish_load(std::move(h), method, threads, out);
  });
}

// As specks_et_load_file, from `size` bytes at `data` (copied; the caller may free them).
int specks_et_load_bytes(const void* data, size_t size, const char* method, uint32_t threads,
                         void** out) {
  return guarded([&] {
    auto h = std::make_unique<Handle>();
    const auto* begin = static_cast<const uint8_t*>(data);
    h->bytes.assign(begin, begin + size);
    h->loader = std::make_unique<ext::BufferDataLoader>(h->bytes.data(), h->bytes.size());
    return finish_load(std::move(h), method, threads, out);
  });
}

void specks_et_free(void* handle) { delete static_cast<Handle*>(handle); }

// The shared threadpool's size (threads the XNNPACK delegate runs on).
size_t specks_et_threads() {
  std::lock_guard<std::mutex> lock(state_mutex);
  return ext::threadpool::get_threadpool()->get_thread_count();
}

size_t specks_et_count(const void* handle, int input) {
  const auto* h = static_cast<const Handle*>(handle);
  return input ? h->inputs.size() : h->outputs.size();
}

// dtype (c10::ScalarType code), rank and byte size of input/output `index`.
int specks_et_info(const void* handle, int input, size_t index, int32_t* dtype, size_t* rank,
                   size_t* nbytes) {
  const Io* io = io_at(static_cast<const Handle*>(handle), input, index);
  if (io == nullptr) return 1;
  *dtype = io->dtype;
  *rank = io->sizes.size();
  *nbytes = io->nbytes;
  return 0;
}

// Writes the `rank` sizes of input/output `index` to `sizes`.
int specks_et_sizes(const void* handle, int input, size_t index, int64_t* sizes) {
  const Io* io = io_at(static_cast<const Handle*>(handle), input, index);
  if (io == nullptr) return 1;
  for (size_t d = 0; d < io->sizes.size(); ++d) sizes[d] = io->sizes[d];
  return 0;
}

// Runs the method once: `inputs[i]` holds input i (its nbytes, contiguous), the outputs are
// copied into `outputs[i]` (each its nbytes).
int specks_et_run(void* handle, const void* const* inputs, void* const* outputs) {
  return guarded([&] {
    auto* h = static_cast<Handle*>(handle);
    std::lock_guard<std::mutex> lock(run_mutex);
    for (size_t i = 0; i < h->inputs.size(); ++i) {
      Io& io = h->inputs[i];
      et::etensor::TensorImpl impl(static_cast<et::etensor::ScalarType>(io.dtype),
                                   static_cast<ssize_t>(io.sizes.size()), io.sizes.data(),
                                   const_cast<void*>(inputs[i]), io.dim_order.data(),
                                   io.strides.data());
      Error error = h->method->set_input(et::EValue(et::etensor::Tensor(&impl)), i);
      if (error != Error::Ok) return fail("set_input " + std::to_string(i), error);
    }
    Error error = h->method->execute();
    if (error != Error::Ok) return fail("execute", error);
    for (size_t i = 0; i < h->outputs.size(); ++i) {
      const et::EValue& value = h->method->get_output(i);
      if (!value.isTensor() || value.toTensor().nbytes() != h->outputs[i].nbytes) {
        return fail("output " + std::to_string(i) + " differs from the method's signature");
      }
      std::memcpy(outputs[i], value.toTensor().const_data_ptr(), h->outputs[i].nbytes);
    }
    return 0;
  });
}

}  // extern "C"
