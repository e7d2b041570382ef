// Progress of one stage of a long command on stderr: the stage's name, items done of the total,
// items per second and the time left. On a terminal one line is rewritten in place (\r); when
// stderr is a file or a pipe (CI logs, `2> log`) a whole line is printed at every tenth of the
// work instead, so a log holds about ten lines a stage and no carriage returns.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace vkmoe::cli {

class StageProgress {
 public:
  // `command`: "vkmoe demo"; `stage`: what this stage does; `unit`: what it counts.
  StageProgress(std::string command, std::string stage, std::size_t total,
                std::string unit = "items");

  // Reports `done` of the total; the last call should pass the total.
  void update(std::size_t done);
  // Seconds since construction.
  double seconds() const;

 private:
  void print(std::size_t done, bool whole_line);

  std::string command_, stage_, unit_;
  std::size_t total_;
  std::chrono::steady_clock::time_point start_;
  bool terminal_;
  std::size_t printed_tenths_ = 0;  // tenths of the work already reported by whole lines
};

}  // namespace vkmoe::cli
