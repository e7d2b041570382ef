#!/usr/bin/env bash
# Builds vkmoe with tests and runs every test CI runs (all but the `slow` label) on the
# first Vulkan device (lavapipe on a machine without a GPU), validation layer on.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${VKMOE_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVKMOE_BUILD_TESTS=ON
cmake --build "$build" -j"$(nproc)"

# Token ids from the npm tokenizer packages, computed now, for the tokenizer comparison test.
bash .ci/tokenizer_npm.sh "$build/tokenizer_npm"
export VKMOE_TOKENIZER_NPM_DIR="$PWD/$build/tokenizer_npm"

export VKMOE_VALIDATION=1
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" -LE slow
