"""PyTorch's CPU random numbers in NumPy: the same numbers as torch's for the same seed.

Note [torch's CPU generator]
~~~~~~~~~~~~~~~~~~~~~~~~~~~~
torch's CPU generator (ATen's CPUGeneratorImpl) is a 32-bit Mersenne Twister seeded with
init_genrand(seed & 0xffffffff), the seeding NumPy's MT19937 calls legacy; its full 64-bit seed is
only remembered (initial_seed()). Its draws are random() (one 32-bit output) and random64() (two,
the first one the high half). Every CPU sampler turns those draws into numbers one element at a
time, in the order torch's TensorIterator visits the output (its memory order), so the engine below
hands out the raw stream in bulk and the samplers transform whole arrays at once:

- uniform floats: the low 24 (float, half: they are drawn as float) or 53 (double, from random64())
  bits of a draw, times 2^-bits, then x * (to - from) + from, rounded once (a fused multiply-add)
  where torch's kernels are built with FMA (its AVX2 and AVX-512 kernels), twice elsewhere;
- integers: random() % range + from, or random64() when the range reaches 2^28; random_() with no
  bounds takes a draw modulo the dtype's range (random64() for int64 and double);
- normal: contiguous outputs of 16 or more elements take one uniform per element and turn blocks of
  16 into 8 Box-Muller pairs (the last, partial block is recomputed over the last 16 elements from
  16 fresh uniforms); float and half do that in float math, with the vectorized log and sincos of
  ATen's avx_mathfun.h where torch runs its AVX2 kernels. Other outputs draw pairs of 53-bit
  uniforms, one Box-Muller pair per two elements, the second value kept for the next normal draw
  (the generator's cached normal, part of its state, cleared by manual_seed);
- bernoulli(p) compares a 53-bit uniform (24-bit for float and half probabilities) with p; exponential,
  geometric, cauchy and log_normal transform 53-bit uniforms in double;
- randperm is Fisher-Yates: position i swaps with i + random() % (n - i) (from 2^32 / 20 elements on,
  torch's inside-out variant with random64());
- multinomial is exponential_ then the top k of p / q, or with replacement one 53-bit uniform per
  sample searched in the row's normalized cumulative sums.

bernoulli_(p) for a number p: torch's sources have an MKL path (a VSL MCG31 stream seeded by one
random()) for Intel CPUs, but torch 2.13's CPU wheel is built without it (libtorch_cpu has no VSL stream
functions), and on an Intel Xeon with MKL available its numbers are those of the default kernel above,
which flambeau uses on every CPU (exponential_'s MKL path likewise).

torch computes its transcendental functions with the platform's libm (math's functions here): the
samplers call those for arrays up to _EXACT_LIBM elements, and NumPy's vectorized functions (which may
differ in the last bit) for larger ones. torch's poisson and its gamma, binomial and Dirichlet samplers
are rejection loops per element, run here one element at a time as torch runs them (Note [torch's
rejection samplers]). get_state() is torch's 5056-byte CPUGeneratorImplState.
"""
import ctypes
import ctypes.util
import itertools
import math
import os
import platform
import struct

import numpy as np

DEFAULT_SEED = 67280421310721
_STATE_N = 624
STATE_SIZE = 5056           # sizeof(CPUGeneratorImplState): the 5048-byte legacy part, a float, a bool
_EXACT_LIBM = 1 << 16       # arrays up to this size go through the platform's libm one value at a time
_TWO_PI = 2.0 * math.pi
_M53 = np.uint64((1 << 53) - 1)
_M24 = np.uint64((1 << 24) - 1)


def _torch_kernels():
    """Which of torch's CPU kernels its dispatcher runs here: 'avx2' (x86 with AVX2 and FMA, which
    its AVX-512 kernels share for these samplers), 'default' (other x86, or ATEN_CPU_CAPABILITY=default)
    or 'other' (another architecture, whose compilers fuse a * b + c too)."""
    if platform.machine().lower() not in ("x86_64", "amd64", "x86", "i386", "i686"):
        return "other"
    if os.environ.get("ATEN_CPU_CAPABILITY", "").lower() == "default":
        return "default"
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:                                                    # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_features__ as features
    return "avx2" if features.get("AVX2") and features.get("FMA3") else "default"


_KERNELS = _torch_kernels()
_FUSED = _KERNELS != "default"          # whether torch's compiler fused a * b + c into one rounding


# A large draw (a VGG classifier's 100M weights) works slice by slice: the temporaries of one slice
# stay in cache, several times faster than tensor-sized temporaries, with the same values.
_SLICE = 1 << 18


class Engine:
    """torch's CPU generator state: the Mersenne Twister, the seed it was given, the cached normals."""

    def __init__(self, seed=DEFAULT_SEED):
        self._bits = np.random.MT19937(0)
        self.manual_seed(seed)

    def manual_seed(self, seed):
        """Seed with a 64-bit seed (its low 32 bits seed the twister); forget the cached normals."""
        self._seed = int(seed) & 0xFFFF_FFFF_FFFF_FFFF
        try:                                        # init_genrand: NumPy's legacy seeding of MT19937
            self._bits._legacy_seeding(self._seed & 0xFFFF_FFFF)
        except AttributeError:                      # (a private method: RandomState seeds the same way)
            state = np.random.RandomState(self._seed & 0xFFFF_FFFF).get_state(legacy=False)
            self._bits.state = {"bit_generator": "MT19937", "state": state["state"]}
        self._fresh = True          # torch's state says next=0 until the first draw after seeding
        self.next_double_normal = None
        self.next_float_normal = None
        return self

    def initial_seed(self):
        return self._seed

    # -- raw draws ------------------------------------------------------------------------------
    def random(self, n):
        """n draws of random(), 32 bits each, as uint64."""
        if n <= 0:
            return np.empty(0, np.uint64)
        self._fresh = False
        return self._bits.random_raw(n)

    def random64(self, n):
        """n draws of random64(): two 32-bit draws, the first one the high half."""
        raw = self.random(2 * n)
        return (raw[0::2] << np.uint64(32)) | raw[1::2]

    def uniform_double(self, n):
        """n 53-bit uniforms in [0, 1) (torch's uniform_real_distribution<double>)."""
        return (self.random64(n) & _M53).view(np.int64).astype(np.float64) * 2.0 ** -53

    def uniform_float(self, n):
        """n 24-bit uniforms in [0, 1), as float32 (torch's uniform_real_distribution<float>)."""
        out = np.empty(n, np.float32)
        for start in range(0, n, _SLICE):       # consecutive draws, without n-sized uint64 temporaries
            raw = self.random(min(_SLICE, n - start)).astype(np.uint32)
            out[start:start + len(raw)] = (raw & np.uint32(0xFF_FFFF)).view(np.int32)
        out *= np.float32(2.0 ** -24)
        return out

    # -- state ----------------------------------------------------------------------------------
    def get_state(self):
        """torch's CPUGeneratorImplState: seed, left, seeded, next, the 624 words, the legacy normal
        fields (only normal_y, the cached double normal, is used), the cached float normal."""
        st = self._bits.state["state"]
        pos = int(st["pos"])
        nxt = 0 if (self._fresh and pos == _STATE_N) else pos
        left = _STATE_N + 1 - pos
        blob = bytearray(STATE_SIZE)
        struct.pack_into("<QiiQ", blob, 0, self._seed, left, 1, nxt)
        blob[24:24 + 8 * _STATE_N] = np.asarray(st["key"], dtype="<u8").tobytes()
        dn = self.next_double_normal
        struct.pack_into("<dddi", blob, 24 + 8 * _STATE_N, 0.0, 0.0 if dn is None else dn, 0.0, dn is not None)
        fn = self.next_float_normal
        struct.pack_into("<f?", blob, 5048, 0.0 if fn is None else fn, fn is not None)
        return bytes(blob)

    def set_state(self, blob):
        if len(blob) != STATE_SIZE:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {STATE_SIZE} but found the input RNG "
                               f"state size to be {len(blob)}")
        seed, left, seeded, nxt = struct.unpack_from("<QiiQ", blob, 0)
        if not (seeded and 0 < left <= _STATE_N and nxt <= _STATE_N):
            raise RuntimeError("Invalid mt19937 state")
        key = np.frombuffer(blob, dtype="<u8", count=_STATE_N, offset=24).astype(np.uint32)
        _, normal_y, _, normal_valid = struct.unpack_from("<dddi", blob, 24 + 8 * _STATE_N)
        float_normal, float_valid = struct.unpack_from("<f?", blob, 5048)
        # the twister's next word: torch's states have next = 625 - left (or next = 0, left = 1 right
        # after seeding, which draws the same); the position follows left, when the next twist is due
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": _STATE_N + 1 - left}}
        self._seed = seed
        self._fresh = nxt == 0 and left == 1
        self.next_double_normal = normal_y if normal_valid else None
        self.next_float_normal = float_normal if float_valid else None


