// Loads the tracking model for the GStreamer element. The only translation unit of the plugin that sees LibTorch
// (through the model classes), so the elements compile without torch headers.
#pragma once

#include <memory>
#include <string>

#include "track/model.h"

namespace oceanplus::gst {

enum class ModelVariant { Auto = 0, Mss = 1, Mms = 2 };
enum class ComputeDevice { Auto = 0, Cpu = 1, Cuda = 2 };
enum class Precision { Fp32 = 0, Fp16 = 1, Bf16 = 2 };

struct ModelChoice {
  std::string file;  // empty: the model shipped with the project (track::default_model_file())
  ModelVariant variant = ModelVariant::Auto;
  ComputeDevice device = ComputeDevice::Auto;
  Precision precision = Precision::Fp32;
  int threads = 0;  // CPU threads for the network; 0 = the model's preferred count (track::cpu_threads_for)
};

struct LoadedModel {
  std::shared_ptr<track::TrackingModel> model;
  std::string description;  // "OceanPlus-MSS from /path/file.pt on cpu, 2 threads"
  bool random_weights = false;
  std::string default_preset;  // the tracker preset that fits the model (preset=auto)
  int threads = 1;             // CPU threads to run it on: the one asked for, else the model's preferred count
};

// Sets the network's CPU threads for the calling thread's parallel regions (OpenMP keeps the count per thread, so the
// streaming thread calls this itself). Returns the count in effect.
int use_cpu_threads(int threads);

// Throws oceanplus::Error naming the file and the problem (missing, unreadable, corrupt, wrong variant, a device
// this build or machine lacks).
LoadedModel load_model(const ModelChoice& choice);

}  // namespace oceanplus::gst
