"""GPU-minded course code run on a CPU-only machine: device idioms, autocast, GradScaler, backend flags."""
import warnings
import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(0)

# device selection as every notebook starts
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
print(device, device.type, device.index, torch.cuda.is_available(), torch.cuda.device_count())
mps = torch.backends.mps.is_available()
print("mps", mps, torch.backends.mps.is_built() in (True, False))
device = torch.device("cuda") if torch.cuda.is_available() else torch.device("mps") if mps else torch.device("cpu")
print(device, repr(device), str(device) == "cpu")
if torch.cuda.is_available():
    print(torch.cuda.is_bf16_supported())
else:
    print("no cuda: skip bf16 check")
print(torch.backends.mkldnn.is_available() in (True, False), torch.backends.cudnn.is_available())

# autocast on cpu with float16: which ops run in half
x = torch.randn(4, 8)
lin = nn.Linear(8, 5)
conv = nn.Conv2d(2, 3, 3)
img = torch.randn(2, 2, 6, 6)
target = torch.tensor([0, 1, 4, 2])
with torch.autocast(device_type='cpu', dtype=torch.float16):
    print(torch.is_autocast_enabled('cpu'), torch.get_autocast_dtype('cpu'), torch.is_autocast_enabled())
    y = lin(x)
    print("linear", y.dtype, y.shape)
    m = x @ x.T
    print("matmul", m.dtype, torch.mm(x, x.T).dtype, torch.matmul(x, x.T).dtype, torch.bmm(x[None], x.T[None]).dtype)
    print("addmm", torch.addmm(torch.zeros(4, 4), x, x.T).dtype, torch.baddbmm(torch.zeros(1, 4, 4), x[None], x.T[None]).dtype)
    c = conv(img)
    print("conv", c.dtype, c.shape)
    print("softmax", torch.softmax(y, dim=1).dtype, F.log_softmax(y, dim=1).dtype, y.softmax(-1).dtype)
    loss = F.cross_entropy(y, target)
    print("cross_entropy", loss.dtype, f"{loss.item():.2f}")
    print("mse", F.mse_loss(y, torch.zeros(4, 5)).dtype, F.mse_loss(x, torch.zeros(4, 8)).dtype)
    print("relu", torch.relu(y).dtype, (y + 1).dtype, (y + x[:, :5]).dtype, y.sum().dtype, y.mean().dtype)
    print("exp/log", torch.exp(y).dtype, torch.log(x.abs() + 1).dtype, torch.tanh(y).dtype, torch.sigmoid(y).dtype)
    print("norm layers", F.layer_norm(y, (5,)).dtype, F.batch_norm(c, None, None, training=True).dtype)
    print("pool", F.max_pool2d(c, 2).dtype, F.avg_pool2d(c, 2).dtype)
    print("cat", torch.cat([y, x[:, :5]]).dtype, torch.stack([y.float(), x[:, :5]]).dtype)
    print("double in", (x.double() @ x.double().T).dtype, lin(x.half()).dtype)
    print("int matmul", (torch.ones(2, 2, dtype=torch.long) @ torch.ones(2, 2, dtype=torch.long)).dtype)
    print("bce_logits", F.binary_cross_entropy_with_logits(y, torch.ones(4, 5)).dtype)
    print("nll", F.nll_loss(F.log_softmax(y, 1), target).dtype)
    print("gelu", F.gelu(y).dtype, F.dropout(y, 0.0).dtype)
    with torch.autocast(device_type='cpu', enabled=False):
        print("nested off", torch.is_autocast_enabled('cpu'), lin(x).dtype, F.linear(x.half(), lin.weight.half()).dtype)
    print("after nested", torch.is_autocast_enabled('cpu'), lin(x).dtype)
print("outside", torch.is_autocast_enabled('cpu'), lin(x).dtype)   # default cpu dtype is bfloat16: skipped

with torch.autocast('cpu', dtype=torch.float16, enabled=False):
    print("disabled", lin(x).dtype, torch.is_autocast_enabled('cpu'))