def iteration_order(a):
    """The axes of array a from the largest stride to the smallest: the order in which torch's
    TensorIterator visits an output (its memory order), which its serial samplers fill."""
    return sorted(range(a.ndim), key=lambda d: -abs(a.strides[d]))


def iteration_axes(shape, strides):
    """The axes of a TensorIterator over operands of this shape and these strides (0 where broadcast),
    outermost first: torch's reorder_dimensions, an insertion sort comparing two axes by the strides of
    the first operand with neither broadcast (ties: the smaller axis inside)."""
    def outer(d0, d1):          # 1: d0 goes outside d1, -1: inside, 0: no operand tells
        for st in strides:
            if st[d0] == 0 or st[d1] == 0:
                continue
            if st[d0] != st[d1]:
                return -1 if st[d0] < st[d1] else 1
            if shape[d0] > shape[d1]:
                return 1
        return 0

    perm = list(range(len(shape)))[::-1]            # innermost first
    for i in range(1, len(perm)):
        d1 = i
        for d0 in range(i - 1, -1, -1):
            order = outer(perm[d0], perm[d1])
            if order > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif order < 0:
                break
    return perm[::-1]


def iteration_view(a):
    """A view of a whose C order is torch's order of visiting a's elements."""
    if a.ndim < 2 or a.flags.c_contiguous:
        return a
    return a.transpose(iteration_order(a))


# -- exact arithmetic: torch's fused multiply-adds, and its libm ----------------------------------
def _two_sum(a, b):
    """s, e with s = fl(a + b) and s + e == a + b exactly (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a):
    c = a * 134217729.0                 # 2^27 + 1 (Veltkamp)
    hi = c - (c - a)
    return hi, a - hi


def _two_prod(a, b):
    """p, e with p = fl(a * b) and p + e == a * b exactly (Dekker)."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _sum_to_odd(a, b):
    """a + b rounded to odd: the neighbour with an odd last bit when a + b is not a double, which a
    later rounding to nearest cannot round the wrong way (Boldo and Melquiond)."""
    s, e = _two_sum(a, b)
    inexact_even = (e != 0) & ((s.view(np.int64) & 1) == 0)
    if inexact_even.any():
        s = np.where(inexact_even, np.nextafter(s, np.where(e > 0, np.inf, -np.inf)), s)
    return s


def fma64(a, b, c):
    """a * b + c with one rounding, in float64 (std::fma)."""
    a, b, c = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(c, np.float64))
    ph, pl = _two_prod(a, b)
    sh, sl = _two_sum(c, ph)
    return sh + _sum_to_odd(sl, pl)


def fma32(a, b, c):
    """a * b + c with one rounding, in float32. The product of two floats is exact in double; the sum,
    rounded to double and then to float, is rounded right unless the double lands on a tie between
    two floats (or among float32's subnormals): those few are summed again, rounded to odd."""
    p = np.multiply(a, b, dtype=np.float64)
    s = p + c
    bits = s.view(np.int64)
    redo = ((bits & 0x1FFF_FFFF) == 0x1000_0000) | (np.abs(s) < 2.0 ** -125)
    out = s.astype(np.float32)
    if redo.any():
        c = np.broadcast_to(np.asarray(c, np.float64), s.shape)
        out[redo] = _sum_to_odd(p[redo], c[redo]).astype(np.float32)
    return out


def _mul_add(a, b, c, fma):
    """a * b + c as torch's kernel computes it: fused where its compiler fused it."""
    if not _FUSED:
        return a * b + c
    return fma(a, b, c)


def _libm(name, x):
    """The platform's libm function (torch's) on a float64 array; NumPy's for large arrays."""
    if x.size <= _EXACT_LIBM:
        return np.fromiter(map(getattr(math, name), x.ravel().tolist()), np.float64, x.size).reshape(x.shape)
    if name in ("sin", "cos"):
        return getattr(np, name)(x)
    # x87 extended precision rounds to the correctly rounded double far more often than NumPy's
    # double kernels (where long double is double, this is those kernels)
    return getattr(np, name)(x.astype(np.longdouble)).astype(np.float64)


def _by_slices(fn, x, rows):
    """x[i:i + rows] = fn(x[i:i + rows]) for consecutive slices of x (fn maps each row by itself)."""
    for start in range(0, len(x), rows):
        x[start:start + rows] = fn(x[start:start + rows])
    return x


# -- uniform ------------------------------------------------------------------------------------
def _opmath(dtype):
    return np.float64 if dtype == np.float64 else np.float32


def uniform(eng, n, dtype, lo, hi):
    """n samples of U[lo, hi) in dtype (float16/32/64), torch's uniform_kernel."""
    dtype = np.dtype(dtype).type
    if _opmath(dtype) is np.float64:
        x = eng.uniform_double(n)
        if (lo, hi) == (0.0, 1.0):
            return x
        out = _mul_add(x, hi - lo, lo, fma64)
    else:
        x = eng.uniform_float(n)
        if (lo, hi) == (0.0, 1.0) and dtype == np.float32:
            return x
        f, t = np.float32(lo), np.float32(hi)
        out = _by_slices(lambda part: _mul_add(part, t - f, f, fma32), x, _SLICE).astype(dtype, copy=False)
    to = dtype(hi)
    if (out == to).any():               # rounding reached `to`: torch gives `from` there
        out[out == to] = dtype(lo)
    return out


