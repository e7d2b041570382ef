// Whether a test of the cooperative-matrix kernels can run here. Devices without
// VK_KHR_cooperative_matrix (and builds without the kernels) skip those tests, except where
// VKMOE_REQUIRE_COOPMAT=1 (set by the ctest entry that runs them on Mesa 26's lavapipe, so that
// a runtime that lost the extension fails instead of passing silently).
#pragma once

#include <cstdlib>
#include <optional>
#include <string_view>

#include "engine/ops/gemm.h"

namespace vkmoe::test {

inline bool coopmat_required() {
  const char* value = std::getenv("VKMOE_REQUIRE_COOPMAT");
  return value != nullptr && std::string_view(value) == "1";
}

// In a TEST body: the device's cooperative-matrix tiles, or skip (fail where required).
#define VKMOE_COOPMAT_TILES_OR_SKIP(device, tiles)                                               \
  const std::optional<ops::GemmTiles> tiles = ops::coopmat_gemm_tiles(device);                   \
  if (!tiles) {                                                                                  \
    if (coopmat_required()) FAIL() << "VKMOE_REQUIRE_COOPMAT=1 but no cooperative-matrix tiles"; \
    GTEST_SKIP() << "no VK_KHR_cooperative_matrix f16 kernels on this device or build";          \
  }

}  // namespace vkmoe::test
