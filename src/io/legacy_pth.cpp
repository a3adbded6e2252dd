// Legacy (non-zip) PyTorch checkpoint reader: a small pickle protocol-2 virtual machine plus the torch layout.
//
// Safety model. Pickle objects live in per-kind pools and refer to each other by index, so cyclic structures
// (a list appended to itself) neither leak nor recurse. Every opcode creates at most one pool object and copies no
// more than a few values, so the pools stay linear in the input size. Strings are interned when read: equal strings
// share one id, so dict keys, storage keys and global names compare and hash in O(1) however often a memoised long
// string is reused (otherwise a small hostile file could cost quadratic time). Tensor data is copied only for the
// chosen state dict and only within a budget proportional to the file size, because stride-0 views or many keys
// sharing one storage could otherwise blow up a small file into gigabytes.
#include "io/legacy_pth.h"

#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/error.h"

namespace oceanplus::io {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Float16: return 2;
    case DType::Int64: return 8;
    case DType::Int32: return 4;
    case DType::Int16: return 2;
    case DType::Int8: return 1;
    case DType::UInt8: return 1;
    case DType::Bool: return 1;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Float16: return "float16";
    case DType::Int64: return "int64";
    case DType::Int32: return "int32";
    case DType::Int16: return "int16";
    case DType::Int8: return "int8";
    case DType::UInt8: return "uint8";
    case DType::Bool: return "bool";
  }
  return "unknown";
}

int64_t RawTensor::numel() const {
  int64_t count = 1;
  for (int64_t s : sizes) count *= s;
  return count;
}

namespace {

constexpr int64_t kLegacyProtocolVersion = 1001;
// 0x1950a86a20f9469cfc6c as a little-endian two's-complement integer (the LONG1 payload torch writes).
constexpr uint8_t kMagicNumberLE[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr size_t kMaxTensorDims = 64;
constexpr size_t kMaxQuotedChars = 120;

// Pickle opcodes (Python's pickle.py names).
enum Opcode : uint8_t {
  kMark = '(',
  kStop = '.',
  kPop = '0',
  kPopMark = '1',
  kDup = '2',
  kNone = 'N',
  kBinInt = 'J',
  kBinInt1 = 'K',
  kBinInt2 = 'M',
  kBinPersId = 'Q',
  kReduce = 'R',
  kBinString = 'T',
  kShortBinString = 'U',
  kBinUnicode = 'X',
  kAppend = 'a',
  kBuild = 'b',
  kGlobal = 'c',
  kDict = 'd',
  kEmptyDict = '}',
  kAppends = 'e',
  kBinGet = 'h',
  kLongBinGet = 'j',
  kList = 'l',
  kEmptyList = ']',
  kBinPut = 'q',
  kLongBinPut = 'r',
  kSetItem = 's',
  kTuple = 't',
  kEmptyTuple = ')',
  kSetItems = 'u',
  kBinFloat = 'G',
  kBinBytes = 'B',
  kShortBinBytes = 'C',
  kProto = 0x80,
  kNewObj = 0x81,
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kLong1 = 0x8a,
  kLong4 = 0x8b,
  kShortBinUnicode = 0x8c,
  kBinUnicode8 = 0x8d,
  kBinBytes8 = 0x8e,
  kNewObjEx = 0x92,
  kStackGlobal = 0x93,
  kMemoize = 0x94,
  kFrame = 0x95,
};

enum class Kind : uint8_t {
  None,
  Bool,
  Int,
  Float,
  BigInt,
  String,
  Tuple,
  List,
  Dict,
  Global,
  Storage,
  Tensor,
  Opaque
};

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::BigInt: return "big int";
    case Kind::String: return "string";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
    case Kind::Opaque: return "opaque object";
  }
  return "unknown";
}

// A pickle value. Scalars are held inline; heap kinds hold an index into the pool of their kind.
struct Value {
  Kind kind = Kind::None;
  int64_t number = 0;  // Bool / Int value, or a pool index
  double real = 0.0;   // Float value
};

Value make_value(Kind kind, int64_t number) {
  Value v;
  v.kind = kind;
  v.number = number;
  return v;
}

struct GlobalName {
  int64_t module = 0;  // interned string ids
  int64_t name = 0;
};

// Python dict keys we can compare by value (strings by interned id); other key kinds are kept without
// de-duplication.
struct DictKey {
  Kind kind = Kind::None;
  int64_t number = 0;
  bool operator==(const DictKey& other) const { return kind == other.kind && number == other.number; }
};

struct DictKeyHash {
  size_t operator()(const DictKey& key) const {
    return std::hash<int64_t>()(key.number) * 31 + static_cast<size_t>(key.kind);
  }
};

struct DictObject {
  std::vector<std::pair<Value, Value>> items;  // insertion order, as Python dicts keep it
  // Key -> position; built only once a dict grows past kDictIndexThreshold (most dicts in a checkpoint hold one
  // or two items, and hashing them all made parsing allocation-bound).
  std::unordered_map<DictKey, size_t, DictKeyHash> index;
};

constexpr size_t kDictIndexThreshold = 8;

struct MemoSlot {
  bool set = false;
  Value value;
};

// Arguments of a tensor constructor, validated only when the tensor is materialised (then the key is known).
struct TensorRecipe {
  std::string problem;  // non-empty when the constructor call itself was malformed
  Value storage, offset, sizes, strides;
};

