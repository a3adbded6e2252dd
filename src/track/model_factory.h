// One entry point for every tool and the GStreamer element to get a tracking model: the shipped default
// (OceanPlus-Lite), a weights file of either family (OceanPlus, or NanoTrack with or without the Lite mask head, told
// apart by their keys), or random weights for demos and tests. Torch-free header.
#pragma once

#include <memory>
#include <string>

#include "track/model.h"

namespace oceanplus::track {

enum class ModelFamily { OceanPlus, NanoTrack };

struct ModelHandle {
  std::shared_ptr<TrackingModel> model;
  ModelFamily family = ModelFamily::OceanPlus;
  std::string file;             // the weights file read ("" for random weights)
  bool random_weights = false;
  // The tracker preset that fits the model: vot2020 (OceanPlus), oceanplus-lite (NanoTrack with the mask head),
  // nanotrack (box only).
  std::string default_preset;
  std::string device = "cpu";   // where the network runs: "cpu" or "cuda[:N]"
  std::string precision = "fp32";  // what it computes in: "fp32", "fp16" or "bf16"
};

// Where to run a model: "cpu", "cuda", "cuda:N", or "auto" (the first GPU when LibTorch has CUDA and sees one, else
// the CPU). Returns the resolved name. Throws oceanplus::Error for an unknown name, or for a GPU this build or this
// machine does not have (the message says which).
std::string resolve_device(const std::string& requested);

// The CPU thread count to use: `requested` when positive, else the one that runs the model fastest: 1 for the
// NanoTrack family, whose layers are so small that splitting each one over threads costs more than it saves (on 2
// cores one thread is 2.2× faster than two with passive waiting, and as fast as two spinning; docs/BENCHMARKS.md),
// one per core for OceanPlus.
int cpu_threads_for(const ModelHandle& model, int requested);

// The trained model that ships with the project (models/oceanplus-lite.pt), or "" when it is not installed. Looks in
// $OCEANPLUS_MODEL_DIR, then the installed data folder, then the source tree's models/ (running from a build folder).
std::string default_model_file();

// spec: "" or "default" (the shipped model), "random-mss" / "random-mms" (OceanPlus with random weights),
// "random-lite" (NanoTrack v2 + mask head, random weights), or a weights file. Errors (oceanplus::Error,
// io::WeightsError) name the file and the problem.
// device: as resolve_device() takes it.
// precision: "fp32" (default), "fp16" (float16 weights and activations, channels-last: a GPU's tensor cores; CUDA
// only) or "bf16" (bfloat16, channels-last; CPU or GPU). The reduced ones trade a looser match with the float32 path
// (docs/BENCHMARKS.md) for speed; anything else is an error.
ModelHandle load_tracking_model(const std::string& spec, const std::string& device = "cpu",
                                const std::string& precision = "fp32");

// The preset for DAVIS evaluation: OceanPlus's davis2016/davis2017 presets, or the model's own default.
std::string davis_preset(const ModelHandle& model, int n_objects);

}  // namespace oceanplus::track
