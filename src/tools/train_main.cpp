// oceanplus-train: trains the OceanPlus-Lite mask head (nn/lite_mask_head.h) on a frozen NanoTrack v2, from the
// train pack's template/search pairs (train/pair_sampler.h). Loss: BCE + 0.1 · contour BCE (the paper's Eq. 5) plus
// deep supervision at strides 16/8/4. Adam with a warm-up and a cosine decay. Deterministic for a seed; checkpoints
// are resumable (the optimizer state sits beside the model in <out>.state.pt).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <random>
#include <future>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "common/error.h"
#include "common/openmp_env.h"
#include "io/weights.h"
#include "nn/lite_mask_head.h"
#include "nn/nanotrack_net.h"
#include "track/oceanplus_model.h"
#include "train/pair_sampler.h"

namespace {

using namespace oceanplus;

const char* kUsage =
    "usage: oceanplus-train --data DIR --backbone NANOTRACK_V2.pt --out MODEL.pt [options]\n"
    "\n"
    "Trains the OceanPlus-Lite mask head on a frozen NanoTrack v2 and writes MODEL.pt (NanoTrack weights plus\n"
    "mask_head.*), loadable by oceanplus-track, oceanplus-eval and the oceanplustrack element.\n"
    "\n"
    "  --data DIR              a train pack (index.jsonl, images/, masks/); may be given twice\n"
    "  --backbone FILE         NanoTrack v2 weights (frozen: backbone and box head)\n"
    "  --out FILE              the model to write (also at every checkpoint)\n"
    "  --iterations N          optimizer steps (default 3000)\n"
    "  --batch N               pairs per step (default 16)\n"
    "  --lr X                  peak learning rate (default 2e-3; 100 warm-up steps, cosine decay to 1/20)\n"
    "  --seed N                seed of the pairs and the initial weights (default 1)\n"
    "  --exclude-source NAME   skip a source of the pack (repeatable), e.g. human_vikram\n"
    "  --checkpoint-every N    write MODEL.pt and MODEL.pt.state.pt every N steps (default 250)\n"
    "  --resume                continue from MODEL.pt.state.pt\n"
    "  --stop-at N             stop after step N, keeping the schedule of --iterations (a checkpoint midway)\n"
    "  --init FILE             start the head from FILE's mask head (fine-tuning; fresh optimizer and schedule)\n"
    "  --hide-prob P           share of pairs whose target-model fit does not see part of the object (default 0)\n"
    "  --deform-prob P         share of pairs whose search crop is deformed non-rigidly (default 0)\n"
    "  --deform-magnitude M    the deformation's reach, a fraction of the target's side (default 0.1)\n"
    "  --validate-only         load the head from MODEL.pt, print the held-out IoUs and exit\n"
    "  --val-every N           mean IoU on held-out pack images every N steps (default 250; 0 = never)\n"
    "  --threads N             CPU threads (default 2)\n";

struct Options {
  std::vector<std::string> data;
  std::string backbone, out;
  int stop_at = 0;  // 0: run all iterations
  int iterations = 3000, batch = 16, checkpoint_every = 250, val_every = 250, threads = 2;
  double lr = 2e-3, hide_prob = 0, deform_prob = 0, deform_magnitude = 0.1;
  std::string init;  // start the head from this model's mask_head.* (fine-tuning) instead of fresh weights
  uint64_t seed = 1;
  std::vector<std::string> exclude;
  bool resume = false, validate_only = false;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error("option " + a + " needs a value");
      return argv[++i];
    };
    auto number = [&](const std::string& v) {
      try {
        size_t used = 0;
        const double d = std::stod(v, &used);
        if (used != v.size()) throw std::invalid_argument(v);
        return d;
      } catch (const std::exception&) {
        throw Error("option " + a + ": '" + v + "' is not a number");
      }
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (a == "--data") {
      o.data.push_back(value());
    } else if (a == "--backbone") {
      o.backbone = value();
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "--iterations") {
      o.iterations = static_cast<int>(number(value()));
    } else if (a == "--batch") {
      o.batch = static_cast<int>(number(value()));
    } else if (a == "--lr") {
      o.lr = number(value());
    } else if (a == "--seed") {
      o.seed = static_cast<uint64_t>(number(value()));
    } else if (a == "--exclude-source") {
      o.exclude.push_back(value());
    } else if (a == "--checkpoint-every") {
      o.checkpoint_every = static_cast<int>(number(value()));
    } else if (a == "--val-every") {
      o.val_every = static_cast<int>(number(value()));
    } else if (a == "--threads") {
      o.threads = static_cast<int>(number(value()));
    } else if (a == "--stop-at") {
      o.stop_at = static_cast<int>(number(value()));
    } else if (a == "--init") {
      o.init = value();
    } else if (a == "--hide-prob") {
      o.hide_prob = number(value());
    } else if (a == "--deform-prob") {
      o.deform_prob = number(value());
    } else if (a == "--deform-magnitude") {
      o.deform_magnitude = number(value());
    } else if (a == "--validate-only") {
      o.validate_only = true;
    } else if (a == "--resume") {
      o.resume = true;
    } else {
      throw Error("unknown option '" + a + "' (see --help)");
    }
  }
  if (o.data.empty() || o.backbone.empty() || o.out.empty()) throw Error("--data, --backbone and --out are required (see --help)");
  if (o.iterations < 1 || o.batch < 1 || o.threads < 1 || !(o.lr > 0)) throw Error("iterations, batch, threads and lr must be positive");
  if (o.checkpoint_every < 1) o.checkpoint_every = o.iterations;
  if (o.hide_prob < 0 || o.hide_prob > 1) throw Error("--hide-prob must be in [0, 1]");
  if (o.deform_prob < 0 || o.deform_prob > 1) throw Error("--deform-prob must be in [0, 1]");
  if (o.deform_magnitude < 0 || o.deform_magnitude > 0.5) throw Error("--deform-magnitude must be in [0, 0.5]");
  if (o.stop_at < 0 || o.stop_at > o.iterations) throw Error("--stop-at must be in [1, --iterations]");
  if (o.resume && !o.init.empty()) throw Error("--resume and --init exclude each other");
  return o;
}

