"""Lecture 1.6, "Tensor internals": a tensor is a view of a part of a storage.

    python -m flambeau.examples.tensor_internals

Runs the lecture's transcripts and prints, for each tensor, its storage, offset and strides.
"""
import flambeau as torch


def show(name, t):
    print(f"{name} = {t!r}")
    print(f"  size {tuple(t.size())}, storage_offset {t.storage_offset()}, stride {t.stride()}, "
          f"contiguous {t.is_contiguous()}")


def main():
    print("# A tensor is a view of a storage, a low-level 1d vector")
    x = torch.zeros(2, 4)
    print(x.storage())
    q = x.storage()
    q[4] = 1.0
    show("x", x)

    print("\n# Several tensors can share one storage: view(), narrow(), expand(), transpose()")
    y = x.view(2, 2, 2)
    show("y", y)
    y[1, 1, 0] = 7.0
    show("x", x)
    y.narrow(0, 1, 1).fill_(3.0)
    show("x", x)

    print("\n# The first coefficient is at storage_offset(); index k moves by stride(k)")
    q = torch.arange(0., 20.).storage()
    x = torch.empty(0).set_(q, storage_offset=5, size=(3, 2), stride=(4, 1))
    show("x", x)

    print("\n# Different views of the same storage (a zero stride repeats values)")
    n = torch.linspace(1, 4, 4)
    show("n", n)
    show("rows", torch.tensor(0.).set_(n.storage(), 1, (3, 3), (0, 1)))
    show("cols", torch.tensor(0.).set_(n.storage(), 1, (2, 4), (1, 0)))

    print("\n# Transposition swaps strides, so the result cannot be flattened by view()")
    x = torch.empty(100, 100)
    y = x.t()
    print(f"x.stride() = {x.stride()}, y.stride() = {y.stride()}")
    try:
        y.view(-1)
    except RuntimeError as e:
        print(f"y.view(-1) -> RuntimeError: {e}")
    z = y.contiguous().view(-1)
    print(f"y.contiguous().view(-1): size {tuple(z.size())}, stride {z.stride()} (a copy)")
    r = y.reshape(-1)
    print(f"y.reshape(-1): size {tuple(r.size())}, shares y's storage: "
          f"{r.storage().data_ptr() == y.storage().data_ptr()}")


if __name__ == "__main__":
    main()
