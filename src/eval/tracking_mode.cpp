// Tracking mode of oceanplus-eval (--model). This build has no tracker linked into the tool: the mode is parsed and
// documented, and reports that it is unavailable. A build with the tracker replaces this file with one that runs the
// tracker per sequence and scores its masks with score_sequence() (davis_eval.h).
#include "eval/davis_eval.h"

namespace oceanplus::eval {

int run_tracking_mode(const Options& options, std::ostream& /*out*/, std::ostream& err) {
  err << "oceanplus-eval: error: tracking mode (--model " << options.model
      << ") is not available in this build; score existing results with --dataset DIR --results DIR\n";
  return 1;
}

}  // namespace oceanplus::eval