with torch.autocast(device_type='cpu', dtype=torch.float16):
    with torch.autocast(device_type='cpu', dtype=torch.float16):
        print("nested twice", lin(x).dtype)
    print("still", torch.is_autocast_enabled('cpu'), lin(x).dtype)


@torch.autocast(device_type='cpu', dtype=torch.float16)
def half_forward(inp):
    return lin(inp), torch.is_autocast_enabled('cpu')


out, on = half_forward(x)
print("decorator", out.dtype, on, torch.is_autocast_enabled('cpu'))

# gradients through autocast land in float32 parameters
lin.zero_grad()
with torch.autocast(device_type='cpu', dtype=torch.float16):
    out = lin(x)
    loss = out.float().pow(2).mean()
loss.backward()
print("grad dtypes", lin.weight.grad.dtype, lin.bias.grad.dtype, out.requires_grad, out.grad_fn is not None)
print(f"{lin.weight.grad.abs().sum().item():.2f}")

# GradScaler loops
torch.manual_seed(1)
model = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
scaler = torch.amp.GradScaler('cpu')
print("scaler", scaler.is_enabled(), scaler.get_scale(), scaler.get_growth_factor(), scaler.get_backoff_factor(),
      scaler.get_growth_interval())
data = torch.randn(16, 3)
labels = data.sum(1, keepdim=True)
for step in range(4):
    opt.zero_grad()
    with torch.autocast(device_type='cpu', dtype=torch.float16):
        pred = model(data)
        loss = F.mse_loss(pred.float(), labels)
    scaled = scaler.scale(loss)
    print(step, scaled.dtype, f"{scaled.item() / scaler.get_scale():.3f}", f"{loss.item():.3f}")
    scaled.backward()
    scaler.unscale_(opt)
    print("  grad norm", f"{nn.utils.clip_grad_norm_(model.parameters(), 1.0).item():.3f}")
    scaler.step(opt)
    scaler.update()
    print("  scale", scaler.get_scale())
sd = scaler.state_dict()
print(sorted(sd.keys()), sd["scale"], sd["_growth_tracker"])
scaler2 = torch.amp.GradScaler('cpu', init_scale=2.0 ** 10, growth_interval=2)
scaler2.load_state_dict(sd)
print(scaler2.get_scale(), scaler2.get_growth_interval())

# a step that overflows is skipped and the scale backs off
scaler3 = torch.amp.GradScaler('cpu', init_scale=4.0)
w = nn.Parameter(torch.ones(2))
opt3 = torch.optim.SGD([w], lr=0.1)
(scaler3.scale((w * float('inf')).sum())).backward()
scaler3.step(opt3)
scaler3.update()
print("overflow", w.data, scaler3.get_scale())

off = torch.amp.GradScaler(enabled=False)
l = (w * 2).sum()
print("disabled scaler", off.is_enabled(), off.scale(l) is l, off.get_scale(), off.state_dict())
w.grad = None
off.scale(l).backward()
off.step(opt3)
off.update()
print(w.data)

# deprecated spellings: category and first line only
for name, make in [("cuda.amp.GradScaler", lambda: torch.cuda.amp.GradScaler(enabled=False)),
                   ("cuda.amp.autocast", lambda: torch.cuda.amp.autocast(enabled=False)),
                   ("cpu.amp.autocast", lambda: torch.cpu.amp.autocast(dtype=torch.float16))]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        obj = make()
    print(name, type(obj).__name__, [(w_.category.__name__, str(w_.message).splitlines()[0]) for w_ in caught])
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with torch.cuda.amp.autocast():
        print("cuda autocast on cpu tensors", lin(x).dtype)
print([w_.category.__name__ for w_ in caught][:1])

# errors of typical mistakes
for bad in [lambda: torch.autocast(device_type='gpu'), lambda: torch.amp.GradScaler('tpu'),
            lambda: torch.set_float32_matmul_precision('fast'), lambda: torch.autocast('cpu', dtype=torch.float64)]:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = bad()
        print("ok", type(r).__name__, [str(w_.message).split(" (Triggered")[0] for w_ in caught])
    except Exception as e:
        print(type(e).__name__, str(e).splitlines()[0])