struct StorageTypeInfo {
  const char* name;
  size_t element_size;
  bool supported;
  DType dtype;
};

constexpr StorageTypeInfo kStorageTypes[] = {
    {"FloatStorage", 4, true, DType::Float32},
    {"DoubleStorage", 8, true, DType::Float64},
    {"HalfStorage", 2, true, DType::Float16},
    {"LongStorage", 8, true, DType::Int64},
    {"IntStorage", 4, true, DType::Int32},
    {"ShortStorage", 2, true, DType::Int16},
    {"CharStorage", 1, true, DType::Int8},
    {"ByteStorage", 1, true, DType::UInt8},
    {"BoolStorage", 1, true, DType::Bool},
    // Not materialised, but knowing their element size lets the reader step over their data (e.g. optimizer state).
    {"BFloat16Storage", 2, false, DType::Float32},
    {"ComplexFloatStorage", 8, false, DType::Float32},
    {"ComplexDoubleStorage", 16, false, DType::Float32},
    {"QInt8Storage", 1, false, DType::Float32},
    {"QUInt8Storage", 1, false, DType::Float32},
    {"QInt32Storage", 4, false, DType::Float32},
    {"QUInt4x2Storage", 1, false, DType::Float32},
    {"QUInt2x4Storage", 1, false, DType::Float32},
};

// One root storage (one block in the data section).
struct StorageRecord {
  int64_t key = 0;                        // interned string id
  Value type;                             // the GLOBAL given as its type (for messages)
  const StorageTypeInfo* info = nullptr;  // null when the type is unknown
  int64_t numel = 0;                      // declared element count
  bool has_data = false;
  size_t data_offset = 0;  // byte offset of its first element in the input
};

// What a persistent id resolves to: a root storage or a slice of one (torch's storage views).
struct StorageRef {
  size_t record = 0;
  int64_t first_element = 0;
  int64_t numel = 0;
};

std::string quoted(std::string_view text) {
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kMaxQuotedChars; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (text.size() > kMaxQuotedChars) out += "...";
  out += "'";
  return out;
}

std::string hex_byte(uint8_t byte) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", byte);
  return buf;
}

std::string join_ints(const std::vector<int64_t>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(values[i]);
  }
  return out + "]";
}

class LegacyReader {
 public:
  LegacyReader(const uint8_t* data, size_t size, std::string file_name)
      : data_(data), size_(size), file_(std::move(file_name)) {}

  LegacyCheckpoint read() {
    if (size_ == 0) fail("empty file; not a legacy PyTorch checkpoint");
    if (size_ >= 2 && data_[0] == 'P' && data_[1] == 'K') {
      fail("this is a zip-format checkpoint (torch >= 1.6), not the legacy (torch <= 1.5) format");
    }
    if (!read_magic()) fail("not a legacy PyTorch checkpoint: the file does not start with the magic-number pickle");

    const Value version = run_pickle("protocol-version pickle", false);
    if (version.kind != Kind::Int || version.number != kLegacyProtocolVersion) {
      fail("unsupported legacy protocol version (expected 1001)");
    }
    check_sys_info(run_pickle("sys_info pickle", false));
    const Value root = run_pickle("object pickle", true);
    read_storage_data(run_pickle("storage-key list pickle", false));
    return build_checkpoint(root);
  }

  // Runs the first pickle; true when it is the torch magic number. Never throws.
  bool read_magic() {
    try {
      const Value magic = run_pickle("magic-number pickle", false);
      if (magic.kind != Kind::BigInt) return false;
      const std::string_view bytes = text(magic.number);
      return bytes.size() == sizeof kMagicNumberLE && std::memcmp(bytes.data(), kMagicNumberLE, bytes.size()) == 0;
    } catch (const WeightsError&) {
      return false;
    }
  }

 private:
  // ---------------------------------------------------------------------------------------------- errors
  [[noreturn]] void fail(const std::string& message) const { throw WeightsError(file_, message); }

  [[noreturn]] void fail_op(const std::string& message) const {
    fail(std::string(section_) + ": " + message + " (opcode " + hex_byte(opcode_) + " at offset " +
         std::to_string(opcode_offset_) + ")");
  }

  // ---------------------------------------------------------------------------------------------- byte reads
  size_t remaining() const { return size_ - pos_; }

  void need(uint64_t count) const {
    if (count > remaining()) {
      fail_op("needs " + std::to_string(count) + " more bytes but only " + std::to_string(remaining()) + " remain");
    }
  }

  uint64_t read_le(size_t count) {
    need(count);
    uint64_t value = 0;
    for (size_t i = 0; i < count; ++i) value |= static_cast<uint64_t>(data_[pos_ + i]) << (8 * i);
    pos_ += count;
    return value;
  }

  // GLOBAL operand: a newline-terminated line, returned as an interned string id.
  int64_t read_line() {
    const void* newline = std::memchr(data_ + pos_, '\n', remaining());
    if (newline == nullptr) fail_op("GLOBAL name is not terminated by a newline");
    const size_t end = static_cast<size_t>(static_cast<const uint8_t*>(newline) - data_);
    const int64_t id = intern(reinterpret_cast<const char*>(data_ + pos_), end - pos_);
    pos_ = end + 1;
    return id;
  }

