"""Lecture 1 / 6.6 plumbing on a machine without a GPU: devices, dtype rules, NumPy interop."""
import io
import warnings

import numpy as np
import torch
from torch import nn

torch.manual_seed(0)


def attempt(label, fn):
    try:
        out = fn()
        print(label, "->", out)
    except Exception as e:      # the message is part of what is compared
        print(label, "!!", type(e).__name__, str(e).splitlines()[0] if str(e) else "")


# --- devices, as course code writes them ---------------------------------------------------
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
print(device, repr(device), device.type, device.index, str(device), torch.cuda.is_available())
print(torch.cuda.device_count(), torch.device('cpu') == device, torch.device('cpu') == 'cpu')
cuda0 = torch.device('cuda:0')
print(repr(cuda0), cuda0.type, cuda0.index, cuda0 == torch.device('cuda', 0), cuda0 == torch.device('cuda'))
print(repr(torch.device('cuda', 1)), str(torch.device('cpu', 0)), hash(torch.device('cpu')) == hash(torch.device('cpu')))
print(torch.device(torch.device('cpu')), {torch.device('cpu'): 1}[torch.device('cpu')])
attempt("bad device", lambda: torch.device('gpu'))
attempt("bad index", lambda: torch.device('cuda:-1'))
attempt("device int", lambda: torch.device(0))

x = torch.randn(3, 4)
print(x.device, x.to(device).device, x.to(device) is x, x.to('cpu') is x, x.cpu() is x, x.to(x) is x)
print(x.to(torch.float64).dtype, x.to(device, torch.float16).dtype, x.to(device, dtype=torch.int32).dtype)
print(x.to(torch.zeros(1, dtype=torch.int64)).dtype, x.to(x.double()).dtype, x.to(torch.float32) is x)
print(x.to(device, copy=True) is x, x.to(dtype=torch.float32, copy=True) is x)
print(x.type(), x.type(torch.DoubleTensor).dtype, x.type('torch.IntTensor').dtype, x.long().type())
print(x.type(torch.float16).dtype, torch.tensor([True]).type(), torch.tensor([1], dtype=torch.uint8).type())
print(x.is_cuda, x.is_cpu if hasattr(x, "is_cpu") else None, x.get_device(), (x + 1).device, (x @ x.t()).device)
print(torch.zeros(2, device=device).device, torch.ones(2, device='cpu').device, torch.arange(3, device=device))
attempt(".cuda()", lambda: x.cuda())
attempt(".to('cuda')", lambda: x.to('cuda'))
attempt("zeros on cuda", lambda: torch.zeros(2, device='cuda'))
attempt("model.cuda()", lambda: nn.Linear(2, 2).cuda())
attempt("device_name", lambda: torch.cuda.get_device_name(0))
attempt("synchronize", lambda: torch.cuda.synchronize())
attempt("current_device", lambda: torch.cuda.current_device())
print(torch.cuda.manual_seed(0), torch.cuda.manual_seed_all(0), torch.cuda.memory_allocated(), torch.backends.cudnn.enabled)
attempt("to bad string", lambda: x.to('gpu'))

model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
print(model.to(device) is model, next(model.parameters()).device, model.double() is model)
print(next(model.parameters()).dtype, model.float()[0].weight.dtype, model.half()[2].bias.dtype)
model.float()
print(model(x.to(device)).shape, model.to(torch.float64)[0].weight.dtype, model.to(device, torch.float32)[0].bias.dtype)

# pinned memory and asynchronous copies: harmless without a GPU
attempt("pin_memory", lambda: x.pin_memory().is_pinned())
print(x.is_pinned(), x.to(device, non_blocking=True).device, x.cpu().numpy().dtype)

# saving and loading with map_location
buf = io.BytesIO()
torch.save({"w": model[0].weight.data, "step": 3}, buf)
for loc in ['cpu', torch.device('cpu'), lambda storage, loc: storage, None, {'cuda:0': 'cpu'}]:
    buf.seek(0)
    d = torch.load(buf, map_location=loc)
    print(type(loc).__name__, sorted(d), d["w"].device, d["w"].dtype, tuple(d["w"].shape), d["step"])
buf = io.BytesIO()
torch.save(model.state_dict(), buf)
buf.seek(0)
sd = torch.load(buf, map_location=device, weights_only=True)
print(list(sd), model.load_state_dict(sd))