// Held-out images: a stable hash of the image path picks 1 in 20 (never DAVIS: the pack has none).
bool held_out(const train::TrainEntry& e) {
  return std::hash<std::string>{}(e.image) % 20 == 0;
}

struct Batch {
  at::Tensor reference, reference_mask, search, search_mask, contour;  // N×3×255², N×1×255², ...
  at::Tensor fit_weight;  // N×1×255²: which reference pixels the target model's fit sees (undefined: all)
};

// Hides part of the object from the target model's fit: the object pixels on one side of a random line through its
// box's central half. A video shows parts of an object its first frame did not (a car turning); without this the
// decoder learns to trust the target model, which is always right on same-image pairs, and misses those parts.
cv::Mat hidden_part_weight(const cv::Mat& mask, std::mt19937_64& rng) {
  cv::Mat weight(mask.size(), CV_8U, cv::Scalar(1));
  const cv::Rect box = cv::boundingRect(mask);
  if (box.empty()) return weight;
  std::uniform_real_distribution<double> unit(0, 1);
  const double angle = 2 * M_PI * unit(rng);
  const double px = box.x + box.width * (0.25 + 0.5 * unit(rng)), py = box.y + box.height * (0.25 + 0.5 * unit(rng));
  const double c = std::cos(angle), s = std::sin(angle);
  for (int y = box.y; y < box.y + box.height; ++y) {
    for (int x = box.x; x < box.x + box.width; ++x) {
      if (mask.at<uint8_t>(y, x) && (x - px) * c + (y - py) * s > 0) weight.at<uint8_t>(y, x) = 0;
    }
  }
  return weight;
}

Batch make_batch(const train::PairSampler& sampler, uint64_t seed, uint64_t first, int count, double hide_prob = 0) {
  std::vector<at::Tensor> ref, ref_mask, search, search_mask, contour, fit_weight;
  for (int i = 0; i < count; ++i) {
    const train::TrainingPair p = sampler.sample(seed, first + static_cast<uint64_t>(i));
    if (hide_prob > 0) {
      std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + first + static_cast<uint64_t>(i));
      const bool hide = std::uniform_real_distribution<double>(0, 1)(rng) < hide_prob;
      const cv::Mat weight = hide ? hidden_part_weight(p.reference_mask, rng)
                                  : cv::Mat(p.reference_mask.size(), CV_8U, cv::Scalar(1));
      fit_weight.push_back(track::mask_to_tensor(weight).unsqueeze(0));
    }
    ref.push_back(track::bgr_to_tensor(p.reference_bgr));
    ref_mask.push_back(track::mask_to_tensor(p.reference_mask).unsqueeze(0));
    search.push_back(track::bgr_to_tensor(p.search_bgr));
    search_mask.push_back(track::mask_to_tensor(p.search_mask).unsqueeze(0));
    contour.push_back(track::mask_to_tensor(train::contour_map(p.search_mask, 3)).unsqueeze(0));
  }
  Batch b{at::cat(ref), at::cat(ref_mask), at::cat(search), at::cat(search_mask), at::cat(contour), {}};
  if (!fit_weight.empty()) b.fit_weight = at::cat(fit_weight);
  return b;
}

