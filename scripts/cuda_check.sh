#!/usr/bin/env bash
# GPU check: the seed convnet on the GPU side by side with PyTorch, then every cuda test (the device
# fixture adds cuda when CuPy finds a GPU), then a profile of flambeau's GPU epoch. Run from the
# repository root on a machine with CuPy and a CUDA GPU. Writes logs under ${OUT:-/tmp/flambeau-cuda}.
#   DATA=dir     the folder holding MNIST/raw/*.gz (default ../shared/data)
#   WORKERS=n    pytest-xdist workers when xdist is installed (default 12; the tests are small)
# The default time limits (150 s of benchmark, 2 x 40 s of kernels on/off, 220 s of tests, 40 s of
# profile) keep one run under eight minutes.
set -uo pipefail
OUT=${OUT:-/tmp/flambeau-cuda}
DATA=${DATA:-../shared/data}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 FLAMBEAU_ALLOW_NO_ORACLE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 - <<'PY' 2>&1 | tee "$OUT/smoke.txt"
import numpy, cupy, flambeau as torch
print("numpy", numpy.__version__, "cupy", cupy.__version__)
print("cuda available:", torch.cuda.is_available(), torch.cuda.device_count())
x = torch.randn(3, 4, device="cuda", requires_grad=True)
y = (x @ x.t()).relu().sum()
y.backward()
print(x.device, y, x.grad.device)
# each of flambeau's own kernels once (compiled by NVRTC here on first use), in float32 and float64
nn, F = torch.nn, torch.nn.functional
for dtype in (torch.float32, torch.float64):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Dropout(0.2), nn.Linear(64, 16), nn.Tanh(), nn.Linear(16, 10),
                          nn.Sigmoid()).to("cuda", dtype)
    x, y = torch.randn(6, 1, 8, 8, device="cuda", dtype=dtype), torch.arange(6, device="cuda")
    for opt in (torch.optim.SGD(model.parameters(), lr=0.1), torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                torch.optim.Adam(model.parameters(), lr=1e-3)):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        cpu = model.cpu()(x.cpu())
        gpu = model.to("cuda")(x)
    print("own kernels,", dtype, "loss", loss.item(), "eval gpu-cpu", (gpu.cpu() - cpu).abs().max().item())
    # the input's gradient through col2im (the first convolution's input above needs none), stride 2
    conv = nn.Conv2d(3, 5, 3, stride=2, padding=1).to("cuda", dtype)
    xg = torch.randn(4, 3, 9, 9, device="cuda", dtype=dtype, requires_grad=True)
    gx, = torch.autograd.grad(conv(xg).square().sum(), xg)
    xc = xg.detach().cpu().requires_grad_()
    gc, = torch.autograd.grad(conv.cpu()(xc).square().sum(), xc)
    print("col2im,", dtype, "dx gpu-cpu", (gx.cpu() - gc).abs().max().item())
PY
timeout "${BENCH_TIMEOUT:-150}" python3 bench/seed_convnet.py --device cuda --data "$DATA" ${BENCH_ARGS:---epochs 10} \
    2>&1 | tee "$OUT/bench.txt"
# what flambeau's own kernels bring: two epochs with them, two with the array code instead
for KERNELS in 1 0; do
    FLAMBEAU_CUDA_KERNELS=$KERNELS timeout "${AB_TIMEOUT:-40}" python3 bench/seed_convnet.py --device cuda \
        --data "$DATA" --epochs 2 --skip-torch 2>&1 | tail -3 | sed "s/^/kernels=$KERNELS: /" | tee -a "$OUT/kernels_ab.txt"
done
# every failure listed, with -v lines written as they come, so a run cut by the time limit still
# names what failed (a fresh machine compiles each CuPy kernel on first use).
XDIST=""
python3 -c "import xdist" 2>/dev/null && XDIST="-n ${WORKERS:-12}"
timeout "${TEST_TIMEOUT:-220}" python3 -m pytest -v -p no:cacheprovider -rfE --tb=short $XDIST -k "cuda" tests \
    > "$OUT/tests.txt" 2>&1
echo "pytest exit: $?"
grep -E "(FAILED|ERROR) tests/" "$OUT/tests.txt" | sed -E 's/^\[gw[0-9]+\] \[ *[0-9]+%\] //' | sort -u | head -120
tail -2 "$OUT/tests.txt"
timeout "${PROFILE_TIMEOUT:-40}" python3 bench/seed_convnet.py --device cuda --data "$DATA" --n-train 10000 \
    --profile --skip-torch > "$OUT/profile.txt" 2>&1
head -45 "$OUT/profile.txt"
