"""Printing tensors and storages exactly as PyTorch does (precision, widths, summarization)."""
import math

import numpy as np

from . import _dtype, _xp

__all__ = ["set_printoptions", "get_printoptions", "tensor_repr", "storage_repr"]


class _PrintOptions:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode = None


PRINT_OPTS = _PrintOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """Set how tensors print (torch.set_printoptions)."""
    if profile is not None:
        if profile == "default":
            PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 4, 1000, 3, 80
        elif profile == "short":
            PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = 2, 1000, 2, 80
        elif profile == "full":
            PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems, PRINT_OPTS.linewidth = \
                4, math.inf, 3, 80
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions():
    return {"precision": PRINT_OPTS.precision, "threshold": PRINT_OPTS.threshold,
            "edgeitems": PRINT_OPTS.edgeitems, "linewidth": PRINT_OPTS.linewidth, "sci_mode": PRINT_OPTS.sci_mode}


class _Formatter:
    """Decides int/fixed/scientific mode and the common width from the values shown."""

    def __init__(self, values, floating):
        # values: a 1-D NumPy array of the elements that will be printed
        self.floating_dtype = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        p = PRINT_OPTS.precision
        if not floating:
            for v in values.tolist():
                self.max_width = max(self.max_width, len(f"{v}"))
        else:
            finite = values[np.isfinite(values) & (values != 0)]
            if finite.size:
                nz_abs = np.abs(finite.astype(np.float64))
                lo, hi = nz_abs.min(), nz_abs.max()
                self.int_mode = bool(np.all(finite == np.ceil(finite)))
                if PRINT_OPTS.sci_mode is None:
                    self.sci_mode = bool(hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4)
                else:
                    self.sci_mode = PRINT_OPTS.sci_mode
                vals = finite.tolist()
                if self.sci_mode:
                    fmt = f"{{:.{p}e}}"
                    extra = 0
                elif self.int_mode:
                    # integer-valued floats print as "3." : one more column for the point
                    fmt, extra = "{:.0f}", 1
                else:
                    fmt, extra = f"{{:.{p}f}}", 0
                self.max_width = max(len(fmt.format(v)) for v in vals) + extra

    def width(self):
        return self.max_width

    def format(self, value):
        p = PRINT_OPTS.precision
        if self.floating_dtype:
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{p}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{p}f}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _summarized(a):
    """The elements shown when the tensor is summarized (edge items of every dim)."""
    e = PRINT_OPTS.edgeitems
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return np.concatenate([a[:e], a[-e:]]) if a.shape[0] > 2 * e else a
    if not e:
        return a[(slice(0, 0),) * a.ndim]
    rows = list(range(e)) + list(range(a.shape[0] - e, a.shape[0])) if a.shape[0] > 2 * e else range(a.shape[0])
    return np.stack([_summarized(a[i]) for i in rows])


def _val(formatter1, formatter2, v):
    if formatter2 is None:
        return formatter1.format(v)
    real_str = formatter1.format(v.real)
    imag_str = (formatter2.format(v.imag) + "j").lstrip()
    if imag_str[0] in "+-":
        return real_str + imag_str
    return real_str + "+" + imag_str


def _vector_str(a, indent, summarize, f1, f2):
    element_length = f1.width() + 2
    if f2 is not None:
        element_length += f2.width() + 1
    per_line = max(1, int(math.floor((PRINT_OPTS.linewidth - indent) / element_length)))
    e = PRINT_OPTS.edgeitems
    if summarize and not e:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * e:
        data = [_val(f1, f2, v) for v in a[:e].tolist()] + [" ..."] + [_val(f1, f2, v) for v in a[-e:].tolist()]
    else:
        data = [_val(f1, f2, v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(a, indent, summarize, f1, f2):
    dim = a.ndim
    if dim == 0:
        return _val(f1, f2, a.item())
    if dim == 1:
        return _vector_str(a, indent, summarize, f1, f2)
    e = PRINT_OPTS.edgeitems
    if summarize and a.shape[0] > 2 * e:
        slices = ([_tensor_str_with_formatter(a[i], indent + 1, summarize, f1, f2) for i in range(e)] + ["..."] +
                  [_tensor_str_with_formatter(a[i], indent + 1, summarize, f1, f2)
                   for i in range(a.shape[0] - e, a.shape[0])])
    else:
        slices = [_tensor_str_with_formatter(a[i], indent + 1, summarize, f1, f2) for i in range(a.shape[0])]
    return "[" + ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices) + "]"


def _tensor_str(a, indent):
    if a.size == 0:
        return "[]"
    summarize = a.size > PRINT_OPTS.threshold
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    shown = _summarized(a) if summarize else a
    if a.dtype.kind == "c":
        f1 = _Formatter(shown.real.reshape(-1), True)
        f2 = _Formatter(shown.imag.reshape(-1), True)
        return _tensor_str_with_formatter(a, indent, summarize, f1, f2)
    f1 = _Formatter(shown.reshape(-1), a.dtype.kind == "f")
    return _tensor_str_with_formatter(a, indent, summarize, f1, None)


def _add_suffixes(tensor_str, suffixes, indent):
    out = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            out.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            out.append(", " + suffix)
            last_line_len += len(suffix) + 2
    out.append(")")
    return "".join(out)


def tensor_repr(t):
    from ._tensor import Tensor
    from .nn.parameter import Parameter
    plain = type(t) is Tensor or type(t) is Parameter
    prefix = "tensor(" if plain else f"{type(t).__name__}("
    indent = len(prefix)
    suffixes = []
    dev = t.device
    if dev.type != "cpu":
        suffixes.append(f"device='{dev}'")
    dt = t.dtype
    default = _dtype.get_default_dtype()
    has_default_dtype = dt in (default, _dtype.default_complex(), _dtype.int64, _dtype.bool)
    a = _xp.to_host(t._data)
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append("size=" + str(tuple(a.shape)))
        if dt is not default:
            suffixes.append("dtype=" + repr(dt))
        body = "[]"
    else:
        if not PRINT_OPTS.edgeitems:
            suffixes.append("size=" + str(tuple(a.shape)))
        if not has_default_dtype:
            suffixes.append("dtype=" + repr(dt))
        body = _tensor_str(a, indent)
    fn = t.grad_fn
    if fn is not None:
        suffixes.append(f"grad_fn=<{type(fn).__name__}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    s = _add_suffixes(prefix + body, suffixes, indent)
    if isinstance(t, Parameter) and not plain:
        s = f"Parameter({s})"
    return s


def storage_repr(s):
    from ._storage import TypedStorage
    if isinstance(s, TypedStorage):
        info = f"[{s._type_name()} of size {len(s)}]"
        values = _xp.to_host(s._array).tolist()
    else:
        info = f"[torch.storage.UntypedStorage(device={s.device}) of size {len(s)}]"
        values = s.tolist()
    data = " " + "\n ".join(str(v) for v in values)
    return data + "\n" + info
