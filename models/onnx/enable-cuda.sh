#!/usr/bin/env bash
# Enables onnxruntime-node's CUDA execution provider for score-sde (linux/x64 only).
#
# onnxruntime-node ships the CPU provider only; its own postinstall would fetch the CUDA provider
# from NuGet, and this repository skips that (.npmrc: onnxruntime-node-install=skip). This script
# takes the two provider libraries from the npm registry instead (no NuGet access needed):
#
#   1. npm install --no-save com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9     (~179 MB)
#   2. copy its libonnxruntime_providers_shared.so and libonnxruntime_providers_cuda.so beside
#      libonnxruntime.so.1 in node_modules/onnxruntime-node/bin/napi-v6/linux/x64/
#   3. try a CUDA session on a shipped model and say whether it worked
#
# The CUDA provider needs the CUDA 13 runtime libraries (cuBLAS, cuBLASLt, cuRAND, cudart, and
# cuDNN where a model uses convolutions) on LD_LIBRARY_PATH, and an NVIDIA driver that supports them.
#
# Online alternative (onnxruntime-node's own installer, from NuGet, built for CUDA 12):
#   ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js
# (the package has no npx command; the environment variable overrides the .npmrc skip flag; see
# node_modules/onnxruntime-node/script/install.js and the "CUDA EP Installation" section of
# node_modules/onnxruntime-node/README.md).
#
# Usage, from anywhere:  bash models/onnx/enable-cuda.sh
# Undo:                  rm node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_{shared,cuda}.so
# `npm ci` (a fresh node_modules) undoes it too; run this again afterwards.
set -euo pipefail

PKG=com.github.asus4.onnxruntime.linux-x64-gpu
VERSION=0.4.9
LIBS=(libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
DEST=node_modules/onnxruntime-node/bin/napi-v6/linux/x64

die() { echo "enable-cuda: $*" >&2; exit 1; }

[ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ] \
  || die "onnxruntime-node has a CUDA provider on linux/x64 only; this is $(uname -s)/$(uname -m)"
[ -f "$DEST/libonnxruntime.so.1" ] || die "$DEST/libonnxruntime.so.1 not found: run 'npm install' (or 'npm ci') first"

find_lib() { find "node_modules/$PKG" -name "$1" \( -type f -o -type l \) 2>/dev/null | head -n 1; }

if [ -z "$(find_lib libonnxruntime_providers_cuda.so)" ]; then
  echo "enable-cuda: npm install --no-save $PKG@$VERSION (about 179 MB)"
  npm install --no-save --ignore-scripts "$PKG@$VERSION"
fi

for lib in "${LIBS[@]}"; do
  src="$(find_lib "$lib")"
  [ -n "$src" ] || die "$lib not found inside node_modules/$PKG (did the install fail?)"
  cp -L "$src" "$DEST/$lib"
  echo "enable-cuda: $src -> $DEST/$lib"
done

cat <<'EOF'
enable-cuda: provider libraries installed.
  The CUDA provider also needs the CUDA 13 runtime libraries on LD_LIBRARY_PATH:
  cuBLAS + cuBLASLt (libcublas.so.13, libcublasLt.so.13), cuRAND (libcurand.so.10),
  cudart (libcudart.so.13), and cuDNN 9 for convolutional models; e.g.
    export LD_LIBRARY_PATH=/usr/local/cuda-13/lib64:$LD_LIBRARY_PATH
  or, with pip's nvidia-* wheels, add each site-packages/nvidia/*/lib folder.
EOF

# Check: a CUDA session on a shipped exact-mixture model.
MODEL=models/exact/mixture-vp-t-score.onnx
if [ -f "$MODEL" ]; then
  if node -e "
    require('onnxruntime-node').InferenceSession.create(process.argv[1], { executionProviders: ['cuda'], logSeverityLevel: 3 })
      .then(() => console.log('enable-cuda: check passed: a CUDA session was created on ' + process.argv[1]))
      .catch((e) => { console.error('enable-cuda: check FAILED: ' + String(e.message).split('\n')[0]); process.exit(1); });
  " "$MODEL"; then
    echo "enable-cuda: models load on the GPU with device 'auto' (the default) or 'cuda'."
  else
    echo "enable-cuda: the libraries are in place, but onnxruntime could not start CUDA: check LD_LIBRARY_PATH (above) and nvidia-smi." >&2
    exit 2
  fi
fi
