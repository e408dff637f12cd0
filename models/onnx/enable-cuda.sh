#!/usr/bin/env bash
# Enables onnxruntime-node's CUDA execution provider for score-sde (linux/x64 only).
#
# A thin wrapper: the work is done by `score-sde enable-cuda` (cli/enable-cuda.ts), which finds the
# onnxruntime-node that score-sde loads (require.resolve: the repository's node_modules, or the
# top-level node_modules of a project that installed score-sde), fetches the CUDA 13 provider for
# onnxruntime 1.29.0 from the npm package com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
# (~179 MB, through npm pack; or --from <its folder or .tgz> offline), places its provider
# libraries beside libonnxruntime.so.1, and says what CUDA still lacks on this machine (shared
# libraries by name, NVIDIA device). `score-sde inspect` repeats that diagnosis at any time.
#
# Usage, from anywhere:  bash <score-sde>/models/onnx/enable-cuda.sh [--from DIR|TGZ] [--no-check]
# Same as:               npx score-sde enable-cuda [...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MAIN="$ROOT/dist/cli/main.js"
[ -f "$MAIN" ] || { echo "enable-cuda: $MAIN not found: run 'npm run build' in $ROOT first" >&2; exit 1; }
exec node "$MAIN" enable-cuda "$@"
