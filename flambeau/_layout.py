"""torch.layout: how a tensor's elements sit in memory. flambeau's tensors are all strided (dense);
the other layouts exist so that code naming them compares, prints and pickles as with PyTorch, and
so that a factory asked for one says plainly that flambeau does not make it."""

__all__ = ["layout", "strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc", "jagged"]


class layout:
    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"torch.{self._name}"

    def __reduce__(self):
        return self._name           # pickled as this module's global of that name: the same object back


strided = layout("strided")
sparse_coo = layout("sparse_coo")
sparse_csr = layout("sparse_csr")
sparse_csc = layout("sparse_csc")
sparse_bsr = layout("sparse_bsr")
sparse_bsc = layout("sparse_bsc")
jagged = layout("jagged")
_mkldnn = layout("_mkldnn")


def check_layout(given, fn):
    """A factory's layout argument: None or strided pass; another layout is not made here."""
    if given is None or given is strided:
        return
    if isinstance(given, layout):
        raise NotImplementedError(f"{fn}(): flambeau makes strided (dense) tensors only, not layout={given!r}")
    raise TypeError(f"{fn}(): argument 'layout' must be torch.layout, not {type(given).__name__}")
