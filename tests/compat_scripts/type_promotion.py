"""Type promotion as course code meets it: tables of result types, in-place casts, inference, conversions."""
import warnings

import numpy as np
import torch

torch.manual_seed(0)


def attempt(label, fn):
    try:
        out = fn()
        print(label, "->", out)
    except Exception as e:      # the message is part of what is compared
        print(label, "!!", type(e).__name__, str(e).splitlines()[0] if str(e) else "")


def short(dt):
    return str(dt).replace("torch.", "")


DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
          torch.float16, torch.float32, torch.float64, torch.complex64, torch.complex128]
NAMES = ["b", "u8", "i8", "i16", "i32", "i64", "f16", "f32", "f64", "c64", "c128"]


def name(dt):
    return "-" if dt is None else NAMES[DTYPES.index(dt)]


def sample(dt, shape=(2,)):
    if dt == torch.bool:
        return torch.ones(shape, dtype=dt)
    return torch.full(shape, 2, dtype=dt)


# --- promote_types / can_cast / result_type tables ---------------------------------------
print("promote_types")
print("      " + " ".join(f"{n:>5}" for n in NAMES))
for n, a in zip(NAMES, DTYPES):
    row = [NAMES[DTYPES.index(torch.promote_types(a, b))] for b in DTYPES]
    print(f"{n:>5} " + " ".join(f"{r:>5}" for r in row))
print("can_cast (from row to column)")
for n, a in zip(NAMES, DTYPES):
    print(f"{n:>5} " + "".join("1" if torch.can_cast(a, b) else "." for b in DTYPES))

print("tensor op tensor: dims + dims, 0-d + dims, dims + 0-d")
for n, a in zip(NAMES, DTYPES):
    row = []
    for b in DTYPES:
        x, y = sample(a), sample(b)
        r1 = (x + y).dtype
        # (float16 with a complex 0-d tensor gives complex32, a dtype flambeau lacks)
        r2 = None if b == torch.float16 and a.is_complex else (sample(a, ()) + y).dtype
        r3 = None if a == torch.float16 and b.is_complex else torch.result_type(x, sample(b, ()))
        row.append(f"{name(r1)}/{name(r2)}/{name(r3)}")
    print(f"{n:>5} " + " ".join(row))

print("tensor op python scalar: bool int float complex")
for n, a in zip(NAMES, DTYPES):
    x = sample(a)
    scalars = (True, 3, 2.5) if a == torch.float16 else (True, 3, 2.5, 1j)
    row = [name(torch.result_type(x, s)) for s in scalars] + [name((x * s).dtype) for s in scalars]
    print(f"{n:>5} " + " ".join(row))
print(torch.result_type(2, 3), torch.result_type(2, True), torch.result_type(2.0, 1j), torch.result_type(True, False))
print(torch.result_type(torch.tensor(1.0, dtype=torch.float64), torch.tensor([1], dtype=torch.int32)))
print(torch.result_type(torch.tensor(1, dtype=torch.int64), torch.tensor([1], dtype=torch.uint8)))
print(torch.result_type(torch.tensor(1.0, dtype=torch.float64), torch.tensor([1], dtype=torch.float16)))
print(torch.result_type(torch.tensor(1j), torch.tensor([1.0], dtype=torch.float64)))
print(torch.result_type(torch.tensor(1j, dtype=torch.complex128), torch.tensor([1.0], dtype=torch.float32)))
print(torch.result_type(torch.tensor(1.5), 2), torch.result_type(torch.tensor(True), 2.0))
print((torch.tensor(2.0, dtype=torch.float64) * torch.ones(2)).dtype, (torch.tensor(300) + torch.ones(2, dtype=torch.uint8)))
print((torch.tensor(3.5, dtype=torch.float64) + torch.tensor(1)).dtype, (torch.tensor(1) + torch.tensor([1], dtype=torch.int8)).dtype)
print((torch.ones((), dtype=torch.float16) + torch.ones(()) ).dtype, (torch.ones(0) + torch.ones((), dtype=torch.float64)).dtype)
print(torch.promote_types(torch.float16, torch.int64), torch.promote_types(torch.complex64, torch.float64))
attempt("result_type no tensor", lambda: torch.result_type(np.float32(1), 2))
print(torch.promote_types(torch.float32, float), torch.promote_types(int, torch.uint8), torch.promote_types(bool, complex))
print(torch.can_cast(float, torch.int32), torch.can_cast(int, torch.float16), torch.can_cast(torch.bool, bool))
attempt("promote_types str", lambda: torch.promote_types(torch.float32, "float64"))
attempt("can_cast None", lambda: torch.can_cast(None, torch.float32))