# -- normal -------------------------------------------------------------------------------------
def normal_serial(eng, n, mean=0.0, std=1.0):
    """n normals in double, one Box-Muller pair per two values, the odd one out cached in eng."""
    head = []
    if n and eng.next_double_normal is not None:
        head, eng.next_double_normal = [eng.next_double_normal], None
    m = n - len(head)
    pairs = (m + 1) // 2
    u = eng.uniform_double(2 * pairs)
    u1, u2 = u[0::2], u[1::2]
    radius = np.sqrt(-2.0 * _libm("log1p", -u2))
    theta = _TWO_PI * u1
    z = np.empty(2 * pairs)
    z[0::2] = radius * _libm("cos", theta)
    z[1::2] = radius * _libm("sin", theta)
    if m % 2:
        eng.next_double_normal = float(z[-1])
    z = np.concatenate((np.asarray(head, np.float64), z[:m])) if head else z[:m]
    if (mean, std) == (0.0, 1.0):
        return z
    return _mul_add(z, std, mean, fma64)


def normal(eng, n, dtype, mean=0.0, std=1.0, contiguous=True):
    """n samples of N(mean, std^2) in dtype, torch's normal_kernel: blocks of 16 (normal_fill) for
    contiguous outputs of 16 or more elements, else the serial Box-Muller."""
    if n < 16 or not contiguous:
        z = normal_serial(eng, n, mean, std)
        return (z.astype(np.float32) if dtype == np.float16 else z).astype(dtype, copy=False)   # as C++ casts
    if _opmath(dtype) is np.float64:
        draw, fill16 = eng.uniform_double, _fill16_double
    else:
        draw, fill16 = eng.uniform_float, (_fill16_float_avx2 if _KERNELS == "avx2" else _fill16_float)
    whole = n - n % 16
    # float and double fill the whole output with uniforms first, half only its whole blocks
    out = draw(n if dtype != np.float16 else whole)
    _by_slices(lambda blocks: fill16(blocks, mean, std), out[:whole].reshape(-1, 16), _SLICE // 16)
    if n % 16:                         # the last 16 again, from 16 fresh uniforms
        out = np.concatenate((out[:n - 16], fill16(draw(16).reshape(1, 16), mean, std).ravel()))
    return out.astype(dtype, copy=False)


def _finish_pairs(c, s, mean, std, fma):
    """Blocks of (r cos, r sin) -> [8 cos values, 8 sin values] times std plus mean (std::fma)."""
    out = np.concatenate((c, s), axis=1)
    return out if (mean, std) == (0.0, 1.0) else fma(out, std, mean)


def _fill16_double(u, mean, std):
    u1, u2 = 1.0 - u[:, :8], u[:, 8:]           # u1 in (0, 1] for the log
    radius = np.sqrt(-2.0 * _libm("log", u1))
    theta = _TWO_PI * u2
    return _finish_pairs(radius * _libm("cos", theta), radius * _libm("sin", theta), mean, std, fma64)


def _fill16_float(u, mean, std):
    """torch's portable NormalFill16 in float: logf, cosf and sinf correctly rounded (from double)."""
    u1 = (np.float32(1.0) - u[:, :8]).astype(np.float64)
    radius = np.sqrt(np.float32(-2.0) * np.log(u1).astype(np.float32))
    theta = (_TWO_PI * u[:, 8:].astype(np.float64)).astype(np.float32).astype(np.float64)
    c, s = np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)
    return _finish_pairs(radius * c, radius * s, np.float32(mean), np.float32(std), fma32)


# ATen's AVX2 NormalFill16 uses avx_mathfun.h's log256_ps and sincos256_ps (Cephes polynomials, after
# Julien Pommier's SSE versions), in float32 with GCC fusing each multiply with the add after it.
_F = np.float32
_LOG_P = tuple(_F(v) for v in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
                               1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
                               3.3333331174e-1))
_LOG_Q1, _LOG_Q2 = _F(-2.12194440e-4), _F(0.693359375)
_SQRTHF = _F(0.707106781186547524)
_DP = (_F(-0.78515625), _F(-2.4187564849853515625e-4), _F(-3.77489497744594108e-8))
_SIN_P = (_F(-1.9515295891e-4), _F(8.3321608736e-3), _F(-1.6666654611e-1))
_COS_P = (_F(2.443315711809948e-5), _F(-1.388731625493765e-3), _F(4.166664568298827e-2))
_FOPI = _F(1.27323954473516)


def _fused(a, b, c):
    """A fused float32 multiply-add (a, b floats: the product is exact in double)."""
    t = np.multiply(a, b, dtype=np.float64)
    t += c
    return t.astype(np.float32)


def _log_avx2(x):
    """log256_ps for x in [2^-24, 1]: x = m 2^e, m in [sqrt(1/2), sqrt(2)), a degree-9 polynomial in m - 1."""
    bits = x.view(np.int32)
    e = ((bits >> 23) - 126).astype(np.float32)
    m = ((bits & ~0x7F800000) | 0x3F000000).view(np.float32)           # in [0.5, 1)
    small = m < _SQRTHF
    e -= small
    x = m - _F(1.0)
    x += m * small                 # x + x - 1 where m < sqrt(1/2)
    z = x * x
    y = np.full_like(x, _LOG_P[0])
    for p in _LOG_P[1:]:
        y = _fused(y, x, p)
    y *= x
    y = _fused(y, z, e * _LOG_Q1)
    y -= z * _F(0.5)
    x += y
    x += e * _LOG_Q2               # exact products: fused or not, the same sum
    return x


def _sincos_avx2(x):
    """sincos256_ps for x >= 0: reduction by multiples of pi/4 in three parts, then the sine or the
    cosine polynomial by octant."""
    j = (x * _FOPI).astype(np.int32)
    j += 1
    j &= ~1
    y = j.astype(np.float32)
    x = x + y * _DP[0]             # y is 0, 2, 4, 6 or 8: these two products are exact
    x += y * _DP[1]
    x = _fused(y, _DP[2], x)
    z = x * x
    c = _fused(_fused(np.full_like(x, _COS_P[0]), z, _COS_P[1]), z, _COS_P[2])
    c *= z
    c = _fused(c, z, z * _F(-0.5))
    c += _F(1.0)
    s = _fused(_fused(np.full_like(x, _SIN_P[0]), z, _SIN_P[1]), z, _SIN_P[2])
    s *= z
    s = _fused(s, x, x)
    # by octant, as the AVX code does it with bit masks: which polynomial is the sine, and the signs
    first = ((j >> 1) & 1) - 1                            # all ones where the sine is s, else 0
    s, c = s.view(np.int32), c.view(np.int32)
    sin = (s & first) | (c & ~first)
    cos = (c & first) | (s & ~first)
    sin ^= (j & 4) << 29
    cos ^= (~(j - 2) & 4) << 29
    return sin.view(np.float32), cos.view(np.float32)


def _fill16_float_avx2(u, mean, std):
    radius = np.sqrt(_F(-2.0) * _log_avx2(_F(1.0) - u[:, :8]))
    sin, cos = _sincos_avx2(_F(_TWO_PI) * u[:, 8:])
    return _finish_pairs(radius * cos, radius * sin, _F(mean), _F(std), fma32)


