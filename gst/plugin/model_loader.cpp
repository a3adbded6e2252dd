#include "model_loader.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "track/model_factory.h"
#include "track/oceanplus_model.h"

namespace oceanplus::gst {
int use_cpu_threads(int threads) {
  at::set_num_threads(std::max(1, threads));
  return at::get_num_threads();
}

LoadedModel load_model(const ModelChoice& choice) {
  if (choice.device == ComputeDevice::Cuda && !at::hasCUDA()) {
    throw Error("device=cuda: this build's LibTorch has no CUDA support or no GPU is visible; use device=cpu or auto");
  }
  const std::string device = choice.device == ComputeDevice::Cuda ? "cuda"
                             : choice.device == ComputeDevice::Cpu ? "cpu"
                                                                  : "auto";

  LoadedModel loaded;
  const std::string file = choice.file.empty() ? track::default_model_file() : choice.file;
  // No trained model installed: random weights keep the pipeline running end to end (the masks mean nothing).
  const char* precision = choice.precision == Precision::Fp16 ? "fp16"
                          : choice.precision == Precision::Bf16 ? "bf16"
                                                                : "fp32";
  track::ModelHandle handle = track::load_tracking_model(file.empty() ? "random-lite" : file, device, precision);
  if (choice.variant != ModelVariant::Auto) {
    auto* oceanplus = dynamic_cast<track::OceanPlusModel*>(handle.model.get());
    const bool want_mms = choice.variant == ModelVariant::Mms;
    if (!oceanplus) {
      throw Error("model file '" + file + "' holds a " + handle.model->name() + " model; variant=" +
                  (want_mms ? "mms" : "mss") + " applies to OceanPlus models only (use variant=auto)");
    }
    const bool is_mms = oceanplus->net().decoder() == nn::MaskDecoder::MMS;
    if (is_mms != want_mms) {
      throw Error("model file '" + file + "' holds an OceanPlus-" + (is_mms ? "MMS" : "MSS") +
                  " network but variant=" + (want_mms ? "mms" : "mss") + " was asked for (use variant=auto)");
    }
  }
  loaded.random_weights = handle.random_weights;
  loaded.description = handle.model->name() + (handle.random_weights ? " with random weights (no trained model is installed)"
                                                                      : " from " + file);
  loaded.description += ", " + handle.device;
  if (handle.precision != "fp32") loaded.description += " in " + handle.precision;
  loaded.default_preset = handle.default_preset;
  loaded.threads = track::cpu_threads_for(handle, choice.threads);
  if (handle.device == "cpu") {
    loaded.description += ", " + std::to_string(loaded.threads) + (loaded.threads == 1 ? " thread" : " threads");
  }
  loaded.model = std::move(handle.model);
  return loaded;
}

}  // namespace oceanplus::gst
