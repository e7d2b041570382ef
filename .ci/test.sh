#!/usr/bin/env bash
# Builds vkmoe with tests and runs every test CI runs (all but the `slow` label) on the
# first Vulkan device (lavapipe on a machine without a GPU), validation layer on.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${VKMOE_BUILD_DIR:-build}

# The cooperative-matrix kernels need glslang/SPIRV-Tools newer than Debian 12's to build and a
# device with VK_KHR_cooperative_matrix to test: .ci/coopmat-runtime.sh makes both from Debian
# 13 packages (Mesa 26's lavapipe), kept for later runs. Where it cannot (no root, no mirror),
# the build leaves those kernels out and their tests skip, as on any device without them.
coopmat_runtime=${VKMOE_COOPMAT_RUNTIME_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/vkmoe/coopmat-runtime}
coopmat_args=()
if bash .ci/coopmat-runtime.sh "$coopmat_runtime"; then
  coopmat_runtime=$(realpath "$coopmat_runtime")
  coopmat_args=(-DVKMOE_COOPMAT_GLSLANG="$coopmat_runtime/bin/glslangValidator"
                -DVKMOE_COOPMAT_SPIRV_VAL="$coopmat_runtime/bin/spirv-val"
                -DVKMOE_COOPMAT_SPIRV_OPT="$coopmat_runtime/bin/spirv-opt"
                -DVKMOE_COOPMAT_RUNTIME="$coopmat_runtime")
else
  echo "warning: no cooperative-matrix runtime; those kernels are left untested" >&2
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVKMOE_BUILD_TESTS=ON \
  "${coopmat_args[@]}"
cmake --build "$build" -j"$(nproc)"

# Token ids from the npm tokenizer packages, computed now, for the tokenizer comparison test.
bash .ci/tokenizer_npm.sh "$build/tokenizer_npm"
export VKMOE_TOKENIZER_NPM_DIR="$PWD/$build/tokenizer_npm"

export VKMOE_VALIDATION=1
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -LE slow
