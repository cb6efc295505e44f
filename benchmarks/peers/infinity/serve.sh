#!/usr/bin/env bash
# Serve MODEL_DIR (a sentence-transformers directory) with infinity-emb on 127.0.0.1:PORT, offline, in the
# foreground; stop it with SIGTERM/SIGINT.
#
#   benchmarks/peers/infinity/serve.sh MODEL_DIR PORT [ENGINE]   # ENGINE: torch (default) or optimum
#
# Runs from the environment made by setup.sh ($INFINITY_VENV, default /tmp/bench-infinity). The model is
# served as "all-minilm-l6-v2" ($INFINITY_SERVED_MODEL_NAME); routes have no prefix: GET /health,
# GET /models, POST /embeddings {"model": id, "input": [...]}. Vectors come back L2-normalized.
#
# optimum (ONNX Runtime) needs a model.onnx, which the bundled model lacks: the first start exports one
# with optimum-cli into $INFINITY_ONNX_CACHE (default /tmp/bench-infinity-onnx), later starts reuse it.
# It is exported as a plain transformers encoder (last_hidden_state), which infinity pools itself; its
# optimum engine pools with CLS unless told otherwise, so the mode is read from 1_Pooling/config.json.
set -euo pipefail
if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: $0 MODEL_DIR PORT [torch|optimum]" >&2
    exit 2
fi
model_dir=$(realpath "$1")
port=$2
engine=${3:-torch}
venv=${INFINITY_VENV:-/tmp/bench-infinity}
if [[ ! -x "$venv/bin/infinity_emb" ]]; then
    echo "no infinity_emb in $venv: run benchmarks/peers/infinity/setup.sh first" >&2
    exit 1
fi
# Offline: never reach the model hub; no anonymous usage statistics (posthog).
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
export DO_NOT_TRACK=1 INFINITY_ANONYMOUS_USAGE_STATS=0
# infinity makes a .infinity_cache directory in $INFINITY_HOME, else in the working directory.
export INFINITY_HOME=${INFINITY_HOME:-$venv}

extra=()
case "$engine" in
    torch)
        # Plain eager PyTorch through sentence-transformers (what the in-process baseline runs).
        extra=(--no-bettertransformer --no-compile)
        ;;
    optimum)
        pooling=cls
        if grep -q '"pooling_mode_mean_tokens": *true' "$model_dir/1_Pooling/config.json" 2>/dev/null; then
            pooling=mean
        fi
        extra=(--pooling-method "$pooling" --onnx-disable-optimize)
        if ! compgen -G "$model_dir/*.onnx" >/dev/null; then
            onnx_dir=${INFINITY_ONNX_CACHE:-/tmp/bench-infinity-onnx}/$(echo "$model_dir" | tr '/' '_')
            if [[ ! -f "$onnx_dir/model.onnx" ]]; then
                echo "exporting $model_dir to ONNX in $onnx_dir" >&2
                rm -rf "$onnx_dir.tmp"
                "$venv/bin/optimum-cli" export onnx --model "$model_dir" --task feature-extraction \
                    --library-name transformers "$onnx_dir.tmp" >&2
                rm -rf "$onnx_dir"
                mv "$onnx_dir.tmp" "$onnx_dir"
            fi
            model_dir=$onnx_dir
        fi
        # infinity 0.0.78 hands optimum-onnx the ONNX file's full path where it wants a name inside the
        # directory ("Could not find any ONNX files with target file name /.../model.onnx"); a model id of
        # "." (run from the model directory) makes that path just "model.onnx". Its graph optimization
        # fails with optimum 2 (OptimizationConfig lost optimize_with_onnxruntime_only) and falls back to
        # the exported graph, so it is switched off rather than attempted on every start.
        cd "$model_dir"
        model_dir=.
        ;;
    *)
        echo "unknown engine $engine (torch or optimum)" >&2
        exit 2
        ;;
esac

exec "$venv/bin/infinity_emb" v2 \
    --model-id "$model_dir" \
    --served-model-name "${INFINITY_SERVED_MODEL_NAME:-all-minilm-l6-v2}" \
    --engine "$engine" \
    --device cpu \
    --host 127.0.0.1 \
    --port "$port" \
    --batch-size "${INFINITY_BATCH_SIZE:-32}" \
    --no-vector-disk-cache \
    --log-level "${INFINITY_LOG_LEVEL:-warning}" \
    "${extra[@]}"