# --- dtype rules -----------------------------------------------------------------------------
i = torch.tensor([1, 3])
f = torch.tensor([1.0, 2.0])
b = torch.tensor([True, False])
u8 = torch.tensor([250, 10], dtype=torch.uint8)
i8 = torch.tensor([120, -120], dtype=torch.int8)
print(i.dtype, f.dtype, b.dtype, torch.tensor([1, 2.5]).dtype, torch.tensor([True, 1]).dtype, torch.tensor([True, 1.]).dtype)
print(torch.tensor(3).dtype, torch.tensor(3.).dtype, torch.tensor(True).dtype, torch.tensor([]).dtype, torch.tensor(2 + 1j).dtype)
print((i + 1.5).dtype, (i * True).dtype, (b + b).dtype, (b * 2).dtype, (b + 0.5).dtype, (u8 + 1).dtype, (u8 + 1.0).dtype)
print((u8 + i8).dtype, (i8 + i).dtype, (f + i).dtype, (f.double() + i).dtype, (f.half() + 1.0).dtype, (f.half() + f).dtype)
print((u8 + torch.tensor(1000)).dtype, (f.half() + torch.tensor(1.0, dtype=torch.float64)).dtype, (i + torch.tensor(1.5)).dtype)
print(torch.result_type(i, 1.0), torch.result_type(u8, i8), torch.result_type(b, 2), torch.result_type(f, 2.0))
print(torch.result_type(torch.tensor(1, dtype=torch.int32), 5), torch.result_type(2, 3.0), torch.result_type(b, True))
print(torch.promote_types(torch.uint8, torch.int8), torch.promote_types(torch.int32, torch.float16),
      torch.promote_types(torch.bool, torch.uint8), torch.promote_types(torch.int64, torch.float32))
print(torch.can_cast(torch.float64, torch.int32), torch.can_cast(torch.int32, torch.float64),
      torch.can_cast(torch.int64, torch.bool), torch.can_cast(torch.uint8, torch.int8), torch.can_cast(torch.float32, torch.float16))

