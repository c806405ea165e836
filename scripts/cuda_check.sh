#!/usr/bin/env bash
# GPU check: the test suite on cpu and cuda (the device fixture adds cuda when CuPy finds a GPU),
# then the seed convnet on the GPU side by side with PyTorch. Run from the repository root on a
# machine with CuPy and a CUDA GPU. Writes logs under ${OUT:-/tmp/flambeau-cuda}. The default time
# limits (330 s of tests, 240 s of benchmark) keep one run under ten minutes.
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
# every failure listed (not only the first): GPU time is scarce, one run should show them all
timeout "${TEST_TIMEOUT:-330}" python3 -m pytest -q -p no:cacheprovider --maxfail=40 -rf -k "cuda" tests 2>&1 \
    | tail -60 | tee "$OUT/tests.txt"
timeout "${BENCH_TIMEOUT:-240}" python3 bench/seed_convnet.py --device cuda ${BENCH_ARGS:---epochs 10} 2>&1 \
    | tail -30 | tee "$OUT/bench.txt"
