// Writes tests/bayes/sample_posterior.h's posterior to argv[1], for the Python reader test.
#include <cstdio>
#include <exception>

#include "tests/bayes/sample_posterior.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_sample_posterior OUT.safetensors\n");
    return 2;
  }
  try {
    vkmoe::bayes::write_posterior_file(argv[1], vkmoe::bayes::test::sample_posterior());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