  // ---------------------------------------------------------------------------------------------- pools
  // Id of the string with these bytes; equal contents always get the same id.
  int64_t intern(const char* bytes, size_t length) {
    const auto found = string_ids_.find(std::string_view(bytes, length));
    if (found != string_ids_.end()) return found->second;
    strings_.emplace_back(bytes, length);
    const int64_t id = static_cast<int64_t>(strings_.size() - 1);
    string_ids_.emplace(std::string_view(strings_.back()), id);
    return id;
  }

  Value new_string(uint64_t length) {
    need(length);
    const int64_t id = intern(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(length));
    pos_ += static_cast<size_t>(length);
    return make_value(Kind::String, id);
  }

  Value new_sequence(Kind kind, std::vector<Value> items) {
    sequences_.push_back(std::move(items));
    return make_value(kind, static_cast<int64_t>(sequences_.size() - 1));
  }

  Value new_dict() {
    dicts_.emplace_back();
    return make_value(Kind::Dict, static_cast<int64_t>(dicts_.size() - 1));
  }

  Value new_global(int64_t module, int64_t name) {
    globals_.push_back({module, name});
    return make_value(Kind::Global, static_cast<int64_t>(globals_.size() - 1));
  }

  Value new_tensor(TensorRecipe recipe) {
    tensors_.push_back(std::move(recipe));
    return make_value(Kind::Tensor, static_cast<int64_t>(tensors_.size() - 1));
  }

  static Value opaque() { return make_value(Kind::Opaque, 0); }

  const std::vector<Value>& sequence(const Value& v) const { return sequences_[static_cast<size_t>(v.number)]; }
  std::string_view text(int64_t id) const { return strings_[static_cast<size_t>(id)]; }
  std::string_view text(const Value& v) const { return text(v.number); }
  const GlobalName& global(const Value& v) const { return globals_[static_cast<size_t>(v.number)]; }

  bool is_global(const Value& v, std::string_view module, std::string_view name) const {
    return v.kind == Kind::Global && text(global(v).module) == module && text(global(v).name) == name;
  }

  // ---------------------------------------------------------------------------------------------- integers
  // LONG1 / LONG4 payload: little-endian two's complement. Values beyond int64 (the magic number) stay as bytes.
  Value read_long(uint64_t length) {
    need(length);
    const uint8_t* bytes = data_ + pos_;
    pos_ += static_cast<size_t>(length);
    size_t n = static_cast<size_t>(length);
    // Drop redundant sign-extension bytes so that equal numbers compare equal whatever their encoding.
    while (n > 1 &&
           ((bytes[n - 1] == 0x00 && !(bytes[n - 2] & 0x80)) || (bytes[n - 1] == 0xff && (bytes[n - 2] & 0x80)))) {
      --n;
    }
    if (n > 8) {
      return make_value(Kind::BigInt, intern(reinterpret_cast<const char*>(bytes), n));
    }
    uint64_t value = 0;
    for (size_t i = 0; i < n; ++i) value |= static_cast<uint64_t>(bytes[i]) << (8 * i);
    if (n > 0 && n < 8 && (bytes[n - 1] & 0x80)) value |= ~uint64_t{0} << (8 * n);
    return make_value(Kind::Int, static_cast<int64_t>(value));
  }

  // ---------------------------------------------------------------------------------------------- stack
  size_t stack_floor() const { return marks_.empty() ? 0 : marks_.back(); }

  Value pop() {
    if (stack_.size() <= stack_floor()) fail_op("stack underflow");
    Value v = stack_.back();
    stack_.pop_back();
    return v;
  }

  Value top() const {
    if (stack_.size() <= stack_floor()) fail_op("stack underflow");
    return stack_.back();
  }

  void push(const Value& v) { stack_.push_back(v); }

  std::vector<Value> pop_mark() {
    if (marks_.empty()) fail_op("no MARK on the stack");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Value> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }

  // Pickles number memo entries 0, 1, 2, ...: a dense table serves them. An index beyond the bytes read so far in
  // this pickle (which no honest pickle can reach) goes to a sparse map, so a hostile index cannot force a huge table.
  void memo_put(uint64_t index, const Value& value) {
    if (index < memo_.size() || index <= pos_ - pickle_start_) {
      if (index >= memo_.size()) memo_.resize(static_cast<size_t>(index) + 1);
      MemoSlot& slot = memo_[static_cast<size_t>(index)];
      if (!slot.set) ++memo_count_;
      slot.set = true;
      slot.value = value;
    } else {
      if (sparse_memo_.find(index) == sparse_memo_.end()) ++memo_count_;
      sparse_memo_[index] = value;
    }
  }

  Value memo_get(uint64_t index) const {
    if (index < memo_.size() && memo_[static_cast<size_t>(index)].set) return memo_[static_cast<size_t>(index)].value;
    const auto it = sparse_memo_.find(index);
    if (it == sparse_memo_.end()) fail_op("memo miss: index " + std::to_string(index) + " was never stored");
    return it->second;
  }

  // ---------------------------------------------------------------------------------------------- containers
  bool dict_key(const Value& key, DictKey* out) const {
    out->kind = key.kind;
    switch (key.kind) {
      case Kind::None: return true;
      case Kind::Bool:
      case Kind::Int:
        out->kind = Kind::Int;  // True == 1 in Python
        out->number = key.number;
        return true;
      case Kind::Float: std::memcpy(&out->number, &key.real, sizeof out->number); return true;
      case Kind::String:
      case Kind::BigInt: out->number = key.number; return true;  // interned: equal text, equal id
      default: return false;
    }
  }

