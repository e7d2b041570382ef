#!/usr/bin/env bash
# Makes a Vulkan runtime with VK_KHR_cooperative_matrix for the cooperative-matrix kernels' tests
# on a machine without such a GPU: a Debian 13 root (debootstrap) holding Mesa 26's lavapipe
# (trixie-backports; Debian 12's Mesa 22.3 lacks the extension), its Vulkan loader and validation
# layer, and glslang/SPIRV-Tools new enough to compile GL_KHR_cooperative_matrix.
#
#   bash .ci/coopmat-runtime.sh DIR     (needs root, debootstrap and Debian's package mirror)
#
# DIR/bin then holds glslangValidator, spirv-val and spirv-opt (for VKMOE_COOPMAT_GLSLANG and the
# others, shaders/CMakeLists.txt) and `run PROGRAM ARGS...`, which runs a program built here
# with the root's C library, Vulkan loader, lavapipe and layers: nothing is installed on the host.
# A second call with the same DIR reuses what the first made.
set -euo pipefail

dir=$(realpath -m "${1:?usage: coopmat-runtime.sh DIR}")
root="$dir/root"
mirror=${VKMOE_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ ! -f "$dir/ready" ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  if ! command -v debootstrap >/dev/null; then
    $sudo_cmd apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends debootstrap
  fi
  $sudo_cmd rm -rf "$root"
  mkdir -p "$dir"
  $sudo_cmd debootstrap --variant=minbase trixie "$root" "$mirror" >"$dir/debootstrap.log" 2>&1 ||
    { tail -20 "$dir/debootstrap.log"; exit 1; }
  echo "deb $mirror trixie-backports main" | $sudo_cmd tee "$root/etc/apt/sources.list.d/backports.list" >/dev/null
  $sudo_cmd chroot "$root" /bin/sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends glslang-tools spirv-tools libvulkan1 \
    vulkan-validationlayers && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends -t trixie-backports mesa-vulkan-drivers" >"$dir/apt.log" 2>&1 ||
    { tail -20 "$dir/apt.log"; exit 1; }
  $sudo_cmd chroot "$root" apt-get clean
fi

mkdir -p "$dir/bin"
libs="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu"
loader="$root/lib64/ld-linux-x86-64.so.2"
for tool in glslangValidator spirv-val spirv-opt; do
  printf '#!/bin/sh\nexec "%s" --library-path "%s" "%s" "$@"\n' "$loader" "$libs" \
    "$root/usr/bin/$tool" >"$dir/bin/$tool"
done
cat >"$dir/bin/run" <<RUN
#!/bin/sh
# Runs a program with the Debian 13 root's C library, Vulkan loader, lavapipe and layers.
export VK_DRIVER_FILES="$root/usr/share/vulkan/icd.d/lvp_icd.json"
export VK_ICD_FILENAMES="\$VK_DRIVER_FILES"
export VK_LAYER_PATH="$root/usr/share/vulkan/explicit_layer.d"
exec "$loader" --library-path "$libs" "\$@"
RUN
chmod +x "$dir"/bin/*
"$dir/bin/glslangValidator" --version >/dev/null
touch "$dir/ready"
echo "coopmat runtime ready in $dir"
