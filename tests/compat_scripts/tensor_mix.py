"""Tensor manipulation and error messages as course exercises meet them, seeded."""
import torch

torch.manual_seed(0)

def attempt(label, fn):
    try:
        out = fn()
        print(label, "->", out)
    except Exception as e:      # the message is part of what is compared
        print(label, "!!", type(e).__name__, str(e).splitlines()[0])

# printing
print(torch.arange(2000).float().view(40, 50) / 7)
print(torch.tensor([1e-8, 1.0, 1e8]), torch.tensor([0.1, 2.5e5]), torch.tensor([1, 2], dtype=torch.uint8))
print(torch.tensor([[True, False]]), torch.tensor([1.5, float("nan"), float("inf")]), torch.zeros(2, 0))
print(torch.randn(3, 2, dtype=torch.float64), torch.tensor(3.25), torch.tensor([2 + 3j, -1j]))
print(torch.full((2, 2), 7, dtype=torch.int16), torch.empty(0).shape, torch.tensor([1e20, 1e-20]))
torch.set_printoptions(precision=2, sci_mode=False)
print(torch.tensor([1e-5, 123.456, 1e5]))
torch.set_printoptions(profile="default")

# reshaping, concatenating, splitting
x = torch.arange(24).view(2, 3, 4)
print(x.permute(2, 0, 1).shape, x.transpose(0, 2).is_contiguous(), x.flatten(1).shape, x.unsqueeze(1).shape)
print(torch.cat([x, x], 1).shape, torch.stack([x, x], -1).shape, [t.shape for t in x.split([1, 2], 1)])
print([t.tolist() for t in torch.arange(7).chunk(3)], x.narrow(2, 1, 2)[0], x[..., ::2].stride())
print(x.view(-1, 6).t().contiguous().view(-1)[:8], x.reshape(4, -1).sum(0))

# indexing and gathering
y = torch.randn(4, 5)
print(y[y > 0.5], y[[0, 2], [1, 3]], y[1:, torch.tensor([0, 4])].shape, y.masked_fill(y < 0, 0)[0])
idx = torch.tensor([[0, 1], [2, 0]])
print(torch.gather(y[:2, :3], 1, idx), torch.zeros(2, 4).scatter_(1, idx, 1.0), torch.zeros(5).index_add_(0, torch.tensor([1, 1, 3]), torch.ones(3)))
print(torch.where(y > 0, y, torch.zeros_like(y)).count_nonzero(), y.argmax(), y.argmax(1), y.max(0).indices)
print(torch.tensor([3, 1, 3, 2, 1]).unique(return_counts=True), torch.tensor([2, 1, 2, 3]).sort(stable=True))
print(torch.tensor([1., 3., 3., 2.]).topk(2), torch.tensor([4, 1, 4]).argsort(descending=True, stable=True))
print(torch.nonzero(torch.tensor([[0, 1], [1, 0]])), torch.tensor([[1, 2], [3, 4]]).flip(0).roll(1, 1))

# reductions and math
z = torch.randn(3, 4)
print(z.sum(), z.mean(1), z.std(0), z.var(unbiased=False), z.norm(), z.prod(1), z.cumsum(1)[:, -1])
print(z.logsumexp(1), z.softmax(0).sum(0).round(decimals=3), torch.einsum("ij,kj->ik", z, z).diag(), (z @ z.T).trace())
print(z.clamp(-0.5, 0.5).abs().max(), z.sign()[0], z.round(decimals=1)[0], z.exp().log().allclose(z))
print(torch.linspace(0, 1, 5), torch.logspace(0, 2, 3), torch.eye(2, 3), torch.tril(torch.ones(3, 3)), torch.outer(torch.arange(3), torch.arange(2)))
a = torch.tensor([[4., 1.], [1., 3.]])
print(torch.linalg.inv(a), torch.linalg.det(a), torch.linalg.eigh(a).eigenvalues, torch.linalg.solve(a, torch.ones(2)))
print(torch.linalg.norm(a, "fro"), torch.linalg.matrix_rank(a), torch.linalg.cholesky(a), torch.linalg.qr(a).R)

# dtypes and conversions
print((torch.tensor([1, 2]) / 2).dtype, (torch.tensor([1, 2]) // 2).dtype, (torch.tensor([1, 2]) * 1.5).dtype)
print(torch.tensor([1, 2], dtype=torch.int8) + torch.tensor([1], dtype=torch.uint8), torch.tensor([True]) + 1)
print(torch.tensor([3.7, -3.7]).int(), torch.tensor([300]).to(torch.uint8), torch.tensor([1.5]).half() * 3)
print(torch.tensor([1, 2]).float().numpy(), torch.from_numpy(torch.ones(2).numpy()).dtype, torch.tensor([[1]]).item())

# errors course code runs into
attempt("matmul shapes", lambda: torch.ones(2, 3) @ torch.ones(2, 3))
attempt("broadcast", lambda: torch.ones(2, 3) + torch.ones(4))
attempt("view", lambda: torch.ones(2, 3).t().view(6))
attempt("cat", lambda: torch.cat([torch.ones(2, 3), torch.ones(3, 2)]))
attempt("index", lambda: torch.ones(3)[5])
attempt("item", lambda: torch.ones(2).item())
attempt("leaf inplace", lambda: torch.ones(2, requires_grad=True).add_(1))
attempt("backward twice", lambda: [l.backward() for l in [((torch.ones(2, requires_grad=True) * 2).exp().sum(),)] * 2])
attempt("non-scalar backward", lambda: (torch.ones(2, requires_grad=True) * 2).backward())
attempt("dtype mismatch", lambda: torch.ones(2, 2) @ torch.ones(2, 2, dtype=torch.float64))
attempt("long mean", lambda: torch.arange(4).mean())
attempt("numpy grad", lambda: torch.ones(2, requires_grad=True).numpy())
attempt("cross entropy", lambda: torch.nn.functional.cross_entropy(torch.randn(3, 4), torch.tensor([0, 4, 1])))
attempt("conv", lambda: torch.nn.Conv2d(3, 4, 3)(torch.randn(1, 2, 8, 8)))
attempt("reshape", lambda: torch.arange(6).reshape(4, -1))