  // Position of a comparable key in the dict, or items.size() when absent.
  size_t dict_position(const DictObject& dict, const DictKey& wanted) const {
    if (dict.items.size() < kDictIndexThreshold) {
      for (size_t i = 0; i < dict.items.size(); ++i) {
        DictKey key;
        if (dict_key(dict.items[i].first, &key) && key == wanted) return i;
      }
      return dict.items.size();
    }
    const auto it = dict.index.find(wanted);
    return it == dict.index.end() ? dict.items.size() : it->second;
  }

  void dict_set(size_t dict_index, const Value& key, const Value& value) {
    DictObject& dict = dicts_[dict_index];
    DictKey hashed;
    const bool comparable = dict_key(key, &hashed);
    if (comparable) {
      const size_t position = dict_position(dict, hashed);
      if (position < dict.items.size()) {  // Python semantics: the old position keeps the new value
        dict.items[position].second = value;
        return;
      }
    }
    dict.items.emplace_back(key, value);
    if (dict.items.size() == kDictIndexThreshold) {
      for (size_t i = 0; i < dict.items.size(); ++i) {
        DictKey existing;
        if (dict_key(dict.items[i].first, &existing)) dict.index.emplace(existing, i);
      }
    } else if (dict.items.size() > kDictIndexThreshold && comparable) {
      dict.index.emplace(hashed, dict.items.size() - 1);
    }
  }

  const Value* dict_find(const Value& dict, std::string_view key) const {
    const auto id = string_ids_.find(key);
    if (id == string_ids_.end()) return nullptr;  // no string with this text was ever read
    const DictObject& d = dicts_[static_cast<size_t>(dict.number)];
    DictKey wanted;
    wanted.kind = Kind::String;
    wanted.number = id->second;
    const size_t position = dict_position(d, wanted);
    return position < d.items.size() ? &d.items[position].second : nullptr;
  }

  void set_items(const Value& target, const std::vector<Value>& key_values) {
    if (key_values.size() % 2 != 0) fail_op("SETITEMS with an odd number of stack items");
    if (target.kind == Kind::Opaque) return;  // e.g. a custom mapping class: contents are not needed
    if (target.kind != Kind::Dict) fail_op(std::string("SETITEM on a ") + kind_name(target.kind) + ", not a dict");
    for (size_t i = 0; i < key_values.size(); i += 2) {
      dict_set(static_cast<size_t>(target.number), key_values[i], key_values[i + 1]);
    }
  }

  void append_items(const Value& target, const std::vector<Value>& items) {
    if (target.kind == Kind::Opaque) return;
    if (target.kind != Kind::List) fail_op(std::string("APPEND on a ") + kind_name(target.kind) + ", not a list");
    std::vector<Value>& list = sequences_[static_cast<size_t>(target.number)];
    list.insert(list.end(), items.begin(), items.end());
  }

  // ---------------------------------------------------------------------------------------------- calls
  Value call(const Value& callable, const Value& args) {
    if (callable.kind != Kind::Global) return opaque();
    if (is_global(callable, "collections", "OrderedDict")) return make_ordered_dict(args);
    if (is_global(callable, "torch._utils", "_rebuild_tensor_v2") ||
        is_global(callable, "torch._utils", "_rebuild_tensor")) {
      return make_tensor(args, text(global(callable).name));
    }
    if (is_global(callable, "torch._utils", "_rebuild_parameter")) {
      if (args.kind == Kind::Tuple && !sequence(args).empty() && sequence(args)[0].kind == Kind::Tensor) {
        return sequence(args)[0];
      }
      TensorRecipe broken;
      broken.problem = "_rebuild_parameter is not given a tensor as its first argument";
      return new_tensor(std::move(broken));
    }
    if (is_global(callable, "torch", "Size") && args.kind == Kind::Tuple && sequence(args).size() == 1 &&
        sequence(args)[0].kind == Kind::Tuple) {
      return sequence(args)[0];
    }
    return opaque();  // optimizer classes, numpy scalars, ...: fine unless a tensor needs them
  }

  // OrderedDict() as pickled with protocol 2: REDUCE with an empty tuple, then SETITEM(S). Other forms are never
  // written by torch; they become opaque (building them from a memoised item list could cost quadratic memory).
  Value make_ordered_dict(const Value& args) {
    if (args.kind == Kind::Tuple && sequence(args).empty()) return new_dict();
    return opaque();
  }

  Value make_tensor(const Value& args, std::string_view function) {
    TensorRecipe recipe;
    if (args.kind != Kind::Tuple) {
      recipe.problem = std::string(function) + " is given a " + kind_name(args.kind) + " instead of an argument tuple";
    } else if (sequence(args).size() < 4) {
      recipe.problem = std::string(function) + " is given " + std::to_string(sequence(args).size()) +
                       " arguments; it needs at least storage, offset, size and stride";
    } else {
      const std::vector<Value>& a = sequence(args);
      recipe.storage = a[0];
      recipe.offset = a[1];
      recipe.sizes = a[2];
      recipe.strides = a[3];
    }
    return new_tensor(std::move(recipe));
  }

  // Storage keys are decimal strings; an int is accepted as its decimal text. Returns an interned id.
  int64_t storage_key_id(const Value& v) {
    if (v.kind == Kind::String) return v.number;
    if (v.kind == Kind::Int) {
      const std::string decimal = std::to_string(v.number);
      return intern(decimal.data(), decimal.size());
    }
    fail_op(std::string("storage key is a ") + kind_name(v.kind) + ", not a string");
  }

