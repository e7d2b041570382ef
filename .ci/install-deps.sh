#!/usr/bin/env bash
# Installs vkmoe's build and test dependencies from Debian packages, skipping what is there.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libvulkan-dev glslang-tools spirv-tools
  nlohmann-json3-dev libgtest-dev
  mesa-vulkan-drivers vulkan-validationlayers
  python3 python3-numpy  # tiny test checkpoints and the independent numpy reference forward
  debootstrap  # .ci/coopmat-runtime.sh: Mesa 26's lavapipe for the cooperative-matrix tests
)
# The npm tokenizer packages the tokenizer is compared with need node and npm; any install of
# them will do (Debian's, nodesource's, nvm's).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends "${missing[@]}"
fi
