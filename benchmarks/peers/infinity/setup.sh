#!/usr/bin/env bash
# Create the virtual environment for infinity-emb, the embedding-server peer of the benchmarks.
#
#   benchmarks/peers/infinity/setup.sh          # idempotent: does nothing when the pins are installed
#
# Like the vector peers (benchmarks/vector_index.py makes /tmp/bench-chromadb, /tmp/bench-lancedb), the
# environment lives outside the repository: $INFINITY_VENV, default /tmp/bench-infinity, made with
# $PYTHON (default python3; infinity-emb 0.0.78 needs 3.9-3.13). Packages come from PyPI, pinned by
# requirements.txt and constraints.txt; torch is held at 2.13.0. On a machine whose pip finds only PyPI
# that is the CUDA build of torch with its nvidia-* wheels (several GB); for the CPU build add
# PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu (or a --find-links with the CPU wheel).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
venv=${INFINITY_VENV:-/tmp/bench-infinity}
python=${PYTHON:-python3}
stamp="$venv/.bench-infinity-pins"
pins=$(cat "$here/requirements.txt" "$here/constraints.txt" | sha256sum | cut -d' ' -f1)

if [[ -x "$venv/bin/infinity_emb" && -f "$stamp" && "$(cat "$stamp")" == "$pins" ]]; then
    echo "infinity environment up to date: $venv"
    exit 0
fi
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
rm -f "$stamp"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$here/requirements.txt" -c "$here/constraints.txt"
"$venv/bin/python" -m pip check
"$venv/bin/python" -c "import torch, infinity_emb, optimum.onnxruntime; print('infinity-emb', infinity_emb.__version__, 'torch', torch.__version__)"
echo "$pins" >"$stamp"
echo "infinity environment ready: $venv"