  const StorageTypeInfo* storage_type_info(const GlobalName& name) const {
    if (text(name.module) != "torch" && text(name.module) != "torch.cuda") return nullptr;
    for (const StorageTypeInfo& info : kStorageTypes) {
      if (text(name.name) == info.name) return &info;
    }
    return nullptr;
  }

  std::string storage_type_name(const StorageRecord& record) const {
    if (record.type.kind != Kind::Global) return std::string("<a ") + kind_name(record.type.kind) + ">";
    const GlobalName& name = global(record.type);
    return quoted(std::string(text(name.module)) + "." + std::string(text(name.name)));
  }

  // BINPERSID: ('storage', type, root_key, location, numel, view_metadata). The location is ignored on purpose:
  // GPU-trained checkpoints say 'cuda:0' and must load on CPU.
  Value persistent_load(const Value& pid) {
    if (pid.kind != Kind::Tuple || sequence(pid).empty() || sequence(pid)[0].kind != Kind::String) {
      fail_op("persistent id is not a tuple starting with a type name");
    }
    const std::string_view id_type = text(sequence(pid)[0]);
    if (id_type == "module") return opaque();  // source of a pickled nn.Module class: not needed
    if (id_type != "storage") fail_op("unknown persistent id type " + quoted(id_type));
    if (sequence(pid).size() != 6) {
      fail_op("storage persistent id has " + std::to_string(sequence(pid).size()) + " fields, expected 6");
    }
    const Value type = sequence(pid)[1];
    const Value numel = sequence(pid)[4];
    const Value view = sequence(pid)[5];
    const int64_t key_id = storage_key_id(sequence(pid)[2]);
    const std::string key = quoted(text(key_id));
    if (numel.kind != Kind::Int || numel.number < 0) {
      fail_op("storage " + key + " has an element count that is not a non-negative integer");
    }

    size_t record_index;
    const auto found = storage_index_.find(key_id);
    if (found == storage_index_.end()) {
      StorageRecord record;
      record.key = key_id;
      record.type = type;
      record.info = type.kind == Kind::Global ? storage_type_info(global(type)) : nullptr;
      record.numel = numel.number;
      record_index = storages_.size();
      storages_.push_back(std::move(record));
      storage_index_.emplace(key_id, record_index);
    } else {
      record_index = found->second;
      const StorageRecord& record = storages_[record_index];
      const bool same_type = type.kind == Kind::Global && record.type.kind == Kind::Global &&
                             global(type).module == global(record.type).module &&
                             global(type).name == global(record.type).name;
      if (!same_type || record.numel != numel.number) {
        fail_op("storage " + key + " is declared twice with a different type or size");
      }
    }

    StorageRef ref;
    ref.record = record_index;
    ref.numel = numel.number;
    if (view.kind == Kind::Tuple && sequence(view).size() == 3) {
      const Value view_offset = sequence(view)[1];
      const Value view_numel = sequence(view)[2];
      int64_t view_end = 0;
      if (view_offset.kind != Kind::Int || view_numel.kind != Kind::Int || view_offset.number < 0 ||
          view_numel.number < 0 || __builtin_add_overflow(view_offset.number, view_numel.number, &view_end) ||
          view_end > numel.number) {
        fail_op("storage view of " + key + " lies outside its storage");
      }
      ref.first_element = view_offset.number;
      ref.numel = view_numel.number;
    } else if (view.kind != Kind::None) {
      fail_op("storage " + key + " has malformed view metadata");
    }
    storage_refs_.push_back(ref);
    return make_value(Kind::Storage, static_cast<int64_t>(storage_refs_.size() - 1));
  }