# --- in-place ops and out= whose result cannot be cast ------------------------------------
il = torch.tensor([1, 2, 3])
fl = torch.tensor([0.5, 1.5, 2.5])
bl = torch.tensor([True, False, True])
u8 = torch.tensor([1, 2, 200], dtype=torch.uint8)
attempt("long += float tensor", lambda: il.clone().__iadd__(fl))
attempt("long *= 0.5", lambda: il.clone().mul_(0.5))
attempt("long /= 2", lambda: il.clone().div_(2))
attempt("long.div_ floor", lambda: il.clone().div_(2, rounding_mode='floor'))
attempt("long //= 2", lambda: il.clone().__ifloordiv__(2))
attempt("bool += bool", lambda: bl.clone().add_(bl))
attempt("bool *= 2", lambda: bl.clone().mul_(2))
attempt("uint8 += int64", lambda: u8.clone().add_(il))
attempt("uint8 += 300", lambda: u8.clone().add_(300))
attempt("float += complex", lambda: fl.clone().add_(1j))
attempt("float32 += float64", lambda: fl.clone().add_(fl.double()))
attempt("float16 += float32", lambda: fl.half().add_(fl))
attempt("long.sub_ bool", lambda: il.clone().sub_(bl))
attempt("long.pow_ 2.0", lambda: il.clone().pow_(2.0))
attempt("long.pow_ 2", lambda: il.clone().pow_(2))
attempt("long.sqrt_", lambda: il.clone().sqrt_())
attempt("long.exp_", lambda: il.clone().exp_())
attempt("long.clamp_ 1.5", lambda: il.clone().clamp_(1.5))
attempt("long.addcmul_", lambda: il.clone().addcmul_(il, fl))
attempt("long.lerp_", lambda: il.clone().lerp_(il, 0.5))
attempt("long.abs_", lambda: il.clone().neg_().abs_())
attempt("long.copy_ float", lambda: il.clone().copy_(torch.tensor([1.9, -2.9, 3.5])))
attempt("bool.copy_ float", lambda: bl.clone().copy_(torch.tensor([0.0, 0.1, -2.0])))
attempt("long[...] = float", lambda: il.clone().__setitem__(0, 2.7) or "ok")
attempt("add out=long", lambda: torch.add(fl, fl, out=torch.empty(3, dtype=torch.long)))
attempt("add out=float16", lambda: torch.add(fl, fl, out=torch.empty(3, dtype=torch.float16)))
attempt("add out=double", lambda: torch.add(il, il, out=torch.empty(3, dtype=torch.float64)))
attempt("mul out=int32", lambda: torch.mul(il, 2, out=torch.empty(3, dtype=torch.int32)))
attempt("div out=long", lambda: torch.div(il, 2, out=torch.empty(3, dtype=torch.long)))
attempt("eq out=float", lambda: torch.eq(il, 2, out=torch.empty(3)))
attempt("sum out=long", lambda: torch.sum(fl, 0, out=torch.empty((), dtype=torch.long)))
attempt("exp out=long", lambda: torch.exp(fl, out=torch.empty(3, dtype=torch.long)))
attempt("mm out=double", lambda: torch.mm(fl[None], fl[:, None], out=torch.empty(1, 1, dtype=torch.float64)))