struct Losses {
  at::Tensor total;
  double main = 0, contour = 0, deep = 0, iou = 0;
  double target_model_iou = 0, arn_iou = 0;  // each prior alone, thresholded, against the mask at its resolution
};

// Mean IoU over a batch of (pred, gt) boolean maps; an empty union counts as 1.
double mean_iou(const at::Tensor& pred, const at::Tensor& gt) {
  const at::Tensor inter = (pred & gt).flatten(1).sum(1).to(at::kDouble);
  const at::Tensor uni = (pred | gt).flatten(1).sum(1).to(at::kDouble);
  return at::where(uni > 0, inter / uni.clamp_min(1), at::ones_like(uni)).mean().item<double>();
}

// One forward pass of the frozen network and the head on a batch.
Losses run_batch(const nn::NanoTrackNet& net, const nn::LiteMaskHead& head, const Batch& b, bool with_grad) {
  const int64_t n = b.search.size(0);
  nn::LiteMaskInputs in;
  nn::NanoTrackTaps ref_taps;
  at::Tensor zf, template_mask;
  {
    at::NoGradGuard no_grad;
    // The template crop is the centre of the reference crop (offset (255-127)/2 = 64).
    const at::Tensor z = b.reference.slice(2, 64, 191).slice(3, 64, 191).contiguous();
    template_mask = b.reference_mask.slice(2, 64, 191).slice(3, 64, 191).contiguous();
    zf = net.backbone(z);
    net.backbone(b.reference, &ref_taps);
    const at::Tensor xf = net.backbone(b.search, &in.taps);
    in.cls_corr = net.cls_correlation(zf, xf);
  }
  std::vector<nn::LiteMaskTemplate> states;
  for (int64_t i = 0; i < n; ++i) {
    nn::LiteMaskTemplate s = head.make_template(zf.slice(0, i, i + 1), template_mask.slice(0, i, i + 1));
    head.fit_target_model(s, ref_taps.item(i), b.reference_mask.slice(0, i, i + 1), 0.1,
                          b.fit_weight.defined() ? b.fit_weight.slice(0, i, i + 1) : at::Tensor());
    states.push_back(std::move(s));
  }
  std::unique_ptr<at::NoGradGuard> no_grad;
  if (!with_grad) no_grad = std::make_unique<at::NoGradGuard>();
  const nn::LiteMaskOutput out = head.forward_batch(states, in, with_grad);
  Losses l;
  const at::Tensor per_pixel =
      at::binary_cross_entropy_with_logits(out.logits, b.search_mask, {}, {}, at::Reduction::None);
  const at::Tensor main = per_pixel.mean();
  // Contour BCE: the same loss averaged over the mask's contour pixels only (paper Eq. 5, λ = 0.1).
  const at::Tensor contour = (per_pixel * b.contour).sum() / b.contour.sum().clamp_min(1.0);
  at::Tensor total = main + 0.1 * contour;
  at::Tensor deep_sum = at::zeros({}, main.options());
  for (const auto& d : out.deep_logits) {
    const at::Tensor target = nn::area_resize(b.search_mask, d.size(2));
    deep_sum = deep_sum + at::binary_cross_entropy_with_logits(d, target);
  }
  total = total + 0.2 * deep_sum;
  l.total = total;
  l.main = main.item<double>();
  l.contour = contour.item<double>();
  l.deep = deep_sum.item<double>();
  {
    at::NoGradGuard ng;
    l.iou = mean_iou(out.logits > 0, b.search_mask > 0.5);
    l.target_model_iou = mean_iou(out.target_model > 0, nn::area_resize(b.search_mask, out.target_model.size(2)) > 0.5);
    l.arn_iou = mean_iou(out.arn > 0.5, nn::area_resize(b.search_mask, out.arn.size(2)) > 0.5);
  }
  return l;
}

