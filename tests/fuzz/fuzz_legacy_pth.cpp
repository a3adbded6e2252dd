// libFuzzer entry point for the legacy .pth reader. Build standalone with
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc
//       src/io/legacy_pth.cpp tests/fuzz/fuzz_legacy_pth.cpp -o fuzz_legacy_pth
// It is also linked into test_legacy_pth, whose mutation test calls it directly (the symbol is defined only here).
// Only WeightsError is caught: any other exception, crash or sanitizer report is a bug in the reader.
#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "io/legacy_pth.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)oceanplus::io::is_legacy_checkpoint(data, size);
  try {
    const oceanplus::io::LegacyCheckpoint checkpoint = oceanplus::io::read_legacy_checkpoint(data, size, "fuzz-input");
    // Touch the result so that the invariants of the returned tensors are exercised too.
    size_t total = 0;
    for (const auto& named : checkpoint.tensors) {
      const auto& tensor = named.tensor;
      if (tensor.data.size() != static_cast<size_t>(tensor.numel()) * oceanplus::io::dtype_size(tensor.dtype)) {
        __builtin_trap();
      }
      total += tensor.data.empty() ? 0 : tensor.data.front();
    }
    (void)total;
  } catch (const oceanplus::WeightsError&) {
  }
  return 0;
}
