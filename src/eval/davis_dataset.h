// A DAVIS-layout dataset on disk: sequences, frames and ground-truth object-id maps.
//
// Layouts accepted (checked in this order):
//   DIR/Annotations/480p/<seq>/<frame>.png  with images in DIR/JPEGImages/480p/<seq>/<frame>.jpg  (official)
//   DIR/Annotations/<seq>/<frame>.png       with images in DIR/JPEGImages/<seq>/<frame>.jpg
//   DIR/<seq>/<frame>.png                   with images next to them, DIR/<seq>/<frame>.jpg
// The frames of a sequence are its annotation PNGs, sorted by name (as the official glob).
//
// Ground-truth object ids (as the official davis2017 reader, plus DAVIS-2016):
//   - a grey PNG sequence whose first annotation holds only 0 and 255 is a DAVIS-2016 binary annotation: every
//     non-zero pixel is object 1;
//   - otherwise (palette or grey ids) the values are object ids and 255 is VOID, which the semi-supervised
//     protocol turns into background;
//   - the number of objects is the largest id of the FIRST annotation; larger ids in later frames are ignored.
#pragma once

#include <opencv2/core.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace oceanplus::eval {

struct Sequence {
  std::string name;
  std::filesystem::path annotation_dir;
  std::filesystem::path image_dir;
  std::vector<std::string> frames;  // frame names (file stems), sorted

  std::filesystem::path annotation_path(std::size_t i) const;
  std::filesystem::path image_path(std::size_t i) const;  // <image_dir>/<frame>.jpg (the file may not exist)
};

class Dataset {
 public:
  // Throws oceanplus::Error naming `root` when no layout above is found.
  static Dataset open(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return root_; }
  const std::filesystem::path& annotation_root() const { return annotation_root_; }
  const std::filesystem::path& image_root() const { return image_root_; }
  // Every sequence folder that holds at least one PNG, sorted.
  const std::vector<std::string>& sequence_names() const { return names_; }
  bool has_sequence(const std::string& name) const;
  // Throws for an unknown name.
  Sequence sequence(const std::string& name) const;

  // The sequences to evaluate: all (spec empty), a comma-separated list ("a,b,c"), or a text file (an ImageSets
  // file, one name per line) when spec names an existing file. Unknown names throw, naming them.
  std::vector<std::string> select(const std::string& spec) const;

 private:
  std::filesystem::path root_, annotation_root_, image_root_;
  bool flat_ = false;  // DIR/<seq> layout: images next to the annotations
  std::vector<std::string> names_;
};

// The ground truth of a whole sequence as object-id maps (CV_8UC1, 0 = background, 1..n_objects).
struct GroundTruth {
  int n_objects = 0;
  bool binary = false;          // DAVIS-2016 0/255 annotations
  std::vector<cv::Mat> labels;  // one per frame of the sequence
};

GroundTruth load_ground_truth(const Sequence& sequence);

// A predicted label map as an object-id map: a map holding only 0 and 255 is binary (255 = object 1); otherwise
// the values are object ids, and an id above n_objects throws (the official tool aborts too). `what` names the
// source in the error (a file path, or "sequence X frame Y").
cv::Mat normalize_prediction(const cv::Mat& labels, int n_objects, const std::string& what);

}  // namespace oceanplus::eval
