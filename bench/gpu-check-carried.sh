#!/usr/bin/env bash
# gpu-check on a GPU machine that has no Node and no network (how the README's H200 figures were
# taken, 2026-11-28). Made here, carried there in pieces of < 44 MiB (the device tool's limit):
#   payload = zstd(tar of: node binary, `npm ci --omit=dev --ignore-scripts` node_modules with
#             onnxruntime-node's linux/x64 binaries only, plus the provider's shared library)
#           + zstd --long=27 of libonnxruntime_providers_cuda.so from
#             com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9 (the package enable-cuda uses)
#   split -b 42M -d -a 1 payload gpu-check/part    (+ gpu-check/tools: zstd and liblz4.so.1)
# each piece moved to /tmp/stage there by its own call; then this script, with dist/ carried,
# from the repository root. The CUDA 13 libraries come from the machine's PyTorch wheels.
# The byte count below is the first part's (base.tar.zst) size.
set -u
S=/tmp/stage
mv gpu-check/part4 $S/ 2>/dev/null
cd $S && cat part0 part1 part2 part3 part4 > payload && ls -la payload
head -c 44025438 payload > base.tar.zst && tail -c +44025439 payload > prov.zst
export LD_LIBRARY_PATH=$S/tools
$S/tools/zstd -d -q -c base.tar.zst | tar xf - && $S/tools/zstd -d -q --long=27 prov.zst -o node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so
ls -la node_modules/onnxruntime-node/bin/napi-v6/linux/x64/
cd - >/dev/null
ln -sfn $S/node_modules node_modules
export PATH=$S:$PATH
CUDALIBS=$(find / -xdev \( -name 'libcublasLt.so.13' -o -name 'libcublas.so.13' -o -name 'libcudnn.so.9' -o -name 'libcurand.so.10' -o -name 'libcudart.so.13' -o -name 'libcufft.so.12' \) 2>/dev/null | xargs -r -n1 dirname | sort -u | tr '\n' ':')
export LD_LIBRARY_PATH=$CUDALIBS
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
node --version
export SCORE_SDE_TORCH_PYTHON=$(which python3)
node dist/cli/main.js inspect 2>&1 | tail -12
timeout 120 node dist/bench/gpu-check.js --quick --out $OUT/quick 2>&1 | tail -30
cat $OUT/quick/gpu-check.md 2>/dev/null | head -40
timeout 300 node dist/bench/gpu-check.js --reps 3 --out $OUT/full 2>&1 | tail -20
ls $OUT/full 2>/dev/null
