#include "tools/stage_progress.h"

#include <unistd.h>

#include <cstdio>

namespace vkmoe::cli {

StageProgress::StageProgress(std::string command, std::string stage, std::size_t total,
                             std::string unit)
    : command_(std::move(command)),
      stage_(std::move(stage)),
      unit_(std::move(unit)),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      terminal_(isatty(fileno(stderr)) != 0) {
  print(0, !terminal_);
}

double StageProgress::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void StageProgress::update(std::size_t done) {
  if (terminal_) {
    print(done, false);
    return;
  }
  const std::size_t tenths = total_ == 0 ? 10 : done * 10 / total_;
  if (tenths > printed_tenths_) {
    printed_tenths_ = tenths;
    print(done, true);
  }
}

void StageProgress::print(std::size_t done, bool whole_line) {
  const double s = seconds();
  const double rate = s > 0 ? static_cast<double>(done) / s : 0.0;
  std::string eta;
  if (done > 0 && done < total_ && rate > 0) {
    eta = ", ETA " +
          std::to_string(static_cast<long long>(static_cast<double>(total_ - done) / rate + 0.5)) +
          " s";
  } else if (done == total_) {
    eta = ", " + std::to_string(static_cast<long long>(s + 0.5)) + " s";
  }
  std::fprintf(stderr, "%s%s: %s: %zu/%zu %s, %.2f %s/s%s%s", terminal_ ? "\r\033[K" : "",
               command_.c_str(), stage_.c_str(), done, total_, unit_.c_str(), rate, unit_.c_str(),
               eta.c_str(), whole_line || done == total_ ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace vkmoe::cli
