#!/usr/bin/env bash
# Trains both Fashion-MNIST U-Nets one after the other (1 thread each), exporting each when done.
# Usage: nohup bash models/training/run_fashion.sh [VP_MINUTES] [VE_MINUTES] > models/training/checkpoints/fashion.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
VP_MIN=${1:-45}
VE_MIN=${2:-40}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
$PY models/training/fashion_unet.py reference
$PY models/training/fashion_unet.py train --sde vp --minutes "$VP_MIN"
$PY models/training/fashion_unet.py export --sde vp
$PY models/training/fashion_unet.py sample --sde vp --steps 500 --png /tmp/fmnist_vp_check.png
$PY models/training/fashion_unet.py train --sde ve --minutes "$VE_MIN"
$PY models/training/fashion_unet.py export --sde ve
$PY models/training/fashion_unet.py sample --sde ve --steps 1000 --png /tmp/fmnist_ve_check.png
echo ALL DONE