// Mean IoUs on 64 held-out pairs (the same pairs every time for a seed): the head, and each prior alone.
void validate(const nn::NanoTrackNet& net, const nn::LiteMaskHead& head, const train::PairSampler& val_sampler,
              const Options& o) {
  const int val_batches = 4;
  double iou = 0, tm = 0, arn = 0;
  for (int v = 0; v < val_batches; ++v) {
    const Batch vb = make_batch(val_sampler, o.seed + 7919, static_cast<uint64_t>(v) * o.batch, o.batch);
    const Losses l = run_batch(net, head, vb, false);
    iou += l.iou / val_batches;
    tm += l.target_model_iou / val_batches;
    arn += l.arn_iou / val_batches;
  }
  std::cerr << "validation (held-out pack images, " << val_batches * o.batch << " pairs): mean IoU " << iou
            << " (priors alone: target model " << tm << ", ARN " << arn << ")\n";
}

struct Adam {
  std::vector<std::pair<std::string, at::Tensor>> params;
  std::vector<at::Tensor> m, v;
  int64_t step = 0;
  void init() {
    for (auto& [k, p] : params) {
      m.push_back(at::zeros_like(p));
      v.push_back(at::zeros_like(p));
    }
  }
  void update(double lr) {
    at::NoGradGuard no_grad;
    ++step;
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const double c1 = 1 - std::pow(b1, static_cast<double>(step)), c2 = 1 - std::pow(b2, static_cast<double>(step));
    for (size_t i = 0; i < params.size(); ++i) {
      at::Tensor& p = params[i].second;
      if (!p.grad().defined()) continue;
      const at::Tensor g = p.grad();
      m[i].mul_(b1).add_(g, 1 - b1);
      v[i].mul_(b2).addcmul_(g, g, 1 - b2);
      p.addcdiv_(m[i] / c1, (v[i] / c2).sqrt_().add_(eps), -lr);
      p.mutable_grad() = at::Tensor();
    }
  }
};

std::string duration(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%dm%02ds", s / 60, s % 60);
  return buf;
}

void save(const Options& o, const io::StateDict& backbone, const nn::LiteMaskHead& head, const Adam& adam) {
  io::StateDict model;
  for (const auto& [k, t] : backbone.tensors) {
    if (k.rfind("neck.", 0) != 0) model.tensors[k] = t;  // the neck is never used (nanotrack_spec.md §3)
  }
  head.add_to(model);
  io::save_state_dict(model, o.out);
  io::StateDict state;
  for (size_t i = 0; i < adam.params.size(); ++i) {
    state.tensors["adam.m." + adam.params[i].first] = adam.m[i];
    state.tensors["adam.v." + adam.params[i].first] = adam.v[i];
  }
  state.tensors["step"] = at::full({}, static_cast<double>(adam.step), at::kDouble);
  state.tensors["seed"] = at::full({}, static_cast<double>(o.seed), at::kDouble);
  io::save_state_dict(state, o.out + ".state.pt");
}

