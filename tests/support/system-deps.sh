#!/usr/bin/env bash
# System packages the test suite needs beyond npm: Debian's Fashion-MNIST (the image-metrics
# reference statistics are recomputed from it) and redis-server (the distributed-sweep tests start
# their own server on a free loopback port). Installs what is missing with apt-get when it can
# (root, or sudo without a password); otherwise says in one line what to run, and exits 1.
set -euo pipefail
need=()
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ ${#need[@]} -eq 0 ] && { echo "system-deps: all present"; exit 0; }
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo"; else
  echo "system-deps: missing ${need[*]}: run 'sudo apt-get install -y ${need[*]}' (Debian/Ubuntu), then the tests" >&2
  exit 1
fi
echo "system-deps: installing ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "system-deps: installed ${need[*]}"
