// VOT2020 dataset layout on disk: <root>/list.txt names the sequences; each <root>/<seq>/ holds the frames
// (color/%08d.jpg, numbered from 1, or the pattern of "channels.color" in the optional `sequence` metadata file, or
// else the *.jpg files of the sequence directory in name order), groundtruth.txt (one region per frame),
// *.value files (anchor.value among them) and *.tag / *.label files. Torch-free.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "vot/multistart.h"
#include "vot/region.h"

namespace oceanplus::vot {

struct Sequence {
  std::string name;
  std::string dir;
  std::vector<std::string> frames;                       // image paths, frame 0 first
  std::vector<Region> groundtruth;                       // one per frame
  std::map<std::string, std::vector<double>> values;     // "<name>.value" -> per-frame values ("anchor", ...)
  std::map<std::string, std::vector<bool>> tags;         // "<name>.tag" / "<name>.label" -> per-frame flags
  std::map<std::string, std::string> metadata;           // the `sequence` file (key=value), if any
  double fps = 20.0;                                     // metadata "fps", else the toolkit default 20

  int length() const { return static_cast<int>(frames.size()); }
  // anchor.value; throws oceanplus::Error when the sequence has none.
  const std::vector<double>& anchor() const;
};

// Loads one sequence directory (the name is the directory's last component). Throws oceanplus::Error naming the
// file for a missing groundtruth.txt, no frames, or a GT / value / tag file whose length differs from the frame count.
Sequence load_sequence(const std::string& dir);

// Sequence names of <root>/list.txt (blank lines skipped).
std::vector<std::string> read_sequence_list(const std::string& root);

// The runner's input for a loaded sequence: frames are read with cv::imread (BGR, CV_8UC3) on demand.
SequenceInput to_input(const Sequence& seq);

}  // namespace oceanplus::vot
