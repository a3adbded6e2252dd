#include "track/model_factory.h"

#include <algorithm>
#include <filesystem>
#include <thread>

#include <ATen/Context.h>

#include "common/error.h"
#include "io/weights.h"
#include "track/nanotrack_model.h"
#include "track/oceanplus_model.h"

namespace oceanplus::track {

std::string resolve_device(const std::string& requested) {
  if (requested.empty() || requested == "cpu") return "cpu";
  if (requested == "auto") return at::hasCUDA() ? "cuda" : "cpu";
  if (requested.rfind("cuda", 0) != 0) {
    throw Error("device '" + requested + "': expected cpu, cuda, cuda:N or auto");
  }
  at::Device device = at::kCPU;
  try {
    device = at::Device(requested);
  } catch (const std::exception&) {
    throw Error("device '" + requested + "': expected cpu, cuda, cuda:N or auto");
  }
  if (!at::hasCUDA()) {
    throw Error("device '" + requested + "': this build's LibTorch has no CUDA support, or no GPU is visible; use "
                "cpu or auto");
  }
  const int64_t count = at::getNumGPUs();
  if (device.has_index() && device.index() >= count) {
    throw Error("device '" + requested + "': this machine has " + std::to_string(count) + " GPU(s)");
  }
  return requested;
}

ModelHandle load_tracking_model(const std::string& spec_in, const std::string& device_name,
                                const std::string& precision) {
  ModelHandle h;
  h.device = resolve_device(device_name);
  nn::LoadOptions options;
  options.device = at::Device(h.device);
  nn::set_precision(options, precision);
  h.precision = precision.empty() ? "fp32" : precision;
  if (options.device.is_cuda()) {
    // float32 means float32: LibTorch lets cuDNN and cuBLAS round inputs to TF32 by default (10-bit mantissa),
    // which moves boxes by pixels against the CPU path. Process-wide, as LibTorch keeps these flags.
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
  }
  std::string spec = spec_in;
  if (spec.empty() || spec == "default") {
    spec = default_model_file();
    if (spec.empty()) {
      throw Error("the default model (models/oceanplus-lite.pt) is not installed; give a model file, or set "
                  "OCEANPLUS_MODEL_DIR to the folder holding it");
    }
  }
  if (spec == "random-mss" || spec == "random-mms") {
    h.model = OceanPlusModel::synthetic(spec == "random-mms" ? nn::MaskDecoder::MMS : nn::MaskDecoder::MSS, 1, options);
    h.random_weights = true;
    h.default_preset = "vot2020";
    return h;
  }
  if (spec == "random-lite") {
    io::StateDict state = nn::NanoTrackNet::synthetic_weights(nn::NanoTrackVersion::V2, 1);
    nn::LiteMaskHead head(48, 64);
    head.initialise(1);
    head.add_to(state);
    h.model = NanoTrackModel::from_state(state, options);
    h.family = ModelFamily::NanoTrack;
    h.random_weights = true;
    h.default_preset = "oceanplus-lite";
    return h;
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(spec, ec)) throw Error("model file '" + spec + "' does not exist");
  if (!fs::is_regular_file(spec, ec)) throw Error("model file '" + spec + "' is not a regular file");
  h.file = spec;
  const io::StateDict state = io::load_state_dict(spec);
  if (state.tensors.count("backbone.features.0.0.weight")) {
    auto model = NanoTrackModel::from_state(state, options);
    h.default_preset = model->mask_head() ? "oceanplus-lite" : "nanotrack";
    h.model = std::move(model);
    h.family = ModelFamily::NanoTrack;
  } else {
    h.model = std::make_shared<OceanPlusModel>(nn::OceanPlusNet::load(state, options));
    h.default_preset = "vot2020";
  }
  return h;
}

int cpu_threads_for(const ModelHandle& model, int requested) {
  if (requested > 0) return requested;
  if (model.family == ModelFamily::NanoTrack) return 1;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

std::string davis_preset(const ModelHandle& model, int n_objects) {
  if (model.family == ModelFamily::OceanPlus) return n_objects == 1 ? "davis2016" : "davis2017";
  return model.default_preset;
}

}  // namespace oceanplus::track
