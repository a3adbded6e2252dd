#include "model_loader.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "common/error.h"
#include "track/oceanplus_model.h"

namespace oceanplus::gst {
int use_cpu_threads(int threads) {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  at::set_num_threads(threads > 0 ? threads : std::max(1, cores));
  return at::get_num_threads();
}

LoadedModel load_model(const ModelChoice& choice) {
  if (choice.device == ComputeDevice::Cuda) {
    if (!at::hasCUDA()) {
      throw Error("device=cuda: this build's LibTorch has no CUDA support or no GPU is visible; use device=cpu or auto");
    }
    throw Error("device=cuda: the GPU tracking path is not part of this build yet; use device=cpu or auto");
  }

  LoadedModel loaded;
  std::string file = choice.file.empty() ? default_model_file() : choice.file;
  std::shared_ptr<track::OceanPlusModel> model;
  if (file.empty()) {
    // No trained model is installed: random weights keep the pipeline running end to end (the masks mean nothing).
    const ModelVariant v = choice.variant == ModelVariant::Auto ? ModelVariant::Mss : choice.variant;
    model = track::OceanPlusModel::synthetic(v == ModelVariant::Mms ? nn::MaskDecoder::MMS : nn::MaskDecoder::MSS);
    loaded.random_weights = true;
    loaded.description = model->name() + " with random weights (no trained model is installed)";
  } else {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(file, ec)) throw Error("model file '" + file + "' does not exist");
    if (!fs::is_regular_file(file, ec)) throw Error("model file '" + file + "' is not a regular file");
    model = track::OceanPlusModel::load(file);  // WeightsError names the file and the key
    if (choice.variant != ModelVariant::Auto) {
      const bool is_mms = model->net().decoder() == nn::MaskDecoder::MMS;
      const bool want_mms = choice.variant == ModelVariant::Mms;
      if (is_mms != want_mms) {
        throw Error("model file '" + file + "' holds an OceanPlus-" + (is_mms ? "MMS" : "MSS") +
                    " network but variant=" + (want_mms ? "mms" : "mss") + " was asked for (use variant=auto)");
      }
    }
    loaded.description = model->name() + " from " + file;
  }
  loaded.description += ", cpu";
  loaded.model = std::move(model);
  return loaded;
}

}  // namespace oceanplus::gst
