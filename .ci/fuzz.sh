#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang, ASan + UBSan) in their own build folder and
# runs every *_fuzz executable for FUZZ_SECONDS (default 60) from its seed corpus in
# tests/fuzz/corpus/<target>/. Fails on the first crash, sanitizer report, leak, timeout or
# out-of-memory; the reproducer is left in $FUZZ_ARTIFACTS (default build-fuzz/artifacts).
#
#   .ci/fuzz.sh                 # all targets, 60 s each
#   FUZZ_SECONDS=10 .ci/fuzz.sh gguf_fuzz
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${FUZZ_SECONDS:-60}"
artifacts="${FUZZ_ARTIFACTS:-$build/artifacts}"
jobs="${FUZZ_BUILD_JOBS:-2}"

# Packages: installed only when dpkg says they are missing.
need=()
for pkg in clang libclang-rt-14-dev cmake ninja-build nlohmann-json3-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends "${need[@]}"
fi

cmake -S "$root/tests/fuzz" -B "$build" -G Ninja \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVKMOE_FUZZ=ON
cmake --build "$build" -j "$jobs"

mkdir -p "$artifacts"
mapfile -t targets < <(find "$build" -maxdepth 2 -type f -name '*_fuzz' -perm -u+x | sort)
if (($# > 0)); then
  mapfile -t targets < <(for t in "${targets[@]}"; do for want in "$@"; do
    [ "$(basename "$t")" = "$want" ] && echo "$t"; done; done)
fi
((${#targets[@]})) || { echo "fuzz.sh: no *_fuzz targets built" >&2; exit 1; }

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for exe in "${targets[@]}"; do
  name="$(basename "$exe")"
  seeds="$root/tests/fuzz/corpus/$name"
  work="$build/corpus/$name"  # new inputs go here, the committed seeds stay untouched
  mkdir -p "$work"
  dirs=("$work")
  [ -d "$seeds" ] && dirs+=("$seeds")
  echo "== $name: ${seconds}s"
  # -malloc_limit_mb: a single allocation the (small) input cannot justify is a failure
  "$exe" "${dirs[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=256 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name-"
done
echo "fuzz.sh: all targets ran ${seconds}s without a finding"
