#include "eval/davis_dataset.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "eval/label_png.h"

namespace fs = std::filesystem;

namespace oceanplus::eval {

namespace {

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

bool has_png(const fs::path& dir) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && it->path().extension() == ".png") return true;
  return false;
}

std::vector<std::string> list_sequence_dirs(const fs::path& root) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec) && has_png(it->path())) names.push_back(it->path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

bool only_0_255(const cv::Mat& m) {
  for (int y = 0; y < m.rows; ++y) {
    const auto* p = m.ptr<std::uint8_t>(y);
    for (int x = 0; x < m.cols; ++x)
      if (p[x] != 0 && p[x] != 255) return false;
  }
  return true;
}

}  // namespace

fs::path Sequence::annotation_path(std::size_t i) const { return annotation_dir / (frames.at(i) + ".png"); }
fs::path Sequence::image_path(std::size_t i) const { return image_dir / (frames.at(i) + ".jpg"); }

Dataset Dataset::open(const fs::path& root) {
  std::error_code ec;
  if (!fs::exists(root, ec)) throw Error("dataset " + root.string() + ": no such directory");
  if (!is_dir(root)) throw Error("dataset " + root.string() + ": not a directory");
  Dataset d;
  d.root_ = root;
  if (is_dir(root / "Annotations" / "480p")) {
    d.annotation_root_ = root / "Annotations" / "480p";
    d.image_root_ = root / "JPEGImages" / "480p";
  } else if (is_dir(root / "Annotations")) {
    d.annotation_root_ = root / "Annotations";
    d.image_root_ = root / "JPEGImages";
  } else {
    d.annotation_root_ = root;
    d.image_root_ = root;
    d.flat_ = true;
  }
  d.names_ = list_sequence_dirs(d.annotation_root_);
  if (d.names_.empty())
    throw Error("dataset " + root.string() +
                ": no DAVIS sequences found (expected " + (root / "Annotations/480p/<seq>/<frame>.png").string() +
                ", " + (root / "Annotations/<seq>/<frame>.png").string() + " or " +
                (root / "<seq>/<frame>.png").string() + ")");
  return d;
}

bool Dataset::has_sequence(const std::string& name) const {
  return std::find(names_.begin(), names_.end(), name) != names_.end();
}

Sequence Dataset::sequence(const std::string& name) const {
  if (!has_sequence(name))
    throw Error("dataset " + root_.string() + ": unknown sequence '" + name + "' (no folder " +
                (annotation_root_ / name).string() + " with PNG annotations)");
  Sequence s;
  s.name = name;
  s.annotation_dir = annotation_root_ / name;
  s.image_dir = image_root_ / name;
  std::error_code ec;
  for (fs::directory_iterator it(s.annotation_dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && it->path().extension() == ".png") s.frames.push_back(it->path().stem().string());
  std::sort(s.frames.begin(), s.frames.end());
  return s;
}

std::vector<std::string> Dataset::select(const std::string& spec) const {
  if (trim(spec).empty()) return names_;
  std::vector<std::string> wanted;
  std::error_code ec;
  if (fs::is_regular_file(spec, ec)) {
    std::ifstream in(spec);
    if (!in) throw Error("sequence list " + spec + ": cannot read");
    std::string line;
    while (std::getline(in, line)) {
      line = trim(line);
      if (!line.empty() && line[0] != '#') wanted.push_back(line);
    }
    if (wanted.empty()) throw Error("sequence list " + spec + ": no sequence names in the file");
  } else {
    std::stringstream ss(spec);
    std::string item;
    while (std::getline(ss, item, ',')) {
      item = trim(item);
      if (!item.empty()) wanted.push_back(item);
    }
  }
  std::vector<std::string> out;
  std::string unknown;
  for (const auto& w : wanted) {
    if (!has_sequence(w)) {
      unknown += (unknown.empty() ? "" : ", ") + w;
      continue;
    }
    if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  }
  if (!unknown.empty())
    throw Error("dataset " + root_.string() + ": unknown sequence(s): " + unknown + " (no such folder under " +
                annotation_root_.string() + ")");
  return out;
}

GroundTruth load_ground_truth(const Sequence& sequence) {
  GroundTruth gt;
  if (sequence.frames.empty()) throw Error("sequence " + sequence.name + ": no annotation PNGs in " +
                                           sequence.annotation_dir.string());
  std::vector<LabelImage> raw;
  raw.reserve(sequence.frames.size());
  for (std::size_t i = 0; i < sequence.frames.size(); ++i) {
    raw.push_back(read_label_png(sequence.annotation_path(i).string()));
    if (raw.back().labels.size() != raw.front().labels.size())
      throw Error(sequence.annotation_path(i).string() + ": annotation size differs from the first frame's");
  }
  gt.binary = raw.front().color == PngColor::Grey && only_0_255(raw.front().labels);
  for (auto& r : raw) {
    cv::Mat m = r.labels;
    if (gt.binary) {
      m = (m != 0) / 255;  // any non-zero pixel is object 1
    } else {
      m.setTo(0, m == 255);  // VOID becomes background (semi-supervised protocol)
    }
    gt.labels.push_back(m);
  }
  double max_id = 0;
  cv::minMaxLoc(gt.labels.front(), nullptr, &max_id);
  gt.n_objects = static_cast<int>(max_id);
  return gt;
}

cv::Mat normalize_prediction(const cv::Mat& labels, int n_objects, const std::string& what) {
  if (labels.empty() || labels.type() != CV_8UC1) throw Error(what + ": expected a non-empty 8-bit label map");
  if (only_0_255(labels)) return (labels != 0) / 255;
  double max_id = 0;
  cv::minMaxLoc(labels, nullptr, &max_id);
  if (static_cast<int>(max_id) > n_objects)
    throw Error(what + ": object id " + std::to_string(static_cast<int>(max_id)) + " in the prediction, but the "
                "ground truth has only " + std::to_string(n_objects) + " object(s)");
  return labels.clone();
}

}  // namespace oceanplus::eval