# --- division, floor division, remainder across types -------------------------------------
for a_, b_ in [(il, 2), (il, 2.0), (il, torch.tensor(2)), (u8, 3), (u8, -3), (torch.tensor([-7, 7], dtype=torch.int8), 2),
               (il, fl), (bl, 2), (fl.half(), 2), (il.int(), torch.tensor([2], dtype=torch.int16))]:
    q, fq, r = a_ / b_, a_ // b_, a_ % b_
    print(q.dtype, q, fq.dtype, fq.tolist(), r.dtype, r.tolist())
print(torch.tensor([7, -7]) / torch.tensor([2, 2]), torch.tensor(7) / 2, (torch.tensor(7) / 2).dtype, 5 / torch.tensor([2]))
print(torch.true_divide(torch.tensor([1, 2], dtype=torch.uint8), 2).dtype, torch.floor_divide(torch.tensor([7.5]), 2).dtype)
print(7.5 // torch.tensor([2]), 7 % torch.tensor([2.5]), -7 // torch.tensor([2], dtype=torch.int8), 2 ** torch.tensor([0.5]))
attempt("long % 0", lambda: torch.tensor([5]) % 0)
print(torch.tensor([5.0]) % 0, torch.tensor([5.0]) // 0, torch.tensor([-5.0]) // 0)

# --- bool arithmetic, comparisons, logical ops ---------------------------------------------
bm = torch.tensor([True, False, True])
attempt("-bool", lambda: -bm)
attempt("bool - bool", lambda: bm - bm)
attempt("torch.sub bool", lambda: torch.sub(bm, True))
attempt("bool.neg_", lambda: bm.clone().neg_())
print(bm + bm, bm * bm, bm + 1, bm * 1.5, bm.sum(), bm.sum().dtype, bm.sum(0, keepdim=True), bm.prod().dtype, bm.cumprod(0).dtype)
print(~bm, bm & True, bm | torch.tensor([False, False, True]), bm ^ bm, bm.int() - 1, 1 - bm.long(), bm.float() * -1)
attempt("logical_or number", lambda: torch.logical_or(bm, 0.0))
print(torch.logical_not(il), torch.logical_and(il, fl), torch.logical_or(bm, torch.tensor(0.0)), torch.logical_xor(fl, fl).dtype)
print(il > fl, (il > fl).dtype, il == 2.0, fl <= il, u8 < -1, u8 > torch.tensor(-1), torch.eq(bm, 1), torch.maximum(il, fl))
print(torch.minimum(u8, torch.tensor([3, 3, 3], dtype=torch.int8)), torch.max(bm), torch.gt(il, 1.5).any(), il.eq(il.float()).all())
attempt("isclose long double", lambda: torch.isclose(il, il.double()))
attempt("allclose float double", lambda: torch.allclose(fl, fl.double()))
attempt("equal long float", lambda: torch.equal(il, il.float()))
attempt("equal bool long", lambda: torch.equal(bm, bm.long()))

# --- torch.tensor inference from lists and NumPy -------------------------------------------
for data in ([True, False], [True, 2], [1, 2.0], [True, 2.5], [1, 2j], [[1, 2], [3.0, 4]], [[True], [1.5]], [0.5, True, 1j],
             [np.float32(1), np.float64(2)], [np.int8(1), 3], [np.float16(1), 2.0], [np.bool_(True), False],
             np.float32(1.5), np.int16(7), np.bool_(True), np.array([1, 2], dtype=np.int32), np.array(2.5, dtype=np.float16),
             np.array([[1, 2]], dtype=np.uint8), np.array([True, False])):
    t = torch.tensor(data)
    print(t.dtype, t.shape, t.tolist(), end=" | ")
print()
for arr in (np.array([1, 2], dtype=np.int32), np.array([1.5], dtype=np.float16), np.array([True]), np.array([3, 4])):
    a1, a2 = torch.as_tensor(arr), torch.from_numpy(arr)
    print(a1.dtype, a2.dtype, (a2 + 1).dtype, (a2 + 0.5).dtype, (a2 * fl[:1]).dtype, torch.as_tensor(arr, dtype=torch.float32).dtype)
attempt("tensor uint16 list", lambda: torch.tensor(np.array([1], dtype=np.uint16).tolist()).dtype)
print(torch.tensor([1, 2]) * np.float32(2), (torch.tensor([1, 2]) + np.int64(1)).dtype, (torch.ones(2, dtype=torch.int8) + np.int64(1)).dtype)

# --- default dtype -------------------------------------------------------------------------
torch.set_default_dtype(torch.float64)
print(torch.tensor([1.5]).dtype, torch.tensor(2).dtype, torch.tensor([1j]).dtype, torch.zeros(2).dtype, torch.arange(3).dtype,
      torch.arange(0, 1, 0.5).dtype, torch.linspace(0, 1, 3).dtype, torch.full((2,), 1.5).dtype, torch.rand(1).dtype)
print((torch.tensor([1, 2]) * 0.5).dtype, (torch.tensor([1, 2]) / 2).dtype, (torch.ones(2, dtype=torch.float32) * 2.5).dtype,
      torch.result_type(torch.tensor([1]), 1.0), (torch.tensor([1], dtype=torch.int32) + 1j).dtype, torch.tensor(np.float32(1)).dtype)
print(torch.empty(1).dtype, torch.ones(2, 2).mean().dtype, torch.tensor([1, 2]).float().dtype, torch.eye(2).dtype)
torch.set_default_dtype(torch.float32)
print(torch.get_default_dtype(), torch.tensor([1.5]).dtype, (torch.tensor([1]) / 2).dtype, torch.tensor([1j]).dtype)

# --- conversions ----------------------------------------------------------------------------
v = torch.tensor([-2.7, -0.5, 0.5, 2.7, 255.9])
print(v.long(), v.int(), v.to(torch.int8), v.abs().byte(), v.bool(), v.half(), v.double().dtype, v.type(torch.int16))
print(torch.tensor([-1, -2, 256, 300]).to(torch.uint8), torch.tensor([200, 128], dtype=torch.uint8).to(torch.int8),
      torch.tensor([70000]).short(), torch.tensor([2 ** 40]).int(), torch.tensor([1, 0, -3]).bool())
print(torch.tensor([0.1, 1e-8, 70000.0]).half(), torch.tensor([1 + 2j]).real.dtype, torch.tensor([True, False]).float(),
      torch.tensor([3]).type(), v.type('torch.LongTensor'), v.to(il).dtype, v.to(dtype=torch.float64).dtype, v.long().float())
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print(torch.tensor([1 + 2j]).float(), [str(w.message).split(" (Triggered")[0] for w in caught])
attempt("int(2.9)", lambda: int(torch.tensor(2.9)))
attempt("long of nan", lambda: torch.tensor([float('nan')]).bool())

# --- where / cat / stack / masks with mixed dtypes ---------------------------------------
mask = torch.tensor([True, False, True])
print(torch.where(mask, il, fl), torch.where(mask, il, 2.5), torch.where(mask, 1, 0), torch.where(mask, 1.0, 0).dtype)
print(torch.where(mask, u8, il.int()), torch.where(mask, fl.half(), 0.5).dtype, torch.where(mask, fl, torch.tensor(1.0, dtype=torch.float64)).dtype)
print(torch.cat([il, fl]), torch.cat([u8, il.to(torch.int8)]), torch.cat([bm, il]).dtype, torch.cat([fl.half(), fl]).dtype)
print(torch.stack([il, fl]).dtype, torch.stack([bm, u8]).dtype, torch.stack([fl, fl.double()]).dtype, torch.hstack([il, fl.half()]).dtype)
attempt("cat out=long", lambda: torch.cat([il, fl], out=torch.empty(6, dtype=torch.long)))
for vals in (2.7, True, torch.tensor(2.7), torch.tensor(3, dtype=torch.uint8)):
    a1 = il.clone()
    a1[mask] = vals
    a2 = il.clone().masked_fill_(mask, vals)
    print(a1, a2, end=" | ")
    attempt("index_put_", lambda: il.clone().index_put_((torch.tensor([0, 2]),), torch.as_tensor(vals)))
print()
print(fl.clone().masked_fill(mask, 3), bm.clone().masked_fill(mask, 0), u8.masked_fill(mask, -1), fl.masked_fill(mask, True))
attempt("masked_fill 1d value", lambda: il.masked_fill(mask, torch.tensor([1.0])))
attempt("index_put_ float into long accumulate", lambda: il.clone().index_put_((torch.tensor([0]),), torch.tensor([1.5]), accumulate=True))
attempt("index_put_ double into float", lambda: fl.clone().index_put_((torch.tensor([0]),), torch.tensor([1.5], dtype=torch.float64)))
attempt("masked_fill 300 into uint8", lambda: u8.masked_fill(mask, 300))
attempt("masked_fill 1.5 into long", lambda: il.masked_fill(mask, 1.5))

# --- factory dtype inference -----------------------------------------------------------------
print(torch.full((2,), 3).dtype, torch.full((2,), True).dtype, torch.full((2,), 1.5).dtype, torch.full((2,), 1j).dtype)
print(torch.arange(5).dtype, torch.arange(5.0).dtype, torch.arange(0, 5, 2).dtype, torch.arange(0, 1, 0.25), torch.arange(0, 5, 1.5))
print(torch.arange(np.int32(3)).dtype, torch.arange(torch.tensor(3)).dtype, torch.arange(torch.tensor(2.5)).dtype, torch.arange(3, dtype=torch.uint8))
print(torch.linspace(0, 10, 3).dtype, torch.linspace(0, 10, 3, dtype=torch.int64), torch.logspace(0, 2, 3).dtype, torch.zeros_like(il, dtype=torch.float).dtype)
print(torch.ones_like(bm), torch.full_like(il, 2.7), torch.full_like(fl, 7), torch.empty_like(u8).dtype, torch.rand_like(fl.double()).dtype)
attempt("rand_like long", lambda: torch.rand_like(il))
attempt("randn int dtype", lambda: torch.randn(2, dtype=torch.long))
print(torch.randint(0, 5, (3,)).dtype, torch.randint(0, 5, (3,), dtype=torch.uint8).dtype, torch.randperm(3).dtype, torch.eye(2, dtype=torch.bool))
print(torch.tensor([]).dtype, torch.tensor([[]]).dtype, torch.tensor([], dtype=torch.long).dtype, torch.zeros(0, dtype=torch.bool).sum().dtype)

# --- reductions and 0-d operands in other ops --------------------------------------------
print("sum prod cumsum max of each real dtype")
for n, dt in zip(NAMES[:-2], DTYPES[:-2]):
    x = sample(dt, (3,))
    print(f"{n:>5}", name(x.sum().dtype), name(x.prod().dtype), name(x.cumsum(0).dtype), name(x.max().dtype),
          name(x.sum(dtype=torch.float64).dtype), name((x * torch.tensor(2.0)).dtype), name(torch.maximum(x, sample(dt, (3,))).dtype))
z64 = torch.tensor(2.5, dtype=torch.float64)
print(torch.maximum(fl, z64).dtype, torch.where(mask, fl, z64).dtype, torch.clamp(fl, z64, z64 * 2).dtype, torch.pow(fl, z64).dtype)
print(torch.atan2(il, z64).dtype, torch.lerp(fl, fl * 2, z64).dtype, torch.fmod(il, z64).dtype)
attempt("max of complex", lambda: torch.ones(2, dtype=torch.complex64).max())
attempt("dist float double", lambda: torch.dist(fl, fl.double()))
