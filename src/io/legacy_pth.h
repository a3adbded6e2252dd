// Reader for legacy (torch <= 1.5, non-zip) PyTorch checkpoints, written with
// torch.save(obj, f, _use_new_zipfile_serialization=False), in plain C++ without LibTorch.
//
// File layout (torch serialization.py _legacy_save / _legacy_load):
//   pickle(magic 0x1950a86a20f9469cfc6c)  pickle(1001)  pickle(sys_info dict)  pickle(obj)
//   pickle(list of storage root keys)  then, per key in that order: int64 LE element count + raw LE bytes.
// Storages appear in pickle(obj) as persistent ids ('storage', type, root_key, location, numel, view_metadata);
// tensors are REDUCE(torch._utils._rebuild_tensor_v2, (storage, offset, size, stride, requires_grad, hooks)).
//
// The reader is meant to be safe on hostile input: every failure throws oceanplus::WeightsError, every read is
// bounds-checked, and every allocation is bounded by a small multiple of the input size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace oceanplus::io {

enum class DType { Float32, Float64, Float16, Int64, Int32, Int16, Int8, UInt8, Bool };

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);  // "float32", "float64", "float16", "int64", ..., "uint8", "bool"

// A tensor copied out of its storage: always C-contiguous, little-endian, independent of the file buffer.
struct RawTensor {
  DType dtype = DType::Float32;
  std::vector<int64_t> sizes;  // empty for a 0-d tensor
  std::vector<uint8_t> data;   // numel() * dtype_size(dtype) bytes
  int64_t numel() const;
};

struct NamedTensor {
  std::string key;  // exactly as stored, e.g. "module.features.bn1.weight"
  RawTensor tensor;
};

struct LegacyCheckpoint {
  std::vector<NamedTensor> tensors;       // tensor entries of the state dict, in file order
  std::vector<std::string> wrapper_keys;  // top-level keys when the state dict sat under "state_dict"; else empty
};

// True when the buffer starts with the legacy magic-number pickle. Cheap: looks at the first bytes only.
bool is_legacy_checkpoint(const uint8_t* data, size_t size);

// Parses a whole legacy checkpoint held in memory. State-dict selection: a top-level dict with a "state_dict" entry
// whose value is a dict uses that entry (and reports the top-level keys in wrapper_keys); any other top-level dict
// is the state dict itself. Non-tensor entries are skipped. Storage locations ("cuda:0") are ignored.
// Throws oceanplus::WeightsError (prefixed with file_name_for_errors) on any problem.
LegacyCheckpoint read_legacy_checkpoint(const uint8_t* data, size_t size, const std::string& file_name_for_errors);

// Reads the file at path and parses it; throws WeightsError naming the path if it cannot be read.
LegacyCheckpoint read_legacy_checkpoint_file(const std::string& path);

}  // namespace oceanplus::io
