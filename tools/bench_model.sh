#!/usr/bin/env bash
# Issue 5's model benchmark: writes the bench model (qwen2_moe, vocab 8192, hidden 1024, 8
# layers, 16/4 heads, 32 experts top-4, expert FFN 512, shared FFN 1024, F16; 0.93 GB) into
# DIR unless it is already there, then runs `vkmoe bench -m` on it (pp128, tg32, 5
# repetitions). Extra arguments go to `vkmoe bench` (e.g. --json, -r 3).
#   bash tools/bench_model.sh [DIR] [vkmoe bench options...]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir=${1:-"$root/build/bench_model"}
shift || true
vkmoe=${VKMOE:-"$root/build/tools/vkmoe"}
python=$(command -v /usr/bin/python3 || command -v python3)
if [ ! -f "$dir/model.safetensors" ]; then
  "$python" -B "$root/tools/make_bench_model.py" "$dir"
fi
"$vkmoe" bench -m "$dir" -p 128 -n 32 -r 5 "$@"
