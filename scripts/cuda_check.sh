#!/usr/bin/env bash
# GPU check: the test suite on cpu and cuda (the device fixture adds cuda when CuPy finds a GPU),
# then the seed convnet on the GPU side by side with PyTorch. Run from the repository root on a
# machine with CuPy and a CUDA GPU. Writes logs under ${OUT:-/tmp/flambeau-cuda}. The default time
# limits (150 + 180 s of tests, 240 s of benchmark) keep one run under ten minutes.
set -uo pipefail
OUT=${OUT:-/tmp/flambeau-cuda}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 FLAMBEAU_ALLOW_NO_ORACLE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 - <<'PY' 2>&1 | tee "$OUT/smoke.txt"
import flambeau as torch
print("cuda available:", torch.cuda.is_available(), torch.cuda.device_count())
x = torch.randn(3, 4, device="cuda", requires_grad=True)
y = (x @ x.t()).relu().sum()
y.backward()
print(x.device, y, x.grad.device)
PY
# every failure listed (not only the first): GPU time is scarce, one run should show them all.
# The files the main job and the benchmark rest on run first, in case the time limit cuts the rest
# (a fresh machine compiles each CuPy kernel on first use).
FIRST="tests/test_cuda.py tests/test_conv.py tests/test_pooling.py tests/test_nn_layers.py tests/test_nn_functional.py
       tests/test_autograd.py tests/test_optim.py tests/test_blas.py tests/test_pointwise.py tests/test_reduction.py"
IGNORE=$(for f in $FIRST; do printf -- "--ignore=%s " "$f"; done)
timeout "${FIRST_TIMEOUT:-150}" python3 -m pytest -q -p no:cacheprovider --maxfail=40 -rf -k "cuda" $FIRST 2>&1 \
    | tail -40 | tee "$OUT/tests_first.txt"
timeout "${TEST_TIMEOUT:-180}" python3 -m pytest -q -p no:cacheprovider --maxfail=40 -rf -k "cuda" $IGNORE tests 2>&1 \
    | tail -60 | tee "$OUT/tests.txt"
timeout "${BENCH_TIMEOUT:-240}" python3 bench/seed_convnet.py --device cuda ${BENCH_ARGS:---epochs 10} 2>&1 \
    | tail -30 | tee "$OUT/bench.txt"