  // ---------------------------------------------------------------------------------------------- the VM
  Value run_pickle(const char* section, bool allow_persistent_ids) {
    section_ = section;
    pickle_start_ = pos_;
    stack_.clear();
    marks_.clear();
    memo_.clear();  // each pickle.load() starts with an empty memo
    sparse_memo_.clear();
    memo_count_ = 0;
    for (;;) {
      if (pos_ >= size_) {
        fail(std::string(section_) + ": the data ends at offset " + std::to_string(pos_) + " before the STOP opcode");
      }
      opcode_offset_ = pos_;
      opcode_ = data_[pos_++];
      switch (opcode_) {
        case kProto: {
          const uint64_t protocol = read_le(1);
          if (protocol > 5) fail_op("unsupported pickle protocol " + std::to_string(protocol));
          break;
        }
        case kFrame: need(read_le(8)); break;  // framing is advisory; only check that the frame fits
        case kStop: return pop();
        case kMark: marks_.push_back(stack_.size()); break;
        case kPop:
          if (stack_.size() > stack_floor()) {
            stack_.pop_back();
          } else if (!marks_.empty()) {
            marks_.pop_back();  // as Python does: POP on an empty frame discards the mark
          } else {
            fail_op("stack underflow");
          }
          break;
        case kPopMark: pop_mark(); break;
        case kDup: push(top()); break;
        case kNone: push(Value{}); break;
        case kNewTrue: push(make_value(Kind::Bool, 1)); break;
        case kNewFalse: push(make_value(Kind::Bool, 0)); break;
        case kBinInt: push(make_value(Kind::Int, static_cast<int32_t>(static_cast<uint32_t>(read_le(4))))); break;
        case kBinInt1: push(make_value(Kind::Int, static_cast<int64_t>(read_le(1)))); break;
        case kBinInt2: push(make_value(Kind::Int, static_cast<int64_t>(read_le(2)))); break;
        case kLong1: push(read_long(read_le(1))); break;
        case kLong4: {
          const int32_t length = static_cast<int32_t>(static_cast<uint32_t>(read_le(4)));
          if (length < 0) fail_op("negative LONG4 length");
          push(read_long(static_cast<uint64_t>(length)));
          break;
        }
        case kBinFloat: {
          need(8);
          uint64_t bits = 0;
          for (size_t i = 0; i < 8; ++i) bits = (bits << 8) | data_[pos_ + i];  // big-endian
          pos_ += 8;
          Value v = make_value(Kind::Float, 0);
          std::memcpy(&v.real, &bits, sizeof v.real);
          push(v);
          break;
        }
        // Python 2 str, Python 3 bytes and str are all kept as strings: torch compares them as text.
        case kShortBinUnicode:
        case kShortBinString:
        case kShortBinBytes: push(new_string(read_le(1))); break;
        case kBinUnicode:
        case kBinBytes: push(new_string(read_le(4))); break;
        case kBinString: {
          const int32_t length = static_cast<int32_t>(static_cast<uint32_t>(read_le(4)));
          if (length < 0) fail_op("negative BINSTRING length");
          push(new_string(static_cast<uint64_t>(length)));
          break;
        }
        case kBinUnicode8:
        case kBinBytes8: push(new_string(read_le(8))); break;
        case kEmptyDict: push(new_dict()); break;
        case kEmptyList: push(new_sequence(Kind::List, {})); break;
        case kEmptyTuple: push(new_sequence(Kind::Tuple, {})); break;
        case kTuple: push(new_sequence(Kind::Tuple, pop_mark())); break;
        case kTuple1: {
          const Value a = pop();
          push(new_sequence(Kind::Tuple, {a}));
          break;
        }
        case kTuple2: {
          const Value b = pop();
          const Value a = pop();
          push(new_sequence(Kind::Tuple, {a, b}));
          break;
        }
        case kTuple3: {
          const Value c = pop();
          const Value b = pop();
          const Value a = pop();
          push(new_sequence(Kind::Tuple, {a, b, c}));
          break;
        }
        case kList: push(new_sequence(Kind::List, pop_mark())); break;
        case kDict: {
          const std::vector<Value> key_values = pop_mark();
          const Value dict = new_dict();
          set_items(dict, key_values);
          push(dict);
          break;
        }
        case kAppend: {
          const Value item = pop();
          append_items(top(), {item});
          break;
        }
        case kAppends: {
          const std::vector<Value> items = pop_mark();
          append_items(top(), items);
          break;
        }
        case kSetItem: {
          const Value value = pop();
          const Value key = pop();
          set_items(top(), {key, value});
          break;
        }
        case kSetItems: {
          const std::vector<Value> key_values = pop_mark();
          set_items(top(), key_values);
          break;
        }
        case kGlobal: {
          const int64_t module = read_line();
          const int64_t name = read_line();
          push(new_global(module, name));
          break;
        }
        case kStackGlobal: {
          const Value name = pop();
          const Value module = pop();
          if (name.kind != Kind::String || module.kind != Kind::String) fail_op("STACK_GLOBAL needs two strings");
          push(new_global(module.number, name.number));
          break;
        }
        case kReduce:
        case kNewObj: {
          const Value args = pop();
          const Value callable = pop();
          push(call(callable, args));
          break;
        }
        case kNewObjEx: {
          pop();  // keyword arguments: none of the classes we build takes any
          const Value args = pop();
          const Value cls = pop();
          push(call(cls, args));
          break;
        }
        case kBuild:
          // The state is ignored: in checkpoints it is OrderedDict._metadata or the attributes of opaque objects.
          pop();
          top();
          break;
        case kBinPersId: {
          if (!allow_persistent_ids) fail_op("persistent id outside the object pickle");
          const Value pid = pop();
          push(persistent_load(pid));
          break;
        }
        case kBinPut: {
          const uint64_t index = read_le(1);
          memo_put(index, top());
          break;
        }
        case kLongBinPut: {
          const uint64_t index = read_le(4);
          memo_put(index, top());
          break;
        }
        case kMemoize: memo_put(memo_count_, top()); break;  // the index is len(memo), as in Python
        case kBinGet: push(memo_get(read_le(1))); break;
        case kLongBinGet: push(memo_get(read_le(4))); break;
        default: fail_op("unknown or unsupported pickle opcode");
      }
    }
  }

  // ---------------------------------------------------------------------------------------------- layout
  void check_sys_info(const Value& sys_info) {
    if (sys_info.kind != Kind::Dict) fail("sys_info pickle is not a dict");
    const Value* little_endian = dict_find(sys_info, "little_endian");
    if (little_endian == nullptr) fail("sys_info has no 'little_endian' entry");
    if (little_endian->kind != Kind::Bool || little_endian->number != 1) {
      fail("the checkpoint was written on a big-endian machine; only little-endian files are supported");
    }
  }

