// Tests of the legacy (torch <= 1.5, non-zip) checkpoint reader: the golden sample, hand-built files that cover
// views / 0-d tensors / other dtypes, malformed inputs, and a fixed-seed mutation test through the fuzz entry point.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "io/legacy_pth.h"

#ifndef OCEANPLUS_SOURCE_DIR
#define OCEANPLUS_SOURCE_DIR "."
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

using oceanplus::WeightsError;
using oceanplus::io::DType;
using oceanplus::io::LegacyCheckpoint;
using oceanplus::io::NamedTensor;
using oceanplus::io::RawTensor;
using Bytes = std::vector<uint8_t>;

// ------------------------------------------------------------------------------------------------ shared files
// The source root: the OCEANPLUS_SOURCE_DIR environment variable if set, else the compile definition.
std::string source_dir() {
  if (const char* env = std::getenv("OCEANPLUS_SOURCE_DIR"); env != nullptr && *env != '\0') return env;
  return OCEANPLUS_SOURCE_DIR;
}

std::string shared_dir() {
  if (const char* env = std::getenv("OCEANPLUS_SHARED"); env != nullptr && *env != '\0') return env;
  return source_dir() + "/../shared";
}

std::string sample_path() { return shared_dir() + "/golden/oceanplus/legacy_ckpt_sample.pth"; }
std::string sample_json_path() { return shared_dir() + "/golden/oceanplus/legacy_ckpt_sample.expected.json"; }

