// LibTorch and oneDNN run on OpenMP (libgomp), whose threads spin after each parallel region by default. When the
// cores are shared (a video decoder, another process), a spinning thread can hold the core the worker it waits for
// needs, and a frame takes several times longer (measured in docs/BENCHMARKS.md). Passive waiting costs nothing on an
// idle machine. libgomp reads OMP_WAIT_POLICY once, when it loads, so a program sets it by re-executing itself.
#pragma once

#include <unistd.h>

#include <cstdlib>

namespace oceanplus {

// Call first thing in main(). Unless the user set OMP_WAIT_POLICY, sets it to passive and re-executes the program
// (same arguments); if that fails, carries on as is.
inline void prefer_passive_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "passive", 0) != 0) return;
  execv("/proc/self/exe", argv);
}

}  // namespace oceanplus
