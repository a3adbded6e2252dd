// Running a built program as a user would (through the shell), for the tests of the command-line tools.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace oceanplus::testing {

struct ToolRun {
  int status = -1;     // exit code; -1 when the program could not be started or died on a signal
  std::string output;  // stdout and stderr together
};

// Single-quotes a path or argument for the shell.
inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs `binary arguments` (arguments already quoted as needed), optionally in `working_dir`.
inline ToolRun run_tool(const std::string& binary, const std::string& arguments, const std::string& working_dir = "") {
  ToolRun r;
  std::string command = shell_quote(binary) + " " + arguments + " 2>&1";
  if (!working_dir.empty()) command = "cd " + shell_quote(working_dir) + " && " + command;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buffer{};
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) r.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace oceanplus::testing
