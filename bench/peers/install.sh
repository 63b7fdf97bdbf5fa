#!/usr/bin/env bash
# Installs what the bench's peer rows need (Debian or Ubuntu, as root):
#   - Debian's PyTorch and torchvision, for the course's recipe (course_pytorch.py) and
#     the tuned-for-CPU PyTorch rows (torch_tuned.py);
#   - onnxruntime-web 1.30.0 and onnxruntime-node 1.30.0 (native; its Linux x64 CPU
#     library ships inside the npm package) from npm, into the peer folder (not into this repo);
#   - a ResNet50 ONNX file in the peer folder, exported by that PyTorch
#     (export_resnet50_onnx.py; random weights, for timing only).
# The peer folder is $ROCKS_BENCH_PEERS, else $XDG_CACHE_HOME/rocks-bench, else ~/.cache/rocks-bench.
set -euo pipefail
cd "$(dirname "$0")"
dir=${ROCKS_BENCH_PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/rocks-bench}

apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-torchvision
command -v node >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm

mkdir -p "$dir"
# ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's own install step would only fetch CUDA libraries.
ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix "$dir" --no-audit --no-fund onnxruntime-web@1.30.0 onnxruntime-node@1.30.0
[ -f "$dir/resnet50.onnx" ] || /usr/bin/python3 export_resnet50_onnx.py "$dir/resnet50.onnx"
echo "peers installed in $dir"
