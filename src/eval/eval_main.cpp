// oceanplus-eval: DAVIS J&F evaluation of a results folder (score mode) or of the tracker (tracking mode).
// See --help and docs/EVALUATION.md.
#include <exception>
#include <iostream>

#include "common/openmp_env.h"
#include "eval/davis_eval.h"

int main(int argc, char** argv) {
  oceanplus::prefer_passive_openmp_wait(argv);
  using namespace oceanplus::eval;
  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "oceanplus-eval: " << e.what() << "\nTry 'oceanplus-eval --help'.\n";
    return 2;
  }
  if (options.help) {
    std::cout << usage_text("oceanplus-eval");
    return 0;
  }
  try {
    if (!options.model.empty()) return run_tracking_mode(options, std::cout, std::cerr);
    return run_score_mode(options, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "oceanplus-eval: error: " << e.what() << "\n";
    return 1;
  }
}