# -- integers -----------------------------------------------------------------------------------
def random_from_to(eng, n, dtype, span, base):
    """n integers base + draw % span (span in [1, 2^64)), cast to dtype as torch does: through int64."""
    raw = eng.random64(n) if span >= 1 << 28 else eng.random(n)
    v = (raw % np.uint64(span) + np.uint64(base & 0xFFFF_FFFF_FFFF_FFFF)).view(np.int64)
    return _from_int64(v, dtype)


def random_full_range(eng, n, dtype):
    """n random64() draws as int64, cast to dtype (int64, float or double only)."""
    return _from_int64(eng.random64(n).view(np.int64), dtype)


def random_default(eng, n, dtype):
    """random_() with no bounds: a draw modulo the dtype's range (2^mantissa + 1 for floats)."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return (eng.random(n) & np.uint64(1)).astype(np.bool_)
    if dtype == np.int64:
        return (eng.random64(n) % np.uint64(1 << 63)).view(np.int64)
    if dtype == np.float64:
        return (eng.random64(n) % np.uint64((1 << 53) + 1)).view(np.int64).astype(np.float64)
    if dtype.kind == "f":
        span = (1 << (24 if dtype == np.float32 else 11)) + 1
    else:
        span = int(np.iinfo(dtype).max) + 1
    return (eng.random(n) % np.uint64(span)).view(np.int64).astype(dtype)


def _from_int64(v, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return v != 0
    return v.astype(dtype)             # C's conversions: wrapping for integers, rounding for floats


def randperm(eng, n):
    """torch's CPU randperm as int64: Fisher-Yates swapping position i with i + random() % (n - i);
    from 2^32 / 20 elements on, the inside-out shuffle with random64() % (i + 1)."""
    chunk = 1 << 22                                 # draws at a time, for large n
    if n < 0xFFFF_FFFF // 20:
        perm = list(range(n)) if n <= chunk else np.arange(n)      # (a list swaps faster, an array is smaller)
        for start in range(0, n - 1, chunk):
            stop = min(n - 1, start + chunk)
            offsets = eng.random(stop - start) % np.arange(n - start, n - stop, -1, dtype=np.uint64)
            targets = (offsets.view(np.int64) + np.arange(start, stop)).tolist()
            for i, j in zip(range(start, stop), targets):      # each swap depends on the last: one at a time
                perm[i], perm[j] = perm[j], perm[i]
        return np.asarray(perm, dtype=np.int64)
    perm = np.empty(n, np.int64)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        sources = eng.random64(stop - start) % np.arange(start + 1, stop + 1, dtype=np.uint64)
        for i, j in zip(range(start, stop), sources.tolist()):
            perm[i] = perm[j]
            perm[j] = i
    return perm


# -- other distributions --------------------------------------------------------------------------
def bernoulli_scalar(eng, n, p):
    """n Bernoulli(p) draws (torch's default CPU kernel: a 53-bit uniform below p)."""
    return eng.uniform_double(n) < p


def bernoulli_tensor(eng, probs):
    """One Bernoulli draw per probability (flat, in iteration order): double probabilities take 53-bit
    uniforms, the others 24-bit ones compared in float."""
    if probs.dtype == np.float64:
        return eng.uniform_double(probs.size) < probs
    return eng.uniform_float(probs.size) < probs.astype(np.float32)


def exponential(eng, n, lambd):
    """n samples of Exp(lambd) in double: -1 / lambd * log1p(-u)."""
    return (-1.0 / lambd) * _libm("log1p", -eng.uniform_double(n))


def geometric(eng, n, p):
    """n trial counts in double: ceil(log(u) / log1p(-p))."""
    u = eng.uniform_double(n)
    zero = u == 0
    logs = _libm("log", np.where(zero, 1.0, u))
    logs[zero] = -np.inf                        # the count is then +inf, as torch's
    return np.ceil(logs / math.log1p(-p))


def cauchy(eng, n, median, sigma):
    """n samples of Cauchy(median, sigma) in double: median + sigma tan(pi (u - 1/2))."""
    t = _libm("tan", math.pi * (eng.uniform_double(n) - 0.5))
    return _mul_add(np.float64(sigma), t, np.float64(median), fma64)


def log_normal(eng, n, mean, std):
    """n samples of exp(N(mean, std^2)) in double, from the serial Box-Muller (and its cache)."""
    return _libm("exp", normal_serial(eng, n, mean, std))


def multinomial(eng, probs, num_samples, replacement):
    """(rows, num_samples) category indices for a 2-D float array of rows of weights. Without
    replacement, or for one sample, torch takes the top num_samples of p / q with q ~ Exp(1) drawn in
    probs' dtype; with replacement, a 53-bit uniform per sample searched in the row's normalized
    cumulative sums (accumulated in probs' dtype, float for half)."""
    if not replacement or num_samples == 1:
        q = np.empty_like(probs)                    # laid out as probs, filled in its memory order
        view = iteration_view(q)
        e = exponential(eng, q.size, 1.0)
        view[...] = (e.astype(np.float32) if q.dtype == np.float16 else e).reshape(view.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            keys = (probs / q).reshape(-1, probs.shape[-1])
        if num_samples == 1:
            return np.argmax(keys, axis=1)[:, None]
        return np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    probs = probs.reshape(-1, probs.shape[-1])
    acc = np.float32 if probs.dtype == np.float16 else probs.dtype
    cum = np.cumsum(probs, axis=1, dtype=acc)
    cum /= cum[:, -1:]
    cum[:, -1] = 1
    out = np.empty((probs.shape[0], num_samples), np.int64)
    for row in range(probs.shape[0]):
        out[row] = np.searchsorted(cum[row].astype(np.float64), eng.uniform_double(num_samples), side="left")
    return out


# -- rejection samplers: gamma, Dirichlet, poisson, binomial --------------------------------------
# Note [torch's rejection samplers]
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
# torch's CPU _standard_gamma, _sample_dirichlet, poisson and binomial fill a fresh contiguous output one
# element at a time (a serial kernel: the parameters' logical order), each element drawing 53-bit uniforms
# until its test passes, so the number of draws depends on the values drawn. flambeau runs the same loops,
# element by element in Python, on uniforms pulled from the engine in blocks (_Uniforms), and puts the
# engine back just after the last uniform used. The loops are ATen's sample_gamma, sample_poisson and
# sample_binomial:
#
# - gamma(alpha): below 1, alpha is raised to alpha + 1 and the sample scaled by (1 - u)^(1 / alpha). Then
#   Marsaglia and Tsang (2000): d = alpha - 1/3, c = 1 / sqrt(9 d); draw a normal x until y = 1 + c x > 0,
#   v = y^3, u = 1 - uniform; accept d v when u < 1 - 0.0331 x^4 or log u < x^2 / 2 + d (1 - v + log v).
#   The normals are the serial Box-Muller's, sharing the generator's cached normal. 1/3 and 0.0331 are float
#   constants; for float inputs 1 / alpha, alpha + 1 and d are computed in float, the rest in double. The
#   sample is cast to the input's dtype and raised to its smallest normal number (NaN too);
# - Dirichlet: that gamma in double for each element, raised to double's smallest normal, divided by its
#   row's sum (added as torch's sum(-1) adds: row_sums), cast, and kept within [smallest normal, 1 - ulp];
# - poisson(lambda), in double: from 10 on Hoermann's transformed rejection (PTRS, 1993), the count C's
#   (int64_t) of k = floor(t) (INT64_MIN when out of range, as for lambda = inf). torch's compiled loop
#   tests and uses k as the double floor(t) itself (its compiler folded the round trip through int64;
#   measured with rates from 2^63 up): there a count can pass the test and come out as INT64_MIN.
#   Below 10, the number of uniforms whose running product stays above exp(-lambda). A negative or NaN
#   rate raises when its turn comes;
# - binomial(n, p): 0 for n <= 0 or p <= 0, n for p >= 1, n - binomial(n, 1 - p) for p > 1/2; then BTRS
#   (Hormann 1993) when n p >= 10, else inversion, summing geometric waiting times ceil(log u / log1p(-p))
#   until they pass n. n p, sqrt(n p (1 - p)), p / (1 - p), floor((n + 1) p), the count k and the sums
#   with n and k are computed in the input's dtype (log1p(-p) in float is libm's log1pf), the rest in
#   double. A NaN p gives NaN; a NaN n with p in (0, 1) never ends in torch: it raises here.
#
# Python's math raises where C returns inf or NaN (log(0), sqrt(-1), overflow): the loops test the few
# draws that reach such values from ordinary parameters (a uniform of exactly 0), and take C's semantics
# (_c_math) for the calls whose parameters are out of the ordinary (alpha < 0, n = inf).


def _load_libm():
    """lgamma and log1pf from the C math library torch calls (Python's math.lgamma is CPython's own);
    NumPy-based stand-ins where no such library loads."""
    names = [ctypes.util.find_library("m"), None, "ucrtbase"]
    for name in names:
        try:
            lib = ctypes.CDLL(name)
            lgamma, log1pf = lib.lgamma, lib.log1pf
        except (OSError, AttributeError, TypeError):
            continue
        lgamma.restype, lgamma.argtypes = ctypes.c_double, [ctypes.c_double]
        log1pf.restype, log1pf.argtypes = ctypes.c_float, [ctypes.c_float]
        return lgamma, log1pf
    return math.lgamma, lambda x: float(np.log1p(np.float32(x)))       # (may differ in the last bit)


_lgamma, _log1pf = _load_libm()
_FLOAT = struct.Struct("f")
_INF = math.inf
_INT64_MIN = -(1 << 63)
_TWO_63 = 2.0 ** 63
_FLOAT_INTEGERS = float(1 << 24)              # every integer up to this is a float
_ONE_THIRD = float(np.float32(1.0) / np.float32(3.0))          # sample_gamma's 1.0f / 3.0f
_SQUEEZE = float(np.float32(0.0331))
_TINY64 = float(np.finfo(np.float64).tiny)
_STIRLING_TAIL = (0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
                  0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
                  0.00925546218271273, 0.00833056343336287)


def _f32(x):
    """x rounded to float (C's (float) x: inf beyond float's range)."""
    try:
        return _FLOAT.unpack(_FLOAT.pack(x))[0]
    except OverflowError:
        return math.copysign(_INF, x)


def _c_math(fn, np_fn):
    """math's fn, with C's result (NumPy's, for the special values) where math raises."""
    def call(*args):
        try:
            return fn(*args)
        except (ValueError, OverflowError, ZeroDivisionError):
            with np.errstate(all="ignore"):
                return float(np_fn(*args))
    return call


_c_log, _c_sqrt, _c_pow = _c_math(math.log, np.log), _c_math(math.sqrt, np.sqrt), _c_math(math.pow, np.power)
_c_floor, _c_ceil = _c_math(math.floor, np.floor), _c_math(math.ceil, np.ceil)


class _Uniforms:
    """The engine's 53-bit uniforms one at a time (next: a C-level iterator over blocks drawn in bulk, of
    about the expected number of draws); close() leaves the engine just after the last uniform taken, as
    if each had been drawn alone."""
    _MOST = 1 << 16                 # uniforms per block at most

    def __init__(self, eng, expected):
        self._eng = eng
        self._wanted = int(expected) + 64
        self._block = iter(())
        self.next = itertools.chain.from_iterable(self._blocks()).__next__

    def _blocks(self):
        while True:
            size = min(self._MOST, max(256, self._wanted))
            self._wanted -= size
            self._start = (self._eng._bits.state, self._eng._fresh, size)
            self._block = iter(self._eng.uniform_double(size).tolist())
            yield self._block

    def close(self):
        unused = self._block.__length_hint__()
        if unused:                  # back to the last block's start, and as many draws as were used of it
            state, fresh, size = self._start
            self._eng._bits.state = state
            self._eng._fresh = fresh
            self._eng.random(2 * (size - unused))


def _gamma_plan(a, single, sqrt):
    """What sample_gamma computes from alpha alone: (exponent of the boost or None, d, c)."""
    e = None
    if a < 1.0:                                      # boosted: a + 1, the sample scaled by u^(1/a)
        e = 1.0 / a
        a += 1.0
        if single:
            e, a = _f32(e), _f32(a)
    d = a - _ONE_THIRD
    if single:
        d = _f32(d)
    s = sqrt(9.0 * d)
    return e, d, (1.0 / s if s else _INF)


def standard_gamma(eng, alpha, single=False):
    """Gamma(alpha, 1) samples in double for the float64 array alpha (flat, in torch's order), drawn as
    ATen's sample_gamma draws them; single: the float kernel's arithmetic (Note [torch's rejection
    samplers]). The caller casts them and raises them to the dtype's smallest normal number."""
    alphas = alpha.tolist()
    if not alphas:
        return np.empty(0)
    if len(alphas) >= _IN_BULK and 1.0 <= alphas[0] < _INF and (alpha == alphas[0]).all():
        _, d, c = _gamma_plan(alphas[0], single, math.sqrt)
        if _gamma_run(d) >= 400:                     # y <= 0 rare enough for blocks of attempts to pay
            return _gammas(eng, len(alphas), d, c)
    # C's log, pow and sqrt where alpha < 0 leads to log(0), overflow or sqrt(-x); math's otherwise
    log, pow_, sqrt = (math.log, math.pow, math.sqrt) if not (alpha < 0).any() else (_c_log, _c_pow, _c_sqrt)
    log1p, sin, cos = math.log1p, math.sin, math.cos
    plans = {}
    draws = _Uniforms(eng, 1.7 * len(alphas) + (alpha < 1).sum())
    uniform = draws.next
    cached = eng.next_double_normal
    out = []
    append = out.append
    try:
        for a in alphas:
            if a == 0.0:
                append(0.0)
                continue
            plan = plans.get(a)
            if plan is None:
                plan = plans[a] = _gamma_plan(a, single, sqrt)
            e, d, c = plan
            scale = 1.0 if e is None else pow_(1.0 - uniform(), e)
            while True:
                if cached is None:                   # a Box-Muller pair: cos now, sin for the next normal
                    u1 = uniform()
                    r = sqrt(-2.0 * log1p(-uniform()))
                    theta = _TWO_PI * u1
                    cached = r * sin(theta)
                    x = r * cos(theta)
                else:
                    x, cached = cached, None
                y = 1.0 + c * x
                if y <= 0.0:
                    continue
                v = y * y * y
                u = 1.0 - uniform()
                xx = x * x
                if u < 1.0 - _SQUEEZE * xx * xx or log(u) < 0.5 * xx + d * (1.0 - v + log(v)):
                    break
            append(scale * d * v)
    finally:
        draws.close()
        eng.next_double_normal = cached
    return np.array(out, dtype=np.float64)


def sample_dirichlet(eng, alpha):
    """One Dirichlet sample per row of the float64 array alpha (R, K), in double: gammas drawn in row
    order, raised to double's smallest normal, each divided by its row's sum (torch's order of adding).
    The caller casts the ratios and clamps them."""
    gammas = np.fmax(_TINY64, standard_gamma(eng, alpha.ravel())).reshape(alpha.shape)
    return gammas / row_sums(gammas)[:, None]


def poisson(eng, lam):
    """Poisson(lam) counts as int64 for the float64 array lam (flat, in torch's order), drawn as ATen's
    sample_poisson draws them; a negative or NaN rate raises after the draws of the rates before it."""
    rates = lam.tolist()
    if not rates:
        return np.empty(0, np.int64)
    if len(rates) >= _IN_BULK and 10.0 <= rates[0] < _INF and (lam == rates[0]).all():
        return _accepted_attempts(eng, len(rates), _ptrs_attempts(rates[0]), 0.8)
    log, floor, lgamma = math.log, math.floor, _lgamma
    with np.errstate(invalid="ignore"):
        expected = np.where(lam >= 10, 2.5, np.clip(np.nan_to_num(lam), 0, 10) + 1.0).sum()
    plans = {}
    draws = _Uniforms(eng, expected)
    uniform = draws.next
    out = []
    append = out.append
    try:
        for rate in rates:
            if not rate >= 0.0:
                raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
            plan = plans.get(rate)
            if plan is None:
                plan = plans[rate] = _ptrs_plan(rate) if rate >= 10.0 else math.exp(-rate)
            if rate >= 10.0:
                loglam, b, a, log_invalpha, vr = plan
                while True:
                    U = uniform() - 0.5
                    V = uniform()
                    us = 0.5 - abs(U)
                    if not us:                       # (U = -1/2: k is -inf in C, refused as k < 0)
                        continue
                    t = (2 * a / us + b) * U + rate + 0.43
                    if -_TWO_63 <= t < _TWO_63:
                        k = kd = floor(t)
                    else:       # the count is C's (int64_t) of it, INT64_MIN; the tests below read floor(t)
                        k, kd = _INT64_MIN, (floor(t) if t - t == 0 else t)      # (inf, NaN: as is)
                    if us >= 0.07 and V <= vr:
                        break
                    if kd < 0 or (us < 0.013 and V > us):
                        continue
                    log_v = log(V) if V else -_INF
                    if log_v + log_invalpha - log(a / (us * us) + b) <= -rate + kd * loglam - lgamma(kd + 1.0):
                        break
                append(k)
            elif rate == 0.0:
                append(0)
            else:                                    # multiplication of uniforms, down to exp(-lambda)
                k, prod = 0, 1.0
                while True:
                    prod *= uniform()
                    if not prod > plan:
                        break
                    k += 1
                append(k)
    finally:
        draws.close()
    return np.array(out, dtype=np.int64)


def _ptrs_plan(lam):
    """What sample_poisson's transformed rejection computes from lambda alone."""
    b = 0.931 + 2.53 * math.sqrt(lam)
    return (math.log(lam), b, -0.059 + 0.02483 * b, math.log(1.1239 + 1.1328 / (b - 3.4)),
            0.9277 - 3.6224 / (b - 2))


def _stirling_tail(k):
    """log k! - (Stirling's approximation of it), tabulated below 10 (TensorFlow's, as ATen's)."""
    if k < 10:
        return _STIRLING_TAIL[int(k)]
    kp1 = k + 1.0
    kp1sq = kp1 * kp1
    return (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / kp1


_ZERO, _COUNT, _NAN, _INVERSION, _BTRS = range(5)


def _binomial_plan(n, p, single, log, floor, sqrt):
    """What sample_binomial computes from (n, p) alone: (kind, reflected, constants)."""
    rnd = _f32 if single else float
    if n <= 0.0 or p <= 0.0:
        return _ZERO, False, ()
    if p >= 1.0:
        return _COUNT, False, ()
    if not (p <= 0.5 or p > 0.5):
        return _NAN, False, ()
    reflected = p > 0.5
    if reflected:
        p = rnd(1.0 - p)
    if not rnd(n * p) >= 10.0:
        return _INVERSION, reflected, (_log1pf(-p) if single else math.log1p(-p),)
    stddev = rnd(sqrt(rnd(rnd(n * p) * rnd(1 - p))))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * p
    r = rnd(p / rnd(1 - p))
    m = float(floor(rnd(rnd(n + 1) * p)))
    # float's n - k, n - k + 1 and k + 1 are exact for a whole n below 2^24 (0 <= k <= n a whole number)
    exact = not single or (n.is_integer() and n < _FLOAT_INTEGERS)
    return _BTRS, reflected, (b, a, rnd(n * p) + 0.5, 0.92 - 4.2 / b, r, (2.83 + 5.1 / b) * stddev, rnd(n + 1),
                              (m + 0.5) * log((m + 1) / (r * (n - m + 1))), m, _stirling_tail(m),
                              _stirling_tail(n - m), exact)


def binomial(eng, count, prob, single=False):
    """Binomial(count, prob) draws in double (whole numbers, or count's own fraction) for the float64
    arrays count and prob (flat, same size, in torch's order), as ATen's sample_binomial draws them;
    single: the float kernel's arithmetic (Note [torch's rejection samplers])."""
    counts, probs = count.tolist(), prob.tolist()
    if not counts:
        return np.empty(0)
    with np.errstate(invalid="ignore"):
        if (np.isnan(count) & (prob > 0) & (prob < 1)).any():
            raise RuntimeError("binomial(): a NaN count with a probability in (0, 1) has no draw (torch's "
                               "sampler never returns there)")
        q = np.nan_to_num(np.minimum(prob, 1 - prob))
        small = np.where((count > 0) & (q > 0), np.nan_to_num(count * q, posinf=10.0), 0.0)
        expected = np.where(small >= 10, 2.5, small + 1.0).sum()
        ordinary = np.isfinite(count).all() and not ((prob > 0) & (prob < 1e-300)).any()
    # C's log, floor, ceil and sqrt where an infinite count or a tiny p leads to inf and NaN; math's otherwise
    log, floor, ceil, sqrt = ((math.log, math.floor, math.ceil, math.sqrt) if ordinary
                              else (_c_log, _c_floor, _c_ceil, _c_sqrt))
    rnd = _f32 if single else float
    n, p = counts[0], probs[0]
    if ordinary and len(counts) >= _IN_BULK and (count == n).all() and (prob == p).all():
        kind, reflected, consts = _binomial_plan(n, p, single, log, floor, sqrt)
        if kind in (_BTRS, _INVERSION):
            k = (_accepted_attempts(eng, len(counts), _btrs_attempts(n, consts, single), 0.7) if kind == _BTRS
                 else _inversions(eng, len(counts), n, consts[0], single, expected))
            return _rounded(n - k, single) if reflected else k
    plans = {}
    draws = _Uniforms(eng, expected)
    uniform = draws.next
    out = []
    append = out.append
    try:
        for n, p in zip(counts, probs):
            plan = plans.get((n, p))
            if plan is None:
                plan = plans[(n, p)] = _binomial_plan(n, p, single, log, floor, sqrt)
            kind, reflected, consts = plan
            if kind == _INVERSION:                   # geometric waiting times, until their sum passes n
                (logprob,) = consts
                total, k = 0.0, 0
                while True:
                    u = uniform()
                    if not u:                        # log(0) / logprob = inf: past n
                        break
                    total += ceil(log(u) / logprob)
                    if total > n:
                        break
                    k += 1
                if single and k > _FLOAT_INTEGERS:   # a float count stops at 2^24
                    k = _FLOAT_INTEGERS
            elif kind == _BTRS:                      # transformed rejection with squeeze (Hormann 1993)
                b, a, c, v_r, r, alpha, n_plus_1, head, m, tail_m, tail_n_m, exact = consts
                while True:
                    U = uniform() - 0.5
                    V = uniform()
                    us = 0.5 - abs(U)
                    if not us:                       # (U = -1/2: k is -inf, refused as k < 0)
                        continue
                    k = floor((2 * a / us + b) * U + c)
                    if single and not -_FLOAT_INTEGERS <= k <= _FLOAT_INTEGERS:
                        k = _f32(k)
                    if k < 0 or k > n:
                        continue
                    if us >= 0.07 and V <= v_r:
                        break
                    V = V * alpha / (a / (us * us) + b)
                    V = log(V) if V else -_INF
                    if exact:
                        n_k = n - k
                        n_k_1, k_1 = n_k + 1, k + 1
                    else:
                        n_k = rnd(n - k)
                        n_k_1, k_1 = rnd(n_k + 1), rnd(k + 1)
                    bound = (head + n_plus_1 * log((n - m + 1) / n_k_1) + (k + 0.5) * log(r * n_k_1 / k_1)
                             + tail_m + tail_n_m - _stirling_tail(k) - _stirling_tail(n_k))
                    if V <= bound:
                        break
            else:
                append((0.0, n, math.nan)[kind])
                continue
            append(rnd(n - k) if reflected else k)
    finally:
        draws.close()
    return np.array(out, dtype=np.float64)


# -- one parameter for all: the loops' draws in bulk ---------------------------------------------------
# Each attempt of PTRS (poisson, lambda >= 10) and of BTRS (binomial) takes exactly two uniforms, whichever
# element it serves. When every element has the same parameter, an attempt's outcome does not depend on
# where one element ends and the next begins: the i-th accepted attempt gives the i-th sample. Blocks of
# attempts are then evaluated at once, with the loops' arithmetic in the same order (NumPy's +, -, *, / and
# floor round as Python's; libm's log, log1p, sin, cos and lgamma one value at a time), and the engine is put
# back after the last attempt used. The binomial's inversion (one uniform per waiting time) and the gamma
# sampler for alpha >= 1 (_gammas) read their blocks likewise.
_IN_BULK = 32                   # elements from which one shared parameter is sampled in bulk


def _each(fn, x):
    """fn of each value of the float64 array x, one call at a time (libm's results, C's for log(0))."""
    return np.fromiter(map(fn, x.tolist()), np.float64, x.size)


def _rounded(x, single):
    """x rounded to float where single (C's (float) x), as float64."""
    with np.errstate(over="ignore"):
        return x.astype(np.float32).astype(np.float64) if single else x


def _accepted_attempts(eng, n, attempt, rate):
    """The values of the first n accepted attempts, attempt(u, v) -> (accepted, values) evaluating arrays
    of the two uniforms of consecutive attempts (rate: the expected share accepted); the engine is left just
    after the n-th accepted attempt."""
    parts = []
    while n:
        m = min(int(n / rate) + 64, _Uniforms._MOST)
        state, fresh = eng._bits.state, eng._fresh
        u = eng.uniform_double(2 * m)
        accepted, values = attempt(u[0::2], u[1::2])
        taken = np.flatnonzero(accepted)[:n]
        parts.append(values[taken])
        n -= taken.size
        if not n and taken[-1] + 1 < m:          # back to the block's start, and the attempts used again
            eng._bits.state, eng._fresh = state, fresh
            eng.random(4 * (int(taken[-1]) + 1))
    return np.concatenate(parts)


def _ptrs_attempts(lam):
    """sample_poisson's attempts for lambda >= 10 (finite), in bulk: (accepted, counts as int64)."""
    loglam, b, a, log_invalpha, vr = _ptrs_plan(lam)

    def attempt(u, v):
        with np.errstate(all="ignore"):
            U = u - 0.5
            us = 0.5 - np.abs(U)                 # 0 (U = -1/2): t = -inf, refused as k < 0
            t = (2 * a / us + b) * U + lam + 0.43
            kd = np.floor(t)
            k = np.where((t >= -_TWO_63) & (t < _TWO_63), kd, float(_INT64_MIN)).astype(np.int64)
            accepted = (us >= 0.07) & (v <= vr)
            i = np.flatnonzero(~accepted & ~((kd < 0) | ((us < 0.013) & (v > us))))
            if i.size:
                kd = kd[i]
                lhs = _each(_c_log, v[i]) + log_invalpha - _each(math.log, a / (us[i] * us[i]) + b)
                accepted[i] = lhs <= -lam + kd * loglam - _each(_lgamma, kd + 1.0)
        return accepted, k
    return attempt


def _inversions(eng, size, n, logprob, single, expected):
    """size draws of sample_binomial's inversion for one (n, p): the geometric waiting times
    ceil(log u / logprob) of blocks of uniforms at once, then cut where their running sum passes n."""
    out, k, total = [], 0, 0.0
    while True:
        m = min(int(expected * (size - len(out)) / size) + 64, _Uniforms._MOST)
        state, fresh = eng._bits.state, eng._fresh
        u = eng.uniform_double(m)
        logs = _each(math.log, np.where(u > 0, u, 1.0))
        logs[u == 0] = -_INF                     # a wait of inf: past n
        used = 0
        with np.errstate(over="ignore"):
            waits = np.ceil(logs / logprob).tolist()
        for wait in waits:
            used += 1
            total += wait
            if total > n:
                out.append(k)
                if len(out) == size:
                    if used < m:                 # back to the block's start, and the uniforms used again
                        eng._bits.state, eng._fresh = state, fresh
                        eng.random(2 * used)
                    k = np.array(out, dtype=np.float64)
                    return np.minimum(k, _FLOAT_INTEGERS) if single else k      # a float count stops at 2^24
                k, total = 0, 0.0
            else:
                k += 1


def _gamma_run(d):
    """The number of Box-Muller pairs expected before an attempt of sample_gamma meets y = 1 + c x <= 0,
    1 / (2 P(x < -sqrt(9 d)))."""
    return 1.0 / max(math.erfc(math.sqrt(4.5 * d)), 1e-12)


def _gammas(eng, size, d, c):
    """size draws of sample_gamma for one alpha >= 1 (no boost; d and c from it). Its attempts take a
    normal, then a uniform unless y = 1 + c x <= 0; the normals come in Box-Muller pairs, the second one
    cached. So while no y <= 0 turns up, a block of uniforms reads [pair, uniform, uniform] from the start
    (after [uniform] for a normal cached already): the attempts of a block are evaluated at once up to the
    first y <= 0, where the layout shifts and a new block starts."""
    out = []
    cached = eng.next_double_normal
    run = _gamma_run(d)
    while size:
        lead = cached is not None
        pairs = min(size // 2 + 16, int(run) + 16, _Uniforms._MOST // 4)
        state, fresh = eng._bits.state, eng._fresh
        w = eng.uniform_double(lead + 4 * pairs)
        groups = w[lead:].reshape(pairs, 4)
        r = np.sqrt(-2.0 * _each(math.log1p, -groups[:, 1]))
        theta = _TWO_PI * groups[:, 0]
        x = np.empty(lead + 2 * pairs)
        x[lead::2] = r * _each(math.cos, theta)       # the pair's first normal, then the cached one
        x[lead + 1::2] = r * _each(math.sin, theta)
        tests = np.empty_like(x)
        tests[lead:] = groups[:, 2:].ravel()
        # the uniforms used up to the end of each attempt: [lead], then 3 and 4 for each pair
        ends = np.empty(x.size, dtype=np.int64)
        ends[lead:] = lead + 4 * np.arange(pairs).repeat(2) + np.tile([3, 4], pairs)
        if lead:
            x[0], tests[0], ends[0] = cached, w[0], 1
        y = 1.0 + c * x
        bad = np.flatnonzero(y <= 0.0)
        stop = bad[0] if bad.size else x.size              # attempts laid out right before the first y <= 0
        y, u = y[:stop], 1.0 - tests[:stop]
        v = y * y * y
        xx = x[:stop] * x[:stop]
        accepted = u < 1.0 - _SQUEEZE * xx * xx
        i = np.flatnonzero(~accepted)
        if i.size:
            accepted[i] = _each(math.log, u[i]) < 0.5 * xx[i] + d * (1.0 - v[i] + _each(math.log, v[i]))
        taken = np.flatnonzero(accepted)[:size]
        out.append(d * v[taken])
        size -= taken.size
        if not size:                                   # done: up to the last accepted attempt
            last = int(taken[-1])
            used = int(ends[last])
        elif stop < x.size:                            # the attempt with y <= 0 takes no uniform
            last = stop
            used = int(ends[last]) - 1 if last >= lead else 0
        else:
            last, used = x.size - 1, w.size
        # the normal left cached: the second of the last attempt's pair when that attempt took the first
        cached = float(x[last + 1]) if last >= lead and (last - lead) % 2 == 0 else None
        if used < w.size:                              # back to the block's start, and the uniforms used again
            eng._bits.state, eng._fresh = state, fresh
            eng.random(2 * used)
    eng.next_double_normal = cached
    return np.concatenate(out)


def _stirling_tails(k):
    """_stirling_tail of each value of the float64 array k (k >= 0)."""
    kp1 = k + 1.0
    kp1sq = kp1 * kp1
    tails = (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / kp1
    small = k < 10
    tails[small] = np.take(_STIRLING_TAIL, k[small].astype(np.int64))
    return tails


def _btrs_attempts(n, consts, single):
    """sample_binomial's BTRS attempts for (n, p) (finite, p <= 1/2 after the reflection), in bulk:
    (accepted, k)."""
    b, a, c, v_r, r, alpha, n_plus_1, head, m, tail_m, tail_n_m, exact = consts

    def attempt(u, v):
        with np.errstate(all="ignore"):
            U = u - 0.5
            us = 0.5 - np.abs(U)                 # 0 (U = -1/2): k = -inf, refused
            k = _rounded(np.floor((2 * a / us + b) * U + c), single)
            inside = (k >= 0) & (k <= n)
            accepted = inside & (us >= 0.07) & (v <= v_r)
            i = np.flatnonzero(inside & ~accepted)
            if i.size:
                ki = k[i]
                log_v = _each(_c_log, v[i] * alpha / (a / (us[i] * us[i]) + b))
                n_k = _rounded(n - ki, not exact)
                n_k_1, k_1 = _rounded(n_k + 1, not exact), _rounded(ki + 1, not exact)
                bound = (head + n_plus_1 * _each(math.log, (n - m + 1) / n_k_1)
                         + (ki + 0.5) * _each(math.log, r * n_k_1 / k_1)
                         + tail_m + tail_n_m - _stirling_tails(ki) - _stirling_tails(n_k))
                accepted[i] = log_v <= bound
        return accepted, k
    return attempt


_SUM_LANES = 4      # Vectorized<double>'s lanes in the sum torch runs on x86 (in its AVX-512 build too)


def row_sums(x):
    """The sums of the rows of the float64 array x (R, K), added as torch's CPU sum(-1) adds a contiguous
    double row (ATen's cascade_sum): from 4 values on, the row as K // 4 vectors of 4 lanes summed by
    _cascade, the K % 4 values left added in order to 0, then the 4 lanes; below, _cascade of the values.
    (A single row of more than 32768 values is split between threads by torch: not reproduced.)"""
    rows, k = x.shape
    if k < _SUM_LANES:
        return _cascade(x)
    whole = k // _SUM_LANES * _SUM_LANES
    lanes = _cascade(x[:, :whole].reshape(rows, whole // _SUM_LANES, _SUM_LANES))          # (R, 4)
    total = np.zeros(rows)
    for i in range(whole, k):
        total = total + x[:, i]
    for lane in range(_SUM_LANES):
        total = total + lanes[:, lane]
    return total


def _cascade(x):
    """ATen's row_sum over axis 1 of x (R, size, ...): four interleaved accumulators summed by
    _multi_row_sum, the size % 4 values left added to the first, then the other three to it."""
    rows, size = x.shape[:2]
    whole = size // 4 * 4
    acc = _multi_row_sum(x[:, :whole].reshape((rows, whole // 4, 4) + x.shape[2:]))        # (R, 4, ...)
    first = acc[:, 0]
    for i in range(whole, size):
        first = first + x[:, i]
    for j in range(1, 4):
        first = first + acc[:, j]
    return first


def _multi_row_sum(x):
    """ATen's multi_row_sum over axis 1 of x (R, size, ...): four levels of accumulators, each level
    taking the one below every 2^p additions (p = max(4, ceil(log2 size) / 4)), to bound the error."""
    size = x.shape[1]
    power = max(4, (size - 1).bit_length() // 4) if size > 1 else 4
    step = 1 << power
    zero = np.zeros((x.shape[0],) + x.shape[2:])
    acc = [zero] * 4
    i = 0
    while i + step <= size:
        for _ in range(step):
            acc[0] = acc[0] + x[:, i]
            i += 1
        for level in range(1, 4):
            acc[level] = acc[level] + acc[level - 1]
            acc[level - 1] = zero
            if i & ((step - 1) << (level * power)):
                break
    for j in range(i, size):
        acc[0] = acc[0] + x[:, j]
    for level in range(1, 4):
        acc[0] = acc[0] + acc[level]
    return acc[0]