  // After the key list: per key, an int64 LE element count then the raw elements.
  void read_storage_data(const Value& keys) {
    section_ = "data section";
    if (keys.kind != Kind::List) {
      fail(std::string("storage-key list pickle is a ") + kind_name(keys.kind) + ", not a list");
    }
    for (const Value& key_value : sequence(keys)) {
      if (key_value.kind != Kind::String && key_value.kind != Kind::Int) {
        fail(std::string("storage-key list holds a ") + kind_name(key_value.kind) + ", not a key");
      }
      const int64_t key_id = storage_key_id(key_value);
      const std::string key = quoted(text(key_id));
      const auto found = storage_index_.find(key_id);
      if (found == storage_index_.end()) {
        fail("the data section lists storage " + key + ", which the object pickle never references");
      }
      StorageRecord& record = storages_[found->second];
      if (record.has_data) fail("storage " + key + " is listed twice in the data section");
      if (remaining() < 8) {
        fail("the data ends at offset " + std::to_string(size_) + " before the element count of storage " + key);
      }
      const int64_t count = static_cast<int64_t>(read_le(8));
      if (count != record.numel) {
        fail("storage " + key + " holds " + std::to_string(count) + " elements in the data section, but the " +
             "pickle declares " + std::to_string(record.numel));
      }
      if (record.info == nullptr) {
        fail("storage " + key + " has the unsupported type " + storage_type_name(record) +
             ", so the data after it cannot be located");
      }
      const uint64_t element_size = record.info->element_size;
      if (static_cast<uint64_t>(count) > remaining() / element_size) {
        fail("the data is truncated inside storage " + key + ": it needs " + std::to_string(count) + " x " +
             std::to_string(element_size) + " bytes at offset " + std::to_string(pos_) + ", only " +
             std::to_string(remaining()) + " remain");
      }
      record.has_data = true;
      record.data_offset = pos_;
      pos_ += static_cast<size_t>(count) * static_cast<size_t>(element_size);
    }
    if (pos_ != size_) {
      const std::string offset = std::to_string(pos_);
      fail(std::to_string(size_ - pos_) + " unexpected bytes follow the last storage (offset " + offset + ")");
    }
  }

  LegacyCheckpoint build_checkpoint(const Value& root) {
    if (root.kind != Kind::Dict) {
      fail(std::string("the checkpoint holds a ") + kind_name(root.kind) + ", not a dict (state dict)");
    }
    LegacyCheckpoint checkpoint;
    Value chosen = root;
    const Value* nested = dict_find(root, "state_dict");
    if (nested != nullptr && nested->kind == Kind::Dict) {
      chosen = *nested;
      for (const auto& item : dicts_[static_cast<size_t>(root.number)].items) {
        if (item.first.kind == Kind::String) checkpoint.wrapper_keys.emplace_back(text(item.first));
        if (item.first.kind == Kind::Int) checkpoint.wrapper_keys.push_back(std::to_string(item.first.number));
      }
    }
    // Copies are capped relative to the file size: only overlapping or stride-0 views can exceed 1x.
    uint64_t budget = 4 * static_cast<uint64_t>(size_) + (uint64_t{1} << 20);
    for (const auto& item : dicts_[static_cast<size_t>(chosen.number)].items) {
      if (item.second.kind != Kind::Tensor) continue;
      if (item.first.kind != Kind::String) {
        fail(std::string("the state dict holds a tensor under a ") + kind_name(item.first.kind) + " key, not a string");
      }
      NamedTensor named;
      named.key = std::string(text(item.first));
      named.tensor = materialise(named.key, tensors_[static_cast<size_t>(item.second.number)], budget);
      checkpoint.tensors.push_back(std::move(named));
    }
    return checkpoint;
  }

  std::vector<int64_t> int_tuple(const std::string& key, const Value& v, const char* what) const {
    if (v.kind != Kind::Tuple && v.kind != Kind::List) {
      fail("tensor " + quoted(key) + ": its " + what + " is a " + kind_name(v.kind) + ", not a tuple");
    }
    const std::vector<Value>& items = sequence(v);
    if (items.size() > kMaxTensorDims) {
      fail("tensor " + quoted(key) + ": its " + what + " has " + std::to_string(items.size()) +
           " dimensions (at most " + std::to_string(kMaxTensorDims) + " supported)");
    }
    std::vector<int64_t> out;
    for (const Value& item : items) {
      if (item.kind != Kind::Int || item.number < 0) {
        fail("tensor " + quoted(key) + ": its " + what + " holds something other than a non-negative integer");
      }
      out.push_back(item.number);
    }
    return out;
  }

