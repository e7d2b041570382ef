#!/usr/bin/env bash
# Encodes tests/tokenizer_npm/strings.jsonl with both npm tokenizer packages
# (@huggingface/tokenizers, the JavaScript port, and tokenizers, the Rust crate's Node binding)
# for both test tokenizers in assets/tokenizer/, so tests/loaders/tokenizer_npm_test.cpp compares
# our ids with freshly computed ones rather than only with the committed expected_*.jsonl.
#
#   .ci/tokenizer_npm.sh OUT_DIR
#   VKMOE_TOKENIZER_NPM_DIR=OUT_DIR ctest ...   # the test then requires all four files
#
# Needs node and npm (Debian: apt-get install -y nodejs npm). Installs the packages, pinned in
# tests/tokenizer_npm/package.json, under tests/tokenizer_npm/node_modules (git-ignored) when
# they are not there yet.
set -euo pipefail
out=${1:?usage: .ci/tokenizer_npm.sh OUT_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/tests/tokenizer_npm
if [[ ! -d $dir/node_modules/@huggingface/tokenizers || ! -d $dir/node_modules/tokenizers ]]; then
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
fi
mkdir -p "$out"
for impl in js rust; do
  node "$dir/encode.mjs" "$impl" "$root/assets/tokenizer/tokenizer.json" "$dir/strings.jsonl" "$out/${impl}_qwen2.jsonl"
  node "$dir/encode.mjs" "$impl" "$root/assets/tokenizer/deepseek/tokenizer.json" "$dir/strings.jsonl" "$out/${impl}_deepseek.jsonl"
done
