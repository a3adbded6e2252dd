#include "gen_v1.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>

namespace oceanplus::testing {
namespace {

bool is_dir(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string prefix_of(const std::string& key) { return key.substr(0, key.rfind('.')); }
std::string leaf_of(const std::string& key) { return key.substr(key.rfind('.') + 1); }

// Conv gains (powers of two: exact products).
double conv_gain(const std::string& key) {
  static const std::map<std::string, double> gains = {
      {"features.features.conv1.weight", 1.0 / 128},     {"connect_model.cls_pred.weight", 64},
      {"connect_model.bbox_pred.weight", 16},            {"mask_model.sequential.s_embed.weight", 8},
      {"mask_model.sequential.t_embed.weight", 8},       {"mask_model.r0.0.weight", 16},
      {"mask_model.iter.r0.0.weight", 16},               {"mask_model.iter2.r0.0.weight", 16},
  };
  auto it = gains.find(key);
  return it == gains.end() ? 1.0 : it->second;
}

int64_t numel_of(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

uint64_t fnv1a64(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

uint64_t SplitMix64::next() {
  state_ += 0x9E3779B97F4A7C15ULL;
  uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double uniform_from_bits(uint64_t x) {
  const double two52 = 4503599627370496.0;
  return (static_cast<double>(static_cast<int64_t>(x >> 11)) - two52) / two52;
}

std::vector<GeneratedTensor> generate_gen_v1(const std::vector<KeySpec>& keys) {
  std::map<std::string, const KeySpec*> by_key;
  for (const KeySpec& k : keys) by_key[k.key] = &k;
  auto exists = [&](const std::string& key) { return by_key.count(key) != 0; };
  auto is_4d = [&](const std::string& key) { return exists(key) && by_key[key]->shape.size() == 4; };

  std::vector<GeneratedTensor> out;
  for (const KeySpec& spec : keys) {
    GeneratedTensor t;
    t.key = spec.key;
    t.shape = spec.shape;
    t.is_int64 = spec.is_int64;
    const int64_t n = numel_of(spec.shape);
    const std::string prefix = prefix_of(spec.key);
    const std::string leaf = leaf_of(spec.key);
    const bool is_bn = exists(prefix + ".running_mean");
    SplitMix64 rng(fnv1a64(spec.key));
    std::vector<double> u(static_cast<size_t>(n));
    for (double& v : u) v = uniform_from_bits(rng.next());

    std::vector<double> value(static_cast<size_t>(n));
    const std::string& key = spec.key;
    if (key == "connect_model.adjust") {
      t.kind = "special";
      value.assign(n, 0.25);
    } else if (key == "connect_model.bias") {
      t.kind = "special";
      for (int64_t i = 0; i < n; ++i) value[i] = 3.6 + u[i] / 16;
    } else if (key == "connect_model.cls_dw.weight" || key == "connect_model.reg_dw.weight") {
      t.kind = "special";
      value = u;
    } else if (key == "connect_model.cls_pred.bias") {
      t.kind = "special";
      value.assign(n, -4.0);
    } else if (key == "mask_model.r0.0.bias") {
      t.kind = "special";
      value = {3, -3};
    } else if (key == "mask_model.iter.r0.0.bias") {
      t.kind = "special";
      value = {4, -4};
    } else if (key == "mask_model.iter2.r0.0.bias") {
      t.kind = "special";
      value = {-5, 5};
    } else if (leaf == "num_batches_tracked") {
      t.kind = "bn_nbt";
      t.ints.assign(n, 0);
      out.push_back(std::move(t));
      continue;
    } else if (is_bn && leaf == "weight") {
      t.kind = "bn_weight";
      for (int64_t i = 0; i < n; ++i) value[i] = 1 + u[i] / 16;
    } else if (is_bn && leaf == "bias") {
      t.kind = "bn_bias";
      for (int64_t i = 0; i < n; ++i) value[i] = u[i] / 16;
    } else if (is_bn && leaf == "running_mean") {
      t.kind = "bn_mean";
      for (int64_t i = 0; i < n; ++i) value[i] = u[i] / 16;
    } else if (is_bn && leaf == "running_var") {
      t.kind = "bn_var";
      for (int64_t i = 0; i < n; ++i) value[i] = 1 + std::fabs(u[i]) / 2;
    } else if (leaf == "weight" && spec.shape.size() == 4) {
      t.kind = "conv_weight";
      const double fan_in = static_cast<double>(spec.shape[1] * spec.shape[2] * spec.shape[3]);
      const double s = std::sqrt(3.0 / fan_in) * conv_gain(key);
      for (int64_t i = 0; i < n; ++i) value[i] = u[i] * s;
    } else if (leaf == "bias" && is_4d(prefix + ".weight")) {
      t.kind = "conv_bias";
      for (int64_t i = 0; i < n; ++i) value[i] = u[i] / 16;
    } else {
      throw std::runtime_error("gen-v1: no rule for key '" + key + "'");
    }
    if (static_cast<int64_t>(value.size()) != n) throw std::runtime_error("gen-v1: size mismatch for " + key);
    t.values.resize(n);
    for (int64_t i = 0; i < n; ++i) t.values[i] = static_cast<float>(value[i]);
    out.push_back(std::move(t));
  }
  return out;
}

uint64_t bits_checksum(const GeneratedTensor& tensor) {
  uint64_t sum = 0;
  if (tensor.is_int64) {
    for (size_t i = 0; i < tensor.ints.size(); ++i) sum += static_cast<uint64_t>(tensor.ints[i]) * (2 * i + 1);
    return sum;
  }
  for (size_t i = 0; i < tensor.values.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &tensor.values[i], 4);
    sum += static_cast<uint64_t>(bits) * (2 * i + 1);
  }
  return sum;
}

std::vector<KeySpec> read_section_a_keys(const std::string& path, bool mms) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::vector<KeySpec> keys;
  std::string line;
  bool in_section_a = false;
  while (std::getline(in, line)) {
    if (line.rfind("# == Section A", 0) == 0) {
      in_section_a = true;
      continue;
    }
    if (line.rfind("# == Section", 0) == 0) in_section_a = false;
    if (!in_section_a || line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string key, shape_text, dtype;
    std::getline(fields, key, '\t');
    std::getline(fields, shape_text, '\t');
    std::getline(fields, dtype, '\t');
    if (!mms && (key.rfind("mask_model.iter.", 0) == 0 || key.rfind("mask_model.iter2.", 0) == 0)) continue;
    KeySpec spec;
    spec.key = key;
    spec.is_int64 = dtype == "int64";
    for (char& c : shape_text) {
      if (c == '(' || c == ')' || c == ',') c = ' ';
    }
    std::istringstream dims(shape_text);
    int64_t d;
    while (dims >> d) spec.shape.push_back(d);
    keys.push_back(std::move(spec));
  }
  return keys;
}

std::string shared_dir() {
  if (const char* env = std::getenv("OCEANPLUS_SHARED"); env && *env) return is_dir(env) ? env : "";
  std::string root = ".";
  if (const char* env = std::getenv("OCEANPLUS_SOURCE_DIR"); env && *env) root = env;
  const std::string dir = root + "/../shared";
  return is_dir(dir) ? dir : "";
}

}  // namespace oceanplus::testing