bool read_file(const std::string& path, Bytes* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

#define LOAD_SAMPLE_OR_SKIP(bytes)                                                               \
  Bytes bytes;                                                                                   \
  if (!read_file(sample_path(), &bytes) || bytes.empty()) {                                      \
    GTEST_SKIP() << "legacy sample not found at " << sample_path() << " (set OCEANPLUS_SHARED)"; \
  }

// Message of the WeightsError thrown by reading these bytes, or "" if nothing was thrown.
std::string error_of(const Bytes& bytes) {
  try {
    oceanplus::io::read_legacy_checkpoint(bytes.data(), bytes.size(), "test.pth");
  } catch (const WeightsError& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_WEIGHTS_ERROR_MENTIONS(bytes, needle)                                                             \
  do {                                                                                                           \
    const Bytes bytes_ = (bytes);                                                                                \
    EXPECT_THROW(oceanplus::io::read_legacy_checkpoint(bytes_.data(), bytes_.size(), "test.pth"), WeightsError); \
    const std::string message_ = error_of(bytes_);                                                               \
    EXPECT_NE(message_.find(needle), std::string::npos) << "message: " << message_;                              \
  } while (0)

const NamedTensor* find_tensor(const LegacyCheckpoint& checkpoint, const std::string& key) {
  for (const auto& named : checkpoint.tensors) {
    if (named.key == key) return &named;
  }
  return nullptr;
}

template <typename T>
std::vector<T> values_of(const RawTensor& tensor) {
  std::vector<T> out(tensor.data.size() / sizeof(T));
  if (!out.empty()) std::memcpy(out.data(), tensor.data.data(), out.size() * sizeof(T));
  return out;
}

// ------------------------------------------------------------------------------------------------ pickle writer
// Emits protocol-2 pickles the way torch 1.x's legacy save does (plus a few protocol-4 opcodes on request).
class PickleWriter {
 public:
  PickleWriter& op(uint8_t opcode) {
    bytes_.push_back(opcode);
    return *this;
  }
  PickleWriter& raw(const Bytes& bytes) {
    bytes_.insert(bytes_.end(), bytes.begin(), bytes.end());
    return *this;
  }
  PickleWriter& le(uint64_t value, int count) {
    for (int i = 0; i < count; ++i) bytes_.push_back(static_cast<uint8_t>(value >> (8 * i)));
    return *this;
  }
  PickleWriter& proto(uint8_t version = 2) { return op(0x80).op(version); }
  PickleWriter& stop() { return op('.'); }
  PickleWriter& mark() { return op('('); }
  PickleWriter& none() { return op('N'); }
  PickleWriter& boolean(bool value) { return op(value ? 0x88 : 0x89); }
  PickleWriter& integer(int64_t value) {
    if (value >= 0 && value < 256) return op('K').le(static_cast<uint64_t>(value), 1);
    if (value >= 0 && value < 65536) return op('M').le(static_cast<uint64_t>(value), 2);
    if (value >= INT32_MIN && value <= INT32_MAX) return op('J').le(static_cast<uint64_t>(value), 4);
    return op(0x8a).op(8).le(static_cast<uint64_t>(value), 8);
  }
  PickleWriter& unicode(const std::string& text) {
    op('X').le(text.size(), 4);
    bytes_.insert(bytes_.end(), text.begin(), text.end());
    return *this;
  }
  PickleWriter& global(const std::string& module, const std::string& name) {
    op('c');
    for (char c : module + "\n" + name + "\n") bytes_.push_back(static_cast<uint8_t>(c));
    return *this;
  }
  PickleWriter& int_tuple(const std::vector<int64_t>& values) {
    if (values.empty()) return op(')');
    mark();
    for (int64_t v : values) integer(v);
    return op('t');
  }
  PickleWriter& ordered_dict() { return global("collections", "OrderedDict").op(')').op('R'); }

  // REDUCE(_rebuild_tensor_v2, (storage, offset, size, stride, False, OrderedDict())).
  PickleWriter& tensor(const std::string& storage_type, const std::string& storage_key, int64_t storage_numel,
                       int64_t offset, const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides,
                       const std::string& location = "cpu") {
    global("torch._utils", "_rebuild_tensor_v2").mark();
    storage_id(storage_type, storage_key, storage_numel, location);
    integer(offset).int_tuple(sizes).int_tuple(strides).boolean(false).ordered_dict();
    return op('t').op('R');
  }
  // ('storage', torch.<type>, key, location, numel, None) as a persistent id.
  PickleWriter& storage_id(const std::string& storage_type, const std::string& storage_key, int64_t storage_numel,
                           const std::string& location = "cpu") {
    mark().unicode("storage").global("torch", storage_type).unicode(storage_key).unicode(location);
    integer(storage_numel).none().op('t');
    return op('Q');
  }

  const Bytes& bytes() const { return bytes_; }

 private:
  Bytes bytes_;
};

struct StorageBlock {
  std::string key;
  int64_t count;  // element count written before the data
  Bytes data;
};

template <typename T>
StorageBlock block(const std::string& key, const std::vector<T>& values) {
  StorageBlock b{key, static_cast<int64_t>(values.size()), Bytes(values.size() * sizeof(T))};
  if (!values.empty()) std::memcpy(b.data.data(), values.data(), b.data.size());
  return b;
}

Bytes magic_pickle() {
  const Bytes magic_le = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};  // 0x1950a86a20f9469cfc6c
  return PickleWriter().proto().op(0x8a).op(10).raw(magic_le).stop().bytes();
}

Bytes sys_info_pickle(bool little_endian = true) {
  PickleWriter w;
  w.proto().op('}').mark().unicode("protocol_version").integer(1001).unicode("little_endian").boolean(little_endian);
  w.unicode("type_sizes").op('}').mark();
  w.unicode("short").integer(2).unicode("int").integer(4).unicode("long").integer(4);
  return w.op('u').op('u').stop().bytes();
}

// The whole legacy file around an object pickle; the key list is written in the order of the blocks.
Bytes legacy_file(const Bytes& object_pickle, const std::vector<StorageBlock>& blocks, bool little_endian = true) {
  PickleWriter w;
  w.raw(magic_pickle()).raw(PickleWriter().proto().integer(1001).stop().bytes()).raw(sys_info_pickle(little_endian));
  w.raw(object_pickle);
  w.proto().op(']').mark();
  for (const auto& b : blocks) w.unicode(b.key);
  w.op('e').stop();
  for (const auto& b : blocks) w.le(static_cast<uint64_t>(b.count), 8).raw(b.data);
  return w.bytes();
}

LegacyCheckpoint read_bytes(const Bytes& bytes) {
  return oceanplus::io::read_legacy_checkpoint(bytes.data(), bytes.size(), "test.pth");
}

// A plain OrderedDict state dict with one float tensor: the base for many error cases.
Bytes one_tensor_file(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides, int64_t offset,
                      int64_t declared_numel, const std::vector<float>& data) {
  PickleWriter w;
  w.proto().ordered_dict().unicode("bad.weight").tensor("FloatStorage", "7", declared_numel, offset, sizes, strides);
  w.op('s').stop();
  return legacy_file(w.bytes(), {block("7", data)});
}

// ================================================================================================ golden sample
TEST(LegacyPth, ReadsGoldenSample) {
  LOAD_SAMPLE_OR_SKIP(bytes);
  std::ifstream json_in(sample_json_path());
  if (!json_in) GTEST_SKIP() << "expected JSON not found at " << sample_json_path();
  const nlohmann::ordered_json expected = nlohmann::ordered_json::parse(json_in);

  EXPECT_TRUE(oceanplus::io::is_legacy_checkpoint(bytes.data(), bytes.size()));
  const LegacyCheckpoint checkpoint = read_bytes(bytes);

  EXPECT_EQ(checkpoint.wrapper_keys, (std::vector<std::string>{"epoch", "arch", "state_dict", "optimizer"}));
  const auto& per_key = expected.at("per_key");
  ASSERT_EQ(checkpoint.tensors.size(), 19u);
  ASSERT_EQ(checkpoint.tensors.size(), per_key.size());

  size_t index = 0;
  for (const auto& [key, info] : per_key.items()) {
    SCOPED_TRACE(key);
    ASSERT_EQ(checkpoint.tensors[index].key, key) << "file order differs at entry " << index;
    ++index;
    EXPECT_EQ(key.rfind("module.", 0), 0u);
    const RawTensor& tensor = find_tensor(checkpoint, key)->tensor;
    EXPECT_EQ(tensor.sizes, info.at("shape").get<std::vector<int64_t>>());
    EXPECT_EQ(oceanplus::io::dtype_name(tensor.dtype), info.at("dtype").get<std::string>());
    ASSERT_EQ(tensor.data.size(), static_cast<size_t>(tensor.numel()) * oceanplus::io::dtype_size(tensor.dtype));

    std::vector<double> values;
    if (tensor.dtype == DType::Float32) {
      for (float v : values_of<float>(tensor)) values.push_back(v);
    } else {
      ASSERT_EQ(tensor.dtype, DType::Int64);
      for (int64_t v : values_of<int64_t>(tensor)) values.push_back(static_cast<double>(v));
    }
    const auto first = info.at("first").get<std::vector<double>>();
    ASSERT_LE(first.size(), values.size());
    for (size_t i = 0; i < first.size(); ++i) EXPECT_EQ(values[i], first[i]) << "element " << i;

    double sum = 0.0, abs_sum = 0.0;
    for (double v : values) {
      sum += v;
      abs_sum += std::fabs(v);
    }
    EXPECT_NEAR(sum, info.at("sum").get<double>(), 1e-9 * abs_sum + 1e-12);
  }

  const RawTensor& tracked = find_tensor(checkpoint, "module.neck.downsample.1.num_batches_tracked")->tensor;
  EXPECT_EQ(tracked.dtype, DType::Int64);
  EXPECT_TRUE(tracked.sizes.empty());
  EXPECT_EQ(values_of<int64_t>(tracked), std::vector<int64_t>{123456789});
}

TEST(LegacyPth, ReadsGoldenSampleFromPath) {
  LOAD_SAMPLE_OR_SKIP(bytes);
  const LegacyCheckpoint checkpoint = oceanplus::io::read_legacy_checkpoint_file(sample_path());
  EXPECT_EQ(checkpoint.tensors.size(), 19u);
}

TEST(LegacyPth, DTypeNamesAndSizes) {
  EXPECT_STREQ(oceanplus::io::dtype_name(DType::Float32), "float32");
  EXPECT_STREQ(oceanplus::io::dtype_name(DType::Int64), "int64");
  EXPECT_STREQ(oceanplus::io::dtype_name(DType::Bool), "bool");
  EXPECT_EQ(oceanplus::io::dtype_size(DType::Float16), 2u);
  EXPECT_EQ(oceanplus::io::dtype_size(DType::Float64), 8u);
  EXPECT_EQ(oceanplus::io::dtype_size(DType::UInt8), 1u);
}

// ================================================================================================ hand-built files
TEST(LegacyPth, PlainOrderedDictWithoutWrapper) {
  PickleWriter w;
  w.proto().ordered_dict().mark();
  w.unicode("layer.weight").tensor("FloatStorage", "100", 4, 0, {2, 2}, {2, 1}, "cuda:0");
  w.unicode("note").unicode("not a tensor");  // skipped
  w.unicode("layer.count").tensor("LongStorage", "200", 1, 0, {}, {});
  w.op('u');
  w.op('}').unicode("_metadata").ordered_dict().op('s').op('b');  // BUILD with _metadata: ignored
  w.stop();
  const Bytes file = legacy_file(
      w.bytes(), {block("100", std::vector<float>{1.5f, -2.f, 3.f, 4.25f}), block("200", std::vector<int64_t>{-42})});
  EXPECT_TRUE(oceanplus::io::is_legacy_checkpoint(file.data(), file.size()));
  const LegacyCheckpoint checkpoint = read_bytes(file);
  EXPECT_TRUE(checkpoint.wrapper_keys.empty());
  ASSERT_EQ(checkpoint.tensors.size(), 2u);
  EXPECT_EQ(checkpoint.tensors[0].key, "layer.weight");
  EXPECT_EQ(checkpoint.tensors[0].tensor.sizes, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(values_of<float>(checkpoint.tensors[0].tensor), (std::vector<float>{1.5f, -2.f, 3.f, 4.25f}));
  EXPECT_EQ(checkpoint.tensors[1].key, "layer.count");
  EXPECT_EQ(checkpoint.tensors[1].tensor.dtype, DType::Int64);
  EXPECT_EQ(values_of<int64_t>(checkpoint.tensors[1].tensor), std::vector<int64_t>{-42});
}

TEST(LegacyPth, StridedViewsIntoSharedStorageAreMaterialisedContiguously) {
  std::vector<float> storage(10);
  for (int i = 0; i < 10; ++i) storage[static_cast<size_t>(i)] = static_cast<float>(i);
  PickleWriter w;
  w.proto().op('}').mark();
  w.unicode("transposed").tensor("FloatStorage", "1", 10, 2, {2, 3}, {1, 2});  // a 3x2 block, transposed
  w.unicode("whole").tensor("FloatStorage", "1", 10, 0, {10}, {1});
  w.unicode("broadcast").tensor("FloatStorage", "1", 10, 8, {2, 2}, {0, 1});  // stride 0: expanded rows
  w.unicode("every_third").tensor("FloatStorage", "1", 10, 1, {3}, {3});
  w.unicode("empty").tensor("FloatStorage", "1", 10, 0, {0, 5}, {5, 1});
  w.op('u').stop();
  const LegacyCheckpoint checkpoint = read_bytes(legacy_file(w.bytes(), {block("1", storage)}));
  ASSERT_EQ(checkpoint.tensors.size(), 5u);
  EXPECT_EQ(checkpoint.tensors[0].tensor.sizes, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(values_of<float>(checkpoint.tensors[0].tensor), (std::vector<float>{2, 4, 6, 3, 5, 7}));
  EXPECT_EQ(values_of<float>(checkpoint.tensors[1].tensor), storage);
  EXPECT_EQ(values_of<float>(checkpoint.tensors[2].tensor), (std::vector<float>{8, 9, 8, 9}));
  EXPECT_EQ(values_of<float>(checkpoint.tensors[3].tensor), (std::vector<float>{1, 4, 7}));
  EXPECT_EQ(checkpoint.tensors[4].tensor.numel(), 0);
  EXPECT_TRUE(checkpoint.tensors[4].tensor.data.empty());
}

TEST(LegacyPth, ZeroDimTensors) {
  PickleWriter w;
  w.proto().op('}').mark();
  w.unicode("scalar").tensor("DoubleStorage", "5", 1, 0, {}, {});
  w.unicode("scalar_in_view").tensor("IntStorage", "6", 4, 3, {}, {});
  w.op('u').stop();
  const LegacyCheckpoint checkpoint = read_bytes(
      legacy_file(w.bytes(), {block("5", std::vector<double>{3.25}), block("6", std::vector<int32_t>{1, 2, 3, -7})}));
  ASSERT_EQ(checkpoint.tensors.size(), 2u);
  EXPECT_TRUE(checkpoint.tensors[0].tensor.sizes.empty());
  EXPECT_EQ(checkpoint.tensors[0].tensor.numel(), 1);
  EXPECT_EQ(values_of<double>(checkpoint.tensors[0].tensor), std::vector<double>{3.25});
  EXPECT_EQ(checkpoint.tensors[1].tensor.dtype, DType::Int32);
  EXPECT_EQ(values_of<int32_t>(checkpoint.tensors[1].tensor), std::vector<int32_t>{-7});
}

TEST(LegacyPth, AllSupportedStorageTypes) {
  struct Case {
    const char* type;
    DType dtype;
    size_t element_size;
  };
  const Case cases[] = {
      {"FloatStorage", DType::Float32, 4}, {"DoubleStorage", DType::Float64, 8}, {"HalfStorage", DType::Float16, 2},
      {"LongStorage", DType::Int64, 8},    {"IntStorage", DType::Int32, 4},      {"ShortStorage", DType::Int16, 2},
      {"CharStorage", DType::Int8, 1},     {"ByteStorage", DType::UInt8, 1},     {"BoolStorage", DType::Bool, 1}};
  PickleWriter w;
  w.proto().op('}').mark();
  std::vector<StorageBlock> blocks;
  for (size_t i = 0; i < std::size(cases); ++i) {
    const std::string key = std::to_string(1000 + i);
    w.unicode(cases[i].type).tensor(cases[i].type, key, 3, 0, {3}, {1});
    Bytes data(3 * cases[i].element_size);
    for (size_t b = 0; b < data.size(); ++b) data[b] = static_cast<uint8_t>(b * 7 + i);
    blocks.push_back({key, 3, data});
  }
  w.op('u').stop();
  const LegacyCheckpoint checkpoint = read_bytes(legacy_file(w.bytes(), blocks));
  ASSERT_EQ(checkpoint.tensors.size(), std::size(cases));
  for (size_t i = 0; i < std::size(cases); ++i) {
    SCOPED_TRACE(cases[i].type);
    EXPECT_EQ(checkpoint.tensors[i].key, cases[i].type);
    EXPECT_EQ(checkpoint.tensors[i].tensor.dtype, cases[i].dtype);
    EXPECT_EQ(oceanplus::io::dtype_size(cases[i].dtype), cases[i].element_size);
    EXPECT_EQ(checkpoint.tensors[i].tensor.data, blocks[i].data);
  }
}

TEST(LegacyPth, WrappedStateDictWithOpaqueOptimizerObjects) {
  PickleWriter w;
  w.proto().op('}').mark();
  w.unicode("epoch").integer(50).unicode("arch").unicode("Net");
  w.unicode("state_dict").ordered_dict().unicode("w").tensor("FloatStorage", "2", 2, 0, {2}, {1}).op('s');
  // An optimizer object built from an unknown class, with its own (unsupported-type) storage: must not matter.
  w.unicode("optimizer").global("torch.optim.sgd", "SGD").op(')').op(0x81);
  w.op('}').unicode("buf").tensor("BFloat16Storage", "3", 2, 0, {2}, {1}).op('s').op('b');
  w.unicode("extra").global("numpy.core.multiarray", "scalar").op(')').op('R');
  w.op('u').stop();
  const LegacyCheckpoint checkpoint = read_bytes(
      legacy_file(w.bytes(), {block("2", std::vector<float>{1, 2}), block("3", std::vector<uint16_t>{7, 8})}));
  EXPECT_EQ(checkpoint.wrapper_keys, (std::vector<std::string>{"epoch", "arch", "state_dict", "optimizer", "extra"}));
  ASSERT_EQ(checkpoint.tensors.size(), 1u);
  EXPECT_EQ(values_of<float>(checkpoint.tensors[0].tensor), (std::vector<float>{1, 2}));
}

TEST(LegacyPth, StateDictKeyThatIsNotADictIsIgnored) {
  PickleWriter w;
  w.proto().op('}').mark().unicode("state_dict").integer(3).unicode("w").tensor("FloatStorage", "2", 1, 0, {1}, {1});
  w.op('u').stop();
  const LegacyCheckpoint checkpoint = read_bytes(legacy_file(w.bytes(), {block("2", std::vector<float>{5})}));
  EXPECT_TRUE(checkpoint.wrapper_keys.empty());
  ASSERT_EQ(checkpoint.tensors.size(), 1u);
  EXPECT_EQ(checkpoint.tensors[0].key, "w");
}

TEST(LegacyPth, RebuildParameterAndStorageViews) {
  PickleWriter w;
  w.proto().op('}').mark();
  w.unicode("param").global("torch._utils", "_rebuild_parameter").mark();
  w.tensor("FloatStorage", "9", 6, 1, {2}, {1}).boolean(true).ordered_dict().op('t').op('R');
  // An old-style storage view: elements [3, 6) of root storage "9", seen as storage "9v".
  w.unicode("from_view").global("torch._utils", "_rebuild_tensor_v2").mark();
  w.mark().unicode("storage").global("torch", "FloatStorage").unicode("9").unicode("cpu").integer(6);
  w.unicode("9v").integer(3).integer(3).op(0x87).op('t').op('Q');
  w.integer(1).int_tuple({2}).int_tuple({1}).boolean(false).ordered_dict().op('t').op('R');
  w.op('u').stop();
  const LegacyCheckpoint checkpoint =
      read_bytes(legacy_file(w.bytes(), {block("9", std::vector<float>{0, 1, 2, 3, 4, 5})}));
  ASSERT_EQ(checkpoint.tensors.size(), 2u);
  EXPECT_EQ(values_of<float>(checkpoint.tensors[0].tensor), (std::vector<float>{1, 2}));
  EXPECT_EQ(values_of<float>(checkpoint.tensors[1].tensor), (std::vector<float>{4, 5}));
}

TEST(LegacyPth, Protocol4OpcodesAndMemo) {
  // FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL, TUPLE1/2, BINGET / LONG_BINGET and DUP/POP in one pickle.
  PickleWriter w;
  w.proto(4).op(0x95).le(0, 8);
  w.op(0x8c).op(11).raw({'c', 'o', 'l', 'l', 'e', 'c', 't', 'i', 'o', 'n', 's'}).op(0x94);  // memo 0
  w.op(0x8c).op(11).raw({'O', 'r', 'd', 'e', 'r', 'e', 'd', 'D', 'i', 'c', 't'}).op(0x94);  // memo 1
  w.op(0x93).op(0x94).op(')').op('R').op(0x94);                                             // memo 2, 3
  w.op(0x8c).op(1).raw({'k'}).op('2').op('0');                                              // DUP then POP
  w.global("torch._utils", "_rebuild_tensor_v2").mark();
  w.storage_id("ShortStorage", "4", 2);
  w.integer(0).integer(2).op(0x85).integer(1).op(0x85).boolean(false).op('j').le(2, 4).op(')').op('R');
  w.op('t').op('R').op('s');
  w.stop();
  const LegacyCheckpoint checkpoint = read_bytes(legacy_file(w.bytes(), {block("4", std::vector<int16_t>{-3, 300})}));
  ASSERT_EQ(checkpoint.tensors.size(), 1u);
  EXPECT_EQ(checkpoint.tensors[0].key, "k");
  EXPECT_EQ(values_of<int16_t>(checkpoint.tensors[0].tensor), (std::vector<int16_t>{-3, 300}));
}

TEST(LegacyPth, FileWrittenByPythonPickle) {
  // tests/data/legacy/python_views.pth comes from make_python_views.py (Python's pickler, a stand-in torch module).
  const std::string path = source_dir() + "/tests/data/legacy/python_views.pth";
  Bytes bytes;
  if (!read_file(path, &bytes) || bytes.empty()) GTEST_SKIP() << "test data not found at " << path;
  const LegacyCheckpoint checkpoint = read_bytes(bytes);
  EXPECT_EQ(checkpoint.wrapper_keys, (std::vector<std::string>{"epoch", "arch", "state_dict", "optimizer"}));
  ASSERT_EQ(checkpoint.tensors.size(), 4u);
  EXPECT_EQ(checkpoint.tensors[0].key, "module.transposed");
  EXPECT_EQ(values_of<float>(checkpoint.tensors[0].tensor), (std::vector<float>{2, 4, 6, 3, 5, 7}));
  EXPECT_EQ(checkpoint.tensors[1].key, "module.whole");
  EXPECT_EQ(checkpoint.tensors[1].tensor.sizes, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(values_of<float>(checkpoint.tensors[1].tensor), (std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(checkpoint.tensors[2].key, "module.counter");
  EXPECT_EQ(values_of<int64_t>(checkpoint.tensors[2].tensor), std::vector<int64_t>{123456789});
  EXPECT_EQ(checkpoint.tensors[3].key, "module.broadcast");
  EXPECT_EQ(values_of<float>(checkpoint.tensors[3].tensor), (std::vector<float>{11, 11, 11, 11}));
}

TEST(LegacyPth, RepeatedKeyKeepsFirstPositionAndLastValue) {
  PickleWriter w;
  w.proto().op('}').mark();
  w.unicode("a").tensor("FloatStorage", "1", 2, 0, {1}, {1});
  w.unicode("b").tensor("FloatStorage", "1", 2, 1, {1}, {1});
  w.unicode("a").tensor("FloatStorage", "1", 2, 1, {1}, {1});
  w.op('u').stop();
  const LegacyCheckpoint checkpoint = read_bytes(legacy_file(w.bytes(), {block("1", std::vector<float>{10, 20})}));
  ASSERT_EQ(checkpoint.tensors.size(), 2u);
  EXPECT_EQ(checkpoint.tensors[0].key, "a");
  EXPECT_EQ(values_of<float>(checkpoint.tensors[0].tensor), std::vector<float>{20});
  EXPECT_EQ(checkpoint.tensors[1].key, "b");
}

TEST(LegacyPth, MemoisedLongStringsReusedManyTimesStayCheap) {
  // A 1 MB memoised string used as a key 100000 times: without interning this costs ~100 GB of hashing/compares.
  // No timing assertion; a regression shows up as this test running into the test timeout.
  PickleWriter w;
  w.proto().op('X').le(1 << 20, 4).raw(Bytes(1 << 20, 'k')).op('r').le(1, 4).op('0');
  w.op('}');
  for (int i = 0; i < 100000; ++i) w.op('j').le(1, 4).op('N').op('s');  // d[long] = None, again and again
  w.op('}').op('j').le(1, 4).op('2').op('s').op('0');                   // a dict keyed by the string, popped
  w.stop();
  const LegacyCheckpoint checkpoint = read_bytes(legacy_file(w.bytes(), {}));
  EXPECT_TRUE(checkpoint.tensors.empty());
}

// ================================================================================================ errors
TEST(LegacyPthErrors, EmptyFile) {
  EXPECT_THROW(oceanplus::io::read_legacy_checkpoint(nullptr, 0, "empty.pth"), WeightsError);
  EXPECT_WEIGHTS_ERROR_MENTIONS(Bytes{}, "empty");
  EXPECT_FALSE(oceanplus::io::is_legacy_checkpoint(nullptr, 0));
}

TEST(LegacyPthErrors, WrongMagic) {
  Bytes file = one_tensor_file({1}, {1}, 0, 1, {1.f});
  file[5] ^= 0x01;  // inside the 10 magic bytes
  EXPECT_FALSE(oceanplus::io::is_legacy_checkpoint(file.data(), file.size()));
  EXPECT_WEIGHTS_ERROR_MENTIONS(file, "magic");
  EXPECT_WEIGHTS_ERROR_MENTIONS(PickleWriter().proto().integer(5).stop().bytes(), "magic");
}

TEST(LegacyPthErrors, ZipCheckpoint) {
  const Bytes zip = {'P', 'K', 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  EXPECT_FALSE(oceanplus::io::is_legacy_checkpoint(zip.data(), zip.size()));
  EXPECT_WEIGHTS_ERROR_MENTIONS(zip, "zip");
}

TEST(LegacyPthErrors, RandomBytes) {
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 200; ++i) {
    Bytes bytes(1 + rng() % 4096);
    for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    EXPECT_THROW(read_bytes(bytes), WeightsError);
  }
}

TEST(LegacyPthErrors, TruncatedSampleAlwaysThrows) {
  LOAD_SAMPLE_OR_SKIP(bytes);
  // The pickles end where the raw storages start; find it from the sample rather than hard-coding 19649.
  size_t header_end = std::min<size_t>(bytes.size(), 20000);
  if (std::ifstream json_in(sample_json_path()); json_in) {
    header_end = nlohmann::json::parse(json_in).at("layout").at("raw_storage_offset").get<size_t>();
  }
  // Each parse costs time linear in the cut length, so cutting at all ~20000 pickle offsets is quadratic (~10 s in
  // an unoptimised build). Every offset is tried near the start (the three header pickles and the first tensors of
  // the object pickle, which between them use every opcode kind) and near the end (the storage-key list); every
  // 3rd offset in between.
  const auto step_after = [&](size_t length) -> size_t { return length < 4096 || length + 1024 >= header_end ? 1 : 3; };
  for (size_t length = 0; length < header_end; length += step_after(length)) {
    ASSERT_THROW(oceanplus::io::read_legacy_checkpoint(bytes.data(), length, "cut.pth"), WeightsError)
        << "truncated at " << length;
  }
  for (size_t length = header_end; length < bytes.size(); length += 193) {
    ASSERT_THROW(oceanplus::io::read_legacy_checkpoint(bytes.data(), length, "cut.pth"), WeightsError)
        << "truncated at " << length;
  }
  for (size_t cut = 1; cut <= 16; ++cut) {
    EXPECT_THROW(oceanplus::io::read_legacy_checkpoint(bytes.data(), bytes.size() - cut, "cut.pth"), WeightsError);
  }
  Bytes longer = bytes;
  longer.push_back(0);
  EXPECT_WEIGHTS_ERROR_MENTIONS(longer, "unexpected bytes");
}

TEST(LegacyPthErrors, TensorOutsideItsStorageNamesTheKey) {
  EXPECT_WEIGHTS_ERROR_MENTIONS(one_tensor_file({10}, {1}, 0, 4, {1, 2, 3, 4}), "bad.weight");
  EXPECT_WEIGHTS_ERROR_MENTIONS(one_tensor_file({2, 2}, {1, 3}, 0, 4, {1, 2, 3, 4}), "bad.weight");
  EXPECT_WEIGHTS_ERROR_MENTIONS(one_tensor_file({}, {}, 4, 4, {1, 2, 3, 4}), "bad.weight");
  EXPECT_WEIGHTS_ERROR_MENTIONS(one_tensor_file({2}, {INT64_MAX}, 0, 4, {1, 2, 3, 4}), "bad.weight");
  PickleWriter bf16;
  bf16.proto().op('}').unicode("bad.weight").tensor("BFloat16Storage", "7", 2, 0, {2}, {1}).op('s').stop();
  EXPECT_WEIGHTS_ERROR_MENTIONS(legacy_file(bf16.bytes(), {block("7", std::vector<uint16_t>{1, 2})}), "bad.weight");
  EXPECT_WEIGHTS_ERROR_MENTIONS(one_tensor_file({2}, {1, 1}, 0, 4, {1, 2, 3, 4}), "bad.weight");
}

TEST(LegacyPthErrors, NumelOverflowAndHugeBroadcast) {
  EXPECT_WEIGHTS_ERROR_MENTIONS(one_tensor_file({1LL << 40, 1LL << 40}, {0, 0}, 0, 1, {1}), "overflow");
  // A stride-0 view of one element would expand to 8 GB: refused against the file-size budget.
  EXPECT_WEIGHTS_ERROR_MENTIONS(one_tensor_file({1LL << 31}, {0}, 0, 1, {1}), "bad.weight");
}

TEST(LegacyPthErrors, StorageDataProblems) {
  // Element count in the data section differs from the declared one.
  PickleWriter w;
  w.proto().op('}').unicode("w").tensor("FloatStorage", "7", 3, 0, {3}, {1}).op('s').stop();
  EXPECT_WEIGHTS_ERROR_MENTIONS(legacy_file(w.bytes(), {block("7", std::vector<float>{1, 2})}), "declares 3");
  // The count is right but the data is missing.
  EXPECT_WEIGHTS_ERROR_MENTIONS(legacy_file(w.bytes(), {StorageBlock{"7", 3, Bytes(8)}}), "truncated");
  // A count that would need exabytes.
  EXPECT_THROW(read_bytes(legacy_file(w.bytes(), {StorageBlock{"7", INT64_MAX, Bytes(8)}})), WeightsError);
  // The storage is not in the key list at all.
  EXPECT_WEIGHTS_ERROR_MENTIONS(legacy_file(w.bytes(), {}), "'w'");
  // The key list names a storage that the pickle never referenced.
  EXPECT_WEIGHTS_ERROR_MENTIONS(
      legacy_file(w.bytes(), {block("7", std::vector<float>{1, 2, 3}), block("8", std::vector<float>{1})}), "'8'");
  // The same storage listed twice.
  EXPECT_WEIGHTS_ERROR_MENTIONS(
      legacy_file(w.bytes(), {block("7", std::vector<float>{1, 2, 3}), block("7", std::vector<float>{1, 2, 3})}),
      "twice");
  // An unknown storage type cannot be skipped.
  PickleWriter unknown;
  unknown.proto().op('}').unicode("w").tensor("MysteryStorage", "7", 1, 0, {1}, {1}).op('s').stop();
  EXPECT_WEIGHTS_ERROR_MENTIONS(legacy_file(unknown.bytes(), {block("7", std::vector<float>{1})}), "MysteryStorage");
}

TEST(LegacyPthErrors, PickleProblems) {
  const auto with_object = [](const Bytes& object) { return legacy_file(object, {}); };
  // Unknown opcode: the message names the byte and the offset.
  const Bytes unknown = with_object(PickleWriter().proto().op(0xff).stop().bytes());
  EXPECT_WEIGHTS_ERROR_MENTIONS(unknown, "0xff");
  EXPECT_WEIGHTS_ERROR_MENTIONS(unknown, "offset");
  EXPECT_WEIGHTS_ERROR_MENTIONS(with_object(PickleWriter().proto().op('h').op(7).stop().bytes()), "memo");
  EXPECT_WEIGHTS_ERROR_MENTIONS(with_object(PickleWriter().proto().op('R').stop().bytes()), "underflow");
  EXPECT_WEIGHTS_ERROR_MENTIONS(with_object(PickleWriter().proto().op('t').stop().bytes()), "MARK");
  EXPECT_WEIGHTS_ERROR_MENTIONS(with_object(PickleWriter().proto().op('}').bytes()), "STOP");
  EXPECT_WEIGHTS_ERROR_MENTIONS(with_object(PickleWriter().proto().op(0x8b).le(0x7fffffff, 4).stop().bytes()),
                                "remain");
  EXPECT_WEIGHTS_ERROR_MENTIONS(with_object(PickleWriter().proto().op('X').le(0xffffffff, 4).stop().bytes()), "remain");
  EXPECT_WEIGHTS_ERROR_MENTIONS(with_object(PickleWriter().proto().op(0x8d).le(~0ULL, 8).stop().bytes()), "remain");
  EXPECT_WEIGHTS_ERROR_MENTIONS(with_object(PickleWriter().proto().op('c').raw({'a', 'b'}).bytes()), "newline");
  EXPECT_WEIGHTS_ERROR_MENTIONS(
      with_object(PickleWriter().proto().integer(5).integer(3).integer(4).op('s').stop().bytes()), "SETITEM");
  EXPECT_WEIGHTS_ERROR_MENTIONS(with_object(PickleWriter().proto().op(']').stop().bytes()), "not a dict");
  EXPECT_WEIGHTS_ERROR_MENTIONS(with_object(PickleWriter().proto().none().op('Q').stop().bytes()), "persistent id");
  // A self-referencing list is fine for the VM (no leak, no recursion) but is still not a dict.
  EXPECT_WEIGHTS_ERROR_MENTIONS(
      with_object(PickleWriter().proto().op(']').op('q').op(0).op('h').op(0).op('a').stop().bytes()), "not a dict");
  // A tensor constructor with too few arguments.
  PickleWriter few;
  few.proto().op('}').unicode("t").global("torch._utils", "_rebuild_tensor_v2").integer(1).op(0x85).op('R');
  EXPECT_WEIGHTS_ERROR_MENTIONS(with_object(few.op('s').stop().bytes()), "'t'");
}

TEST(LegacyPthErrors, BadHeaderPickles) {
  // Protocol version other than 1001.
  PickleWriter version;
  version.raw(magic_pickle()).raw(PickleWriter().proto().integer(1000).stop().bytes());
  EXPECT_WEIGHTS_ERROR_MENTIONS(version.bytes(), "1001");
  // Big-endian sys_info.
  PickleWriter w;
  w.proto().op('}').stop();
  EXPECT_WEIGHTS_ERROR_MENTIONS(legacy_file(w.bytes(), {}, false), "big-endian");
}

TEST(LegacyPthErrors, UnreadablePathIsNamed) {
  const std::string path = "/nonexistent/dir/model.pth";
  try {
    oceanplus::io::read_legacy_checkpoint_file(path);
    FAIL() << "expected WeightsError";
  } catch (const WeightsError& e) {
    EXPECT_EQ(e.file(), path);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

// ================================================================================================ mutation fuzzing
void mutate(Bytes& bytes, std::mt19937_64& rng, size_t hot_region, size_t max_size) {
  static const uint8_t kInteresting[] = {0x00, 0xff, 0x7f, 0x80};
  const auto position = [&](size_t limit) -> size_t {
    // Most mutations land in the pickles, where the parser logic is; the rest anywhere.
    const size_t region = (rng() % 5 != 0) ? std::min(hot_region, limit) : limit;
    return region == 0 ? 0 : rng() % region;
  };
  const int count = 1 + static_cast<int>(rng() % 4);
  for (int m = 0; m < count && !bytes.empty(); ++m) {
    switch (rng() % 6) {
      case 0: bytes[position(bytes.size())] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
      case 1: bytes[position(bytes.size())] = kInteresting[rng() % 4]; break;
      case 2: bytes[position(bytes.size())] = static_cast<uint8_t>(rng()); break;
      case 3: {  // delete a chunk
        const size_t at = position(bytes.size());
        const size_t length = std::min<size_t>(1 + rng() % 64, bytes.size() - at);
        bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                    bytes.begin() + static_cast<std::ptrdiff_t>(at + length));
        break;
      }
      case 4: {  // duplicate a chunk in place
        const size_t at = position(bytes.size());
        const size_t length = std::min<size_t>(1 + rng() % 64, bytes.size() - at);
        if (bytes.size() + length > max_size) break;
        const Bytes chunk(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                          bytes.begin() + static_cast<std::ptrdiff_t>(at + length));
        bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), chunk.begin(), chunk.end());
        break;
      }
      default: bytes.resize(position(bytes.size()) + 1); break;  // truncate
    }
  }
}

TEST(LegacyPthFuzz, MutatedSampleNeverCrashes) {
  LOAD_SAMPLE_OR_SKIP(sample);
  std::mt19937_64 rng(0x1950a86a20f9469cULL);
  const size_t hot_region = std::min<size_t>(sample.size(), 20000);
  const size_t max_size = sample.size() + 4096;
  Bytes mutated;
  for (int i = 0; i < 3000; ++i) {
    mutated = sample;
    mutate(mutated, rng, hot_region, max_size);
    EXPECT_EQ(LLVMFuzzerTestOneInput(mutated.data(), mutated.size()), 0);
  }
}

TEST(LegacyPthFuzz, MutatedHandBuiltFileNeverCrashes) {
  // A small file full of views, so that mutations reach the materialisation code often.
  std::vector<float> storage(12, 1.f);
  PickleWriter w;
  w.proto().ordered_dict().mark();
  w.unicode("a").tensor("FloatStorage", "1", 12, 2, {2, 3}, {1, 2});
  w.unicode("b").tensor("FloatStorage", "1", 12, 0, {3, 2, 2}, {4, 2, 1});
  w.unicode("c").tensor("LongStorage", "2", 1, 0, {}, {});
  w.unicode("d").tensor("FloatStorage", "1", 12, 11, {4}, {0});
  w.op('u').stop();
  const Bytes file = legacy_file(w.bytes(), {block("1", storage), block("2", std::vector<int64_t>{9})});
  ASSERT_EQ(read_bytes(file).tensors.size(), 4u);
  std::mt19937_64 rng(77);
  Bytes mutated;
  for (int i = 0; i < 3000; ++i) {
    mutated = file;
    mutate(mutated, rng, file.size(), file.size() + 512);
    EXPECT_EQ(LLVMFuzzerTestOneInput(mutated.data(), mutated.size()), 0);
  }
}

}  // namespace
