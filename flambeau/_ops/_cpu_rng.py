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
are rejection loops per element; flambeau draws those from NumPy's Generator seeded with one random64()
(numpy_generator): reproducible under manual_seed, not torch's numbers. get_state() is torch's
5056-byte CPUGeneratorImplState.
"""
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
        out = (self.random(n).astype(np.uint32) & np.uint32(0xFF_FFFF)).view(np.int32).astype(np.float32)
        out *= np.float32(2.0 ** -24)
        return out

    def numpy_generator(self):
        """A NumPy Generator seeded with one random64() draw, for the samplers whose torch algorithm
        flambeau does not reproduce: deterministic under manual_seed, not torch's numbers."""
        return np.random.Generator(np.random.PCG64(int(self.random64(1)[0])))

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
        out = _mul_add(x, t - f, f, fma32).astype(dtype, copy=False)
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
    out[:whole] = fill16(out[:whole].reshape(-1, 16), mean, std).ravel()
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