  RawTensor materialise(const std::string& key, const TensorRecipe& recipe, uint64_t& budget) const {
    const std::string where = "tensor " + quoted(key) + ": ";
    if (!recipe.problem.empty()) fail(where + recipe.problem);
    if (recipe.storage.kind != Kind::Storage) {
      fail(where + "its storage argument is a " + kind_name(recipe.storage.kind) + ", not a storage");
    }
    const StorageRef& ref = storage_refs_[static_cast<size_t>(recipe.storage.number)];
    const StorageRecord& record = storages_[ref.record];
    if (record.info == nullptr || !record.info->supported) {
      fail(where + "its storage " + quoted(text(record.key)) + " has the unsupported type " +
           storage_type_name(record));
    }
    if (!record.has_data) fail(where + "its storage " + quoted(text(record.key)) + " is missing from the data section");
    if (recipe.offset.kind != Kind::Int || recipe.offset.number < 0) {
      fail(where + "its storage offset is not a non-negative integer");
    }
    const int64_t offset = recipe.offset.number;
    const std::vector<int64_t> sizes = int_tuple(key, recipe.sizes, "size");
    const std::vector<int64_t> strides = int_tuple(key, recipe.strides, "stride");
    if (sizes.size() != strides.size()) {
      fail(where + "size " + join_ints(sizes) + " and stride " + join_ints(strides) + " differ in length");
    }

    int64_t numel = 1;
    for (int64_t s : sizes) {
      if (__builtin_mul_overflow(numel, s, &numel)) {
        fail(where + "element count of size " + join_ints(sizes) + " overflows");
      }
    }
    const size_t element_size = record.info->element_size;
    if (numel > 0) {
      int64_t last = offset;  // index of the last element touched, relative to the storage (view) start
      bool overflow = false;
      for (size_t d = 0; d < sizes.size(); ++d) {
        int64_t step = 0;
        overflow |= __builtin_mul_overflow(sizes[d] - 1, strides[d], &step);
        overflow |= __builtin_add_overflow(last, step, &last);
      }
      if (overflow || last >= ref.numel) {
        fail(where + "size " + join_ints(sizes) + " with stride " + join_ints(strides) + " at storage offset " +
             std::to_string(offset) + " reaches beyond storage " + quoted(text(record.key)) + ", which holds " +
             std::to_string(ref.numel) + " elements");
      }
    }
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(numel), static_cast<uint64_t>(element_size), &bytes)) {
      fail(where + "byte size overflows");
    }
    const uint64_t cost = bytes + key.size() + sizes.size() * sizeof(int64_t) + sizeof(NamedTensor);
    if (cost > budget) {
      fail(where + "materialising it needs " + std::to_string(bytes) +
           " bytes, beyond what a file of this size can hold (overlapping or broadcast views?)");
    }
    budget -= cost;

    RawTensor tensor;
    tensor.dtype = record.info->dtype;
    tensor.sizes = sizes;
    tensor.data.resize(static_cast<size_t>(bytes));
    if (numel == 0) return tensor;

    const uint8_t* base = data_ + record.data_offset + static_cast<size_t>(ref.first_element + offset) * element_size;
    uint8_t* out = tensor.data.data();
    if (sizes.empty()) {
      std::memcpy(out, base, element_size);
      return tensor;
    }
    // Walk the outer dimensions with an odometer; the innermost one is a run (memcpy when contiguous).
    const size_t inner_dim = sizes.size() - 1;
    const size_t inner_size = static_cast<size_t>(sizes[inner_dim]);
    const size_t inner_stride_bytes = static_cast<size_t>(strides[inner_dim]) * element_size;
    std::vector<int64_t> index(inner_dim, 0);
    size_t outer_element = 0;
    for (;;) {
      const uint8_t* src = base + outer_element * element_size;
      if (inner_stride_bytes == element_size) {
        std::memcpy(out, src, inner_size * element_size);
        out += inner_size * element_size;
      } else {
        for (size_t j = 0; j < inner_size; ++j, out += element_size) {
          std::memcpy(out, src + j * inner_stride_bytes, element_size);
        }
      }
      size_t d = inner_dim;
      for (; d > 0; --d) {
        const size_t dim = d - 1;
        if (++index[dim] < sizes[dim]) {
          outer_element += static_cast<size_t>(strides[dim]);
          break;
        }
        outer_element -= static_cast<size_t>((sizes[dim] - 1) * strides[dim]);
        index[dim] = 0;
      }
      if (d == 0) break;
    }
    return tensor;
  }

  // ---------------------------------------------------------------------------------------------- state
  const uint8_t* data_;
  size_t size_;
  std::string file_;
  size_t pos_ = 0;
  size_t pickle_start_ = 0;  // offset where the current pickle began

  const char* section_ = "";
  size_t opcode_offset_ = 0;
  uint8_t opcode_ = 0;

  std::vector<Value> stack_;
  std::vector<size_t> marks_;  // stack heights at each MARK
  std::vector<MemoSlot> memo_;
  std::unordered_map<uint64_t, Value> sparse_memo_;
  uint64_t memo_count_ = 0;

  std::deque<std::string> strings_;  // interned; a deque so that views into its elements stay valid as it grows
  std::unordered_map<std::string_view, int64_t> string_ids_;
  std::vector<std::vector<Value>> sequences_;
  std::vector<DictObject> dicts_;
  std::vector<GlobalName> globals_;
  std::vector<TensorRecipe> tensors_;
  std::vector<StorageRef> storage_refs_;
  std::vector<StorageRecord> storages_;
  std::unordered_map<int64_t, size_t> storage_index_;  // interned key id -> storages_ index
};

}  // namespace

bool is_legacy_checkpoint(const uint8_t* data, size_t size) {
  if (data == nullptr || size == 0) return false;
  // The magic pickle is 15 bytes with protocol 2; a small window is enough and keeps the check cheap.
  constexpr size_t kWindow = 64;
  LegacyReader reader(data, size < kWindow ? size : kWindow, std::string());
  return reader.read_magic();
}

LegacyCheckpoint read_legacy_checkpoint(const uint8_t* data, size_t size, const std::string& file_name_for_errors) {
  if (data == nullptr) size = 0;
  static const uint8_t kNothing = 0;
  LegacyReader reader(data != nullptr ? data : &kNothing, size, file_name_for_errors);
  return reader.read();
}

LegacyCheckpoint read_legacy_checkpoint_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw WeightsError(path, "cannot open the file for reading");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw WeightsError(path, "error while reading the file");
  return read_legacy_checkpoint(bytes.data(), bytes.size(), path);
}

}  // namespace oceanplus::io