# division, remainder, overflow
n = torch.tensor([7, -7, 7, -7])
d = torch.tensor([2, 2, -2, -2])
print(n / d, (n / d).dtype, n // d, torch.div(n, d, rounding_mode='trunc'), torch.div(n, d, rounding_mode='floor'))
print(n % d, torch.remainder(n, d), torch.fmod(n, d), torch.remainder(n, 3), torch.fmod(n, 3), n % -3)
print(n.float() % 2.5, torch.fmod(n.float(), -2.5), n / 2, n // 2.0, (n // 2.0).dtype, 7 // torch.tensor(2), -7 % torch.tensor(3))
print(torch.tensor([7.5, -7.5]) // 2, torch.div(torch.tensor([7.5, -7.5]), 2, rounding_mode='trunc'), torch.true_divide(i, 2))
attempt("int div by zero", lambda: torch.tensor([1]) // 0)
print(torch.tensor([1.0, -1.0, 0.0]) / 0, torch.tensor([1, 0]) / 0)
print(u8 + 10, u8 * 2, u8 - 251, i8 + 10, i8 * 2, -torch.tensor([-128], dtype=torch.int8), u8.sum(), u8.sum().dtype)
print(torch.tensor([2 ** 31 - 1], dtype=torch.int32) + 1, torch.tensor([255], dtype=torch.uint8) + torch.tensor([1], dtype=torch.uint8))
print(i & 1, i | 4, i ^ 2, ~i, i << 2, i >> 1, u8 >> 3, ~u8, ~b, b & torch.tensor([True, True]), b | False, b ^ True)
attempt("float bitwise", lambda: f & 1)
attempt("bool neg", lambda: -b)
attempt("float shift", lambda: f << 1)

# comparisons, bool and integer reductions
print(i > 1, (i > 1).dtype, i == torch.tensor([1, 0]), f >= 1.5, (i != 2).any(), (i < 5).all(), torch.eq(i, 2))
print(b.sum(), b.sum().dtype, u8.sum().dtype, torch.tensor([1, 2], dtype=torch.int32).sum().dtype, i8.sum(), i8.prod())
print(b.float().mean(), (i > 1).sum().item(), (i > 1).float().mean().item(), i.cumsum(0).dtype, b.cumsum(0).dtype)
print(torch.tensor([1, 2], dtype=torch.int16).sum(dtype=torch.float32), i.sum(dtype=torch.int8).dtype, i.max().dtype, b.max())
attempt("int mean", lambda: i.mean())
attempt("int std", lambda: i.std())
attempt("bool mean", lambda: b.mean())
print(i.float().mean(), i.mean(dtype=torch.float64), torch.mean(i.double()), i.median(), i.float().var())

# in-place ops keep their dtype; promotion in where/clamp; image-style uint8 arithmetic
attempt("int add_ float", lambda: i.clone().add_(1.5))
attempt("bool add_ int", lambda: b.clone().add_(1))
attempt("bool minus bool", lambda: b - b)
attempt("bool minus int", lambda: b - 1)
print(f.clone().add_(i), u8.clone().add_(300), torch.clamp(i, 0.5), i.clamp(min=2), torch.where(i > 1, i, 0.5))
img = torch.tensor([[0, 128, 255]], dtype=torch.uint8)
print(img / 255, img.float().div(255), (img > 100).long(), img.double().mean(), img * 2.0, img.to(torch.float16) / 255)
print(torch.tensor([300.7, -1.5]).to(torch.uint8), torch.tensor([3.7, -3.7]).long(), torch.tensor([2]) ** 0.5, 2 ** torch.tensor([3]))
print(torch.float32.itemsize, torch.int8.is_signed, torch.uint8.is_signed, torch.float16.is_floating_point, torch.float is torch.float32)
print(f.element_size(), f.nbytes, i.element_size(), f.half().nbytes, f.is_floating_point(), i.is_floating_point(), b.is_complex())

# Python types and NumPy scalars as dtypes; Python ints beyond int64
print(torch.zeros(2, dtype=float).dtype, torch.ones(2, dtype=int).dtype, torch.tensor([1, 0], dtype=bool), x.to(float).dtype,
      torch.arange(3., dtype=int), i.sum(dtype=float), torch.full((2,), 1.5, dtype=int), nn.Linear(1, 1, dtype=float).weight.dtype)
attempt("type(float)", lambda: x.type(float))
attempt("dtype str", lambda: torch.zeros(1, dtype='float32'))
attempt("dtype np", lambda: torch.zeros(1, dtype=np.float32))
for data in ([np.float64(1), np.float64(2)], [np.int32(3), 1], [np.int16(1), np.uint8(2)], [np.float16(1), 1],
             [np.float32(1), 2.0], (np.int32(5),), [[np.int8(1)], [np.int8(-1)]]):
    print(torch.tensor(data).dtype, torch.as_tensor(data).tolist(), end="  ")
print()
attempt("2**63", lambda: torch.tensor(2 ** 63))
attempt("[1, 2**63]", lambda: torch.tensor([1, 2 ** 63]))
print(torch.tensor([2 ** 63], dtype=torch.float64), torch.tensor([1.5, 2 ** 64]), torch.tensor(-2 ** 63))
attempt("uint8 256", lambda: torch.tensor([256], dtype=torch.uint8))
print(torch.tensor([-1], dtype=torch.uint8), torch.tensor([2 ** 62]) * 4, torch.tensor([100], dtype=torch.int8) * 3)

# default dtype
print(torch.get_default_dtype(), torch.tensor([1.5]).dtype, torch.zeros(1).dtype, torch.arange(3.).dtype)
torch.set_default_dtype(torch.float64)
print(torch.get_default_dtype(), torch.tensor([1.5]).dtype, torch.zeros(1).dtype, torch.arange(3.).dtype,
      torch.randn(1).dtype, (torch.tensor([1]) * 0.5).dtype, torch.tensor([1]).dtype, nn.Linear(1, 1).weight.dtype)
torch.set_default_dtype(torch.float32)
attempt("default int", lambda: torch.set_default_dtype(torch.int64))
print(torch.get_default_dtype(), torch.tensor(1.).dtype)

# float16 arithmetic and printing
h = torch.tensor([1.0, 0.1, 65504.0, 1e-4], dtype=torch.float16)
print(h, h * 2, h + 0.001, h.sum(), h.float().sum(), h.dtype, (h / 3)[:2], h.max().item())
print(torch.tensor([1 / 3], dtype=torch.float16).item(), torch.tensor(2049., dtype=torch.float16), torch.tensor([70000.]).half())

# .item(), int(), float(), bool()
for t in (torch.tensor(3), torch.tensor(2.5), torch.tensor(True), torch.tensor([7]), torch.tensor([[1.5]], dtype=torch.float64),
          torch.tensor(4, dtype=torch.uint8), torch.tensor([0.1], dtype=torch.float16)):
    print(repr(t.item()), type(t.item()).__name__, int(t), float(t), bool(t), t.tolist())
attempt("int()", lambda: int(torch.tensor([1, 2])))
attempt("float()", lambda: float(torch.ones(2, 2)))
attempt("bool()", lambda: bool(torch.tensor([True, False])))
attempt("if tensor", lambda: "yes" if torch.tensor([1, 1]) else "no")
attempt("empty bool", lambda: bool(torch.tensor([])))
attempt("item of empty", lambda: torch.tensor([]).item())
print(int(torch.tensor(-2.7)), float(torch.tensor([3])), torch.tensor(5) + 0.5, range(10)[torch.tensor(3)], [1, 2, 3][torch.tensor(1)])
attempt("index float", lambda: [1, 2, 3][torch.tensor(1.)])

# --- NumPy interop ---------------------------------------------------------------------------
a = np.arange(6, dtype=np.float64).reshape(2, 3)
t = torch.from_numpy(a)
a[0, 0] = 100
t[1, 2] = -1
print(t, a, t.dtype)
t2 = torch.ones(3)
n2 = t2.numpy()
n2[1] = 5
t2.add_(1)
print(t2, n2, n2.dtype, type(n2).__name__)
n3 = np.asarray(t2)
n3[0] = 42
print(t2, n3.dtype)
c = torch.tensor(a)
c[0, 0] = 0
print(a[0, 0], torch.as_tensor(a) is not None, torch.as_tensor(a).dtype)
s = torch.as_tensor(a)
s[0, 1] = 7
print(a[0, 1], torch.as_tensor(a, dtype=torch.float32).dtype)
s32 = torch.as_tensor(a, dtype=torch.float32)
s32[0, 2] = 9
print(a[0, 2], torch.as_tensor([1, 2]).dtype, torch.as_tensor(t2) is t2, torch.as_tensor(t2, dtype=torch.float64) is t2)
for arr in (np.zeros(2), np.zeros(2, np.float32), np.zeros(2, np.int32), np.zeros(2, np.int64), np.zeros(2, np.bool_),
            np.zeros(2, np.uint8), np.zeros(2, np.int16), np.zeros(2, np.float16), np.zeros(2, np.complex64), np.array(3.5)):
    print(arr.dtype, torch.from_numpy(arr).dtype, torch.tensor(arr).dtype, torch.as_tensor(arr).shape)
# (flambeau has no uint16/uint32/uint64, so its list of supported types is shorter: print up to the list)
for bad in (np.array(["a"], dtype=object), np.array(["a"]), np.array([1], dtype="datetime64[s]")):
    try:
        torch.from_numpy(bad)
    except TypeError as e:
        print("from_numpy", bad.dtype, "!!", str(e).split(". ")[0])
attempt("from_numpy list", lambda: torch.from_numpy([1, 2]))
attempt("numpy of grad", lambda: torch.ones(2, requires_grad=True).numpy())
print(torch.ones(2, requires_grad=True).detach().numpy(), torch.ones(2, requires_grad=True).numpy(force=True))
print(torch.tensor([1., 2.], dtype=torch.float16).numpy().dtype, torch.tensor([True]).numpy().dtype)

# numpy scalars with tensors
ft = torch.tensor([1.0, 2.0])
it = torch.tensor([1, 2])
for label, r in [("f64*t", np.float64(2) * ft), ("t*f32", ft * np.float32(2)), ("t+f64", ft + np.float64(0.5)),
                 ("i*f64", it * np.float64(2)), ("i+i64", it + np.int64(3)), ("i32+t", np.int32(3) + it),
                 ("t/i64", it / np.int64(2)), ("h*f64", ft.half() * np.float64(2))]:
    print(label, type(r).__name__, r.dtype, r)
print(type(np.float32(2) * ft).__name__, float(ft.sum()) * np.float64(1), type(ft.sum().item() * np.float64(1)).__name__)

# strides, writability, tolist
rev = np.arange(4)[::-1]
attempt("negative stride", lambda: torch.from_numpy(rev))
attempt("tensor of negative stride", lambda: torch.tensor(rev))
print(torch.from_numpy(rev.copy()), torch.as_tensor(rev.copy()), torch.from_numpy(np.arange(8).reshape(2, 4)[:, ::2]).stride())
print(torch.from_numpy(np.asfortranarray(np.zeros((2, 3)))).stride(), torch.from_numpy(np.arange(6).reshape(2, 3).T).is_contiguous())
ro = np.arange(3.0)
ro.flags.writeable = False
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    tr = torch.from_numpy(ro)
    print(tr, [type(x.message).__name__ for x in w], [str(x.message).split(".")[0] for x in w])
print(torch.tensor([[1, 2], [3, 4]]).tolist(), torch.tensor([[1.5], [2.]]).tolist(), torch.tensor([True]).tolist(),
      torch.tensor(3.5).tolist(), type(torch.tensor([1])[0].tolist()).__name__, torch.zeros(2, 0).tolist())
print([type(v).__name__ for v in torch.tensor([1, 2], dtype=torch.uint8).tolist()], torch.tensor([0.1], dtype=torch.float16).tolist(),
      torch.tensor([1 + 2j]).tolist(), torch.tensor(np.float32(0.1)).tolist(), np.asarray(torch.tensor([[1, 2]])).shape)
