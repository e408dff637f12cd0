#!/usr/bin/env bash
# Trains and exports the networks of the image metrics and of guidance, one after the other:
# the Fashion-MNIST classifier (feature space of FD/KID) and the class-conditional VP U-Net.
# Usage: nohup bash models/training/run_guidance.sh [CLASSIFIER_THREADS] [UNET_MINUTES] > models/training/checkpoints/guidance.log 2>&1 &
# What the shipped files came from: the classifier's one-cycle schedule was set for 12 epochs and
# stopped after 9 (test accuracy 0.9367, card training.epochs 9: exported from the epoch-9
# checkpoint); the conditional U-Net trained for 118 min in two sessions (105 min, then --resume
# for 14), 19.96 epochs, 1 thread.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
THREADS=${1:-1}
UNET_MIN=${2:-90}
OMP_NUM_THREADS=$THREADS $PY models/training/fashion_classifier.py train --epochs 12 --threads "$THREADS"
$PY models/training/fashion_classifier.py export
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
$PY models/training/fashion_unet.py train --sde vp --cond --minutes "$UNET_MIN"
$PY models/training/fashion_unet.py export --sde vp --cond
echo ALL DONE