int run(const Options& o) {
  at::set_num_threads(o.threads);
  const io::StateDict backbone_state = io::load_state_dict(o.backbone);
  const auto net = nn::NanoTrackNet::load(backbone_state);
  if (net->version() != nn::NanoTrackVersion::V2) throw Error(o.backbone + ": the mask head trains on NanoTrack v2");

  std::vector<train::TrainEntry> train_entries, val_entries;
  std::string root = o.data.front();
  if (o.data.size() > 1) throw Error("one --data directory at a time (the sampler reads one pack)");
  for (const auto& e : train::read_train_index(root)) (held_out(e) ? val_entries : train_entries).push_back(e);
  train::SamplerOptions sampler_options;
  sampler_options.exclude_sources = o.exclude;
  train::SamplerOptions train_options = sampler_options;  // validation pairs stay undeformed: comparable across runs
  train_options.deform_prob = o.deform_prob;
  train_options.deform_magnitude = o.deform_magnitude;
  const train::PairSampler sampler(root, train_entries, train_options);
  const train::PairSampler val_sampler(root, val_entries, sampler_options);
  std::cerr << "oceanplus-train: " << sampler.size() << " training objects, " << val_sampler.size()
            << " held out; " << o.iterations << " steps of " << o.batch << " pairs\n";

  nn::LiteMaskHead head(net->feature_channels(), 64);
  head.initialise(o.seed);
  // Before the optimizer takes the parameters: loading replaces the tensors.
  if (o.validate_only || !o.init.empty()) {
    const std::string file = o.validate_only ? o.out : o.init;
    const io::StateDict saved = io::load_state_dict(file);
    io::WeightReader reader(saved);
    if (!head.load(reader)) throw Error(file + ": no mask head (mask_head.*) to start from");
    if (o.validate_only) {
      validate(*net, head, val_sampler, o);
      return 0;
    }
    std::cerr << "oceanplus-train: mask head from " << file << "\n";
  }
  Adam adam;
  adam.params = head.named_parameters();
  for (auto& [k, p] : adam.params) p.requires_grad_(true);
  adam.init();
  if (o.resume) {
    // Load the head's weights in place, so that the optimizer keeps pointing at the same tensors.
    const io::StateDict saved = io::load_state_dict(o.out);
    const io::StateDict state = io::load_state_dict(o.out + ".state.pt");
    io::WeightReader state_reader(state);
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < adam.params.size(); ++i) {
      const auto& [key, p] = adam.params[i];
      const auto it = saved.tensors.find(key);
      if (it == saved.tensors.end()) throw Error(o.out + ": missing key '" + key + "' to resume from");
      p.copy_(it->second);
      adam.m[i].copy_(state_reader.take("adam.m." + key, p.sizes().vec()));
      adam.v[i].copy_(state_reader.take("adam.v." + key, p.sizes().vec()));
    }
    adam.step = static_cast<int64_t>(state.tensors.at("step").item<double>());
    std::cerr << "oceanplus-train: resumed at step " << adam.step << "\n";
  }

  const bool tty = isatty(STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  const int64_t first_step = adam.step;
  auto fetch = [&](int64_t step) {
    return std::async(std::launch::async, [&sampler, &o, step] {
      return make_batch(sampler, o.seed, static_cast<uint64_t>(step) * o.batch, o.batch, o.hide_prob);
    });
  };
  std::future<Batch> next = fetch(adam.step);
  double avg_loss = 0, avg_iou = 0;
  const int last_step = o.stop_at > 0 ? o.stop_at : o.iterations;
  while (adam.step < last_step) {
    const int64_t step = adam.step;
    Batch batch = next.get();
    if (step + 1 < last_step) next = fetch(step + 1);
    const double progress = static_cast<double>(step) / o.iterations;
    const double warm = std::min(1.0, (step + 1) / 100.0);
    const double lr = o.lr * warm * (0.05 + 0.95 * 0.5 * (1 + std::cos(M_PI * progress)));
    Losses l = run_batch(*net, head, batch, true);
    l.total.backward();
    adam.update(lr);
    avg_loss = step == first_step ? l.total.item<double>() : 0.95 * avg_loss + 0.05 * l.total.item<double>();
    avg_iou = step == first_step ? l.iou : 0.95 * avg_iou + 0.05 * l.iou;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double per_step = elapsed / static_cast<double>(adam.step - first_step);
    const int done = static_cast<int>(40.0 * adam.step / o.iterations);
    std::ostringstream line;
    line << "[" << std::string(done, '#') << std::string(40 - done, '.') << "] " << adam.step << "/" << o.iterations
         << " loss " << avg_loss << " (bce " << l.main << ", contour " << l.contour << ", deep " << l.deep
         << ") iou " << avg_iou << " lr " << lr << " | " << (o.batch / per_step) << " pairs/s, eta "
         << duration(per_step * (o.iterations - adam.step));
    if (tty) {
      std::cerr << "\r" << line.str() << "   " << std::flush;
    } else if (adam.step % 25 == 0 || adam.step == last_step) {
      std::cerr << line.str() << "\n";
    }
    if (adam.step % o.checkpoint_every == 0 || adam.step == last_step) {
      save(o, backbone_state, head, adam);
      if (tty) std::cerr << "\n";
      std::cerr << "checkpoint: " << o.out << " at step " << adam.step << "\n";
    }
    if (o.val_every > 0 && (adam.step % o.val_every == 0 || adam.step == last_step) && val_sampler.size() > 0) {
      if (tty) std::cerr << "\n";
      validate(*net, head, val_sampler, o);
    }
  }
  if (tty) std::cerr << "\n";
  std::cerr << "oceanplus-train: done in "
            << duration(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()) << ", wrote "
            << o.out << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  oceanplus::prefer_passive_openmp_wait(argv);
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::cerr << "oceanplus-train: " << e.what() << "\n";
    return 1;
  }
}
