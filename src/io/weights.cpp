#include "io/weights.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "common/error.h"
#include "io/legacy_pth.h"

namespace oceanplus::io {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

at::ScalarType to_scalar_type(DType dtype) {
  switch (dtype) {
    case DType::Float32: return at::kFloat;
    case DType::Float64: return at::kDouble;
    case DType::Float16: return at::kHalf;
    case DType::Int64: return at::kLong;
    case DType::Int32: return at::kInt;
    case DType::Int16: return at::kShort;
    case DType::Int8: return at::kChar;
    case DType::UInt8: return at::kByte;
    case DType::Bool: return at::kBool;
  }
  return at::kFloat;
}

void add_tensor(StateDict& out, const std::string& raw_key, at::Tensor tensor) {
  const std::string key = strip_key_prefixes(raw_key);
  if (out.tensors.count(key)) throw WeightsError(out.source, "key '" + key + "' appears twice (after removing prefixes)");
  out.tensors.emplace(key, std::move(tensor));
}

StateDict from_legacy(const std::vector<char>& bytes, const std::string& name) {
  const LegacyCheckpoint checkpoint =
      read_legacy_checkpoint(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), name);
  StateDict out;
  out.source = name;
  for (const NamedTensor& entry : checkpoint.tensors) {
    const RawTensor& raw = entry.tensor;
    at::Tensor t = at::empty(raw.sizes, at::TensorOptions().dtype(to_scalar_type(raw.dtype)));
    if (!raw.data.empty()) std::memcpy(t.data_ptr(), raw.data.data(), raw.data.size());
    add_tensor(out, entry.key, std::move(t));
  }
  return out;
}

StateDict from_zip_pickle(const std::vector<char>& bytes, const std::string& name) {
  c10::IValue root;
  try {
    root = torch::jit::pickle_load(bytes);
  } catch (const std::exception& e) {
    // LibTorch's messages are long (with a C++ backtrace); keep the first line.
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    throw WeightsError(name, "not a readable torch.save file (" + what +
                                 "). Save a plain dict of tensors: torch.save({k: v for k, v in sd.items()}, path)");
  }
  if (!root.isGenericDict()) {
    throw WeightsError(name, "the file holds a " + root.tagKind() +
                                 ", not a dict of tensors (an OrderedDict loads as None in LibTorch: save dict(sd))");
  }
  c10::Dict<c10::IValue, c10::IValue> dict = root.toGenericDict();
  if (dict.contains(std::string("state_dict")) && dict.at(std::string("state_dict")).isGenericDict()) {
    dict = dict.at(std::string("state_dict")).toGenericDict();
  }
  StateDict out;
  out.source = name;
  for (const auto& item : dict) {
    if (!item.key().isString() || !item.value().isTensor()) continue;  // epoch numbers, optimizer state, ...
    add_tensor(out, item.key().toStringRef(), item.value().toTensor().contiguous());
  }
  if (out.tensors.empty()) throw WeightsError(name, "the file holds no tensors");
  return out;
}

}  // namespace

std::string strip_key_prefixes(const std::string& key) {
  std::string k = key;
  for (const std::string prefix : {"module.", "feature_extractor."}) {
    if (starts_with(k, prefix)) k = k.substr(prefix.size());
  }
  return k;
}

StateDict moved_to(const StateDict& state, at::Device device) {
  StateDict out;
  out.source = state.source;
  for (const auto& [key, tensor] : state.tensors) out.tensors[key] = tensor.to(device);
  return out;
}

StateDict load_state_dict_from_bytes(const std::vector<char>& bytes, const std::string& name) {
  if (bytes.empty()) throw WeightsError(name, "the file is empty");
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  if (is_legacy_checkpoint(data, bytes.size())) return from_legacy(bytes, name);
  if (bytes.size() >= 4 && data[0] == 'P' && data[1] == 'K') return from_zip_pickle(bytes, name);
  throw WeightsError(name, "unknown format: neither a torch.save zip archive nor a legacy torch checkpoint");
}

StateDict load_state_dict(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw WeightsError(path, "cannot open the file (missing or unreadable)");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw WeightsError(path, "read error");
  return load_state_dict_from_bytes(bytes, path);
}

void save_state_dict(const StateDict& state, const std::string& path) {
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [key, tensor] : state.tensors) dict.insert(key, tensor.detach().cpu().contiguous());
  const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(dict));
  const std::string temporary = path + ".partial";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) throw WeightsError(path, "cannot open for writing");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw WeightsError(path, "write failed (disk full?)");
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) throw WeightsError(path, "cannot rename " + temporary);
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << '[';
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << ']';
  return s.str();
}

WeightReader WeightReader::synthesizing(StateDict& out, uint64_t seed) {
  WeightReader reader(out);
  reader.synthesized_ = &out;
  reader.seed_ = seed;
  return reader;
}

at::Tensor WeightReader::take(const std::string& key, const std::vector<int64_t>& shape) {
  auto it = state_.tensors.find(key);
  if (it == state_.tensors.end() && synthesized_) {
    at::Generator generator = at::detail::createCPUGenerator(seed_ + synthesized_->tensors.size());
    at::Tensor t;
    if (key.size() >= 11 && key.compare(key.size() - 11, 11, "running_var") == 0) {
      t = at::rand(shape, generator, at::kFloat) + 0.5;
    } else if (shape.size() == 4) {
      const double fan_in = static_cast<double>(shape[1] * shape[2] * shape[3]);
      t = at::randn(shape, generator, at::kFloat) * std::sqrt(1.0 / fan_in);
    } else {
      t = at::randn(shape, generator, at::kFloat) * 0.05;
    }
    it = synthesized_->tensors.emplace(key, t).first;
  }
  if (it == state_.tensors.end()) {
    throw WeightsError(state_.source, "missing key '" + key + "' (expected shape " + shape_to_string(shape) + ")");
  }
  const at::Tensor& t = it->second;
  const std::vector<int64_t> got(t.sizes().begin(), t.sizes().end());
  if (got != shape) {
    throw WeightsError(state_.source, "key '" + key + "' has shape " + shape_to_string(got) + ", expected " +
                                          shape_to_string(shape));
  }
  if (!at::isFloatingType(t.scalar_type())) {
    throw WeightsError(state_.source, "key '" + key + "' has a non-floating dtype");
  }
  used_.insert(key);
  return t.to(at::kFloat).contiguous();
}

std::vector<std::string> WeightReader::unknown_keys() const {
  std::vector<std::string> out;
  for (const auto& item : state_.tensors) {
    if (!used_.count(item.first) && !skipped_.count(item.first)) out.push_back(item.first);
  }
  return out;
}

}  // namespace oceanplus::io