# backend flags
print(torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic, torch.backends.cudnn.enabled)
torch.backends.cudnn.benchmark = True
torch.backends.cudnn.deterministic = True
print(torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
torch.backends.cudnn.benchmark = False
torch.backends.cudnn.deterministic = False
print(torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
torch.use_deterministic_algorithms(True)
print(torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
torch.use_deterministic_algorithms(True, warn_only=True)
print(torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
torch.use_deterministic_algorithms(False)
print(torch.are_deterministic_algorithms_enabled())
print(torch.get_float32_matmul_precision())
for p in ["high", "medium", "highest"]:
    torch.set_float32_matmul_precision(p)
    print(p, torch.get_float32_matmul_precision())
print(torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32, torch.get_float32_matmul_precision())
torch.backends.cuda.matmul.allow_tf32 = True
print(torch.get_float32_matmul_precision(), torch.backends.cuda.matmul.allow_tf32)
torch.set_float32_matmul_precision("highest")
print(torch.backends.cuda.matmul.allow_tf32, torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction)
torch.backends.cudnn.allow_tf32 = False
print(torch.backends.cudnn.allow_tf32, torch.backends.cudnn.version(), torch.backends.cuda.is_built())
torch.backends.cudnn.allow_tf32 = True
for bad in [lambda: torch.backends.cuda.matmul.allow_tf33, lambda: setattr(torch.backends.cuda.matmul, "fast", 1),
            lambda: setattr(torch.backends.cuda.matmul, "allow_fp16_reduced_precision_reduction", 1)]:
    try:
        bad()
    except Exception as e:
        print(type(e).__name__, e)
with torch.backends.cudnn.flags(enabled=False, benchmark=True):
    print("cudnn flags", torch.backends.cudnn.enabled, torch.backends.cudnn.benchmark)
print(torch.backends.cudnn.enabled, torch.backends.cudnn.benchmark)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")      # torch notes that oneDNN's TF32 needs an Intel GPU
    with torch.backends.mkldnn.flags(enabled=False):
        print("mkldnn flags", torch.backends.mkldnn.enabled)
print(torch.backends.mkldnn.enabled, torch.backends.mkldnn.deterministic)

n = torch.get_num_threads()
torch.set_num_threads(2)
print("threads", torch.get_num_threads() == 2)
torch.set_num_threads(n)
print("threads restored", torch.get_num_threads() == n)

# torch.compile: outputs only
torch.manual_seed(2)
net = nn.Sequential(nn.Linear(4, 3), nn.Tanh())
compiled = torch.compile(net)
inp = torch.randn(2, 4)
print(torch.allclose(compiled(inp), net(inp)), compiled(inp).shape)


def f(a, b):
    return (a * b).sum(1) + a.relu().mean()


cf = torch.compile(f)
a, b = torch.randn(3, 4), torch.randn(3, 4)
print(torch.allclose(cf(a, b), f(a, b)), cf(a, b).shape)
print([n for n, _ in compiled.named_parameters()], type(compiled).__name__)
print(x.to(device).device, lin.to(device).weight.device, torch.zeros(2, device=device).device)
lin_c = torch.compile(nn.Linear(3, 2))
print(lin_c.weight.shape, lin_c.out_features, list(lin_c.state_dict().keys()), len(list(lin_c.parameters())))
plain = nn.Linear(3, 2)
plain.load_state_dict(lin_c._orig_mod.state_dict())
print(torch.equal(plain.weight, lin_c.weight), repr(compiled).splitlines()[:2])
try:
    plain.load_state_dict(lin_c.state_dict())
except RuntimeError as e:
    print(type(e).__name__, str(e).splitlines()[1].strip())

# a GPU notebook's scaler on a CPU-only machine disables itself with a warning
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    gpu_scaler = torch.amp.GradScaler("cuda")
    old_scaler = torch.cuda.amp.GradScaler()
print(gpu_scaler.is_enabled(), old_scaler.is_enabled(), [(w_.category.__name__, str(w_.message).splitlines()[0])
                                                         for w_ in caught])
loss = (w * 3).sum()
print(gpu_scaler.scale(loss) is loss, gpu_scaler.get_scale())
