"""nn.functional with explicit weights, as lectures write convolutions and pooling by hand, seeded."""
import torch
import torch.nn.functional as F

torch.manual_seed(0)
x = torch.arange(32.).view(1, 2, 4, 4)
w = torch.randn(3, 2, 2, 2)
print(F.conv2d(x, w, stride=2).shape, F.conv2d(x, w, padding="same").shape, F.conv2d(x, w, dilation=2).round(decimals=3))
y, idx = F.max_pool2d(x, 2, return_indices=True)
print(y, idx, F.max_unpool2d(y, idx, 2).shape)
print(F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)[0, 0], F.lp_pool2d(x, 2, 2)[0, 0])
for mode in ("reflect", "replicate", "circular"):
    print(mode, F.pad(x[:, :1], (1, 1, 1, 0), mode=mode)[0, 0])
theta = torch.tensor([[[1.0, 0.0, 0.25], [0.0, 1.0, 0.0]]])
grid = F.affine_grid(theta, (1, 1, 3, 3), align_corners=False)
print(grid[0, 0], F.grid_sample(x[:, :1], grid, align_corners=False).round(decimals=4))
print(F.embedding_bag(torch.tensor([1, 2, 4, 5, 4, 3]), torch.arange(24.).view(6, 4), torch.tensor([0, 3]), mode="mean"))
print(F.conv1d(torch.arange(10.).view(1, 1, 10), torch.ones(1, 1, 3)), F.conv_transpose1d(torch.ones(1, 1, 3), torch.ones(1, 1, 2), stride=2))
print(F.pixel_shuffle(torch.arange(16.).view(1, 4, 2, 2), 2)[0, 0], F.pixel_unshuffle(torch.arange(16.).view(1, 1, 4, 4), 2).shape)
print(F.fold(F.unfold(x, 2), (4, 4), 2).equal(x * 1), F.unfold(x, 3, padding=1).shape)
print(F.local_response_norm(x, 2)[0, 1, 0], F.glu(torch.arange(4.).view(1, 4)), F.logsigmoid(torch.tensor([-100., 0., 10.])))
print(F.triplet_margin_loss(torch.ones(2, 3), torch.zeros(2, 3), torch.ones(2, 3) * 2), F.margin_ranking_loss(torch.tensor([1., 2.]), torch.tensor([2., 1.]), torch.tensor([1., 1.])))
print(F.cosine_embedding_loss(torch.ones(2, 3), torch.tensor([[1., 0, 0], [-1, -1, -1]]), torch.tensor([1, -1])), F.hinge_embedding_loss(torch.tensor([0.5, 2.]), torch.tensor([1, -1])))
print(F.multi_margin_loss(torch.tensor([[0.1, 0.8, 0.1]]), torch.tensor([1])), F.multilabel_soft_margin_loss(torch.tensor([[0.5, -0.5]]), torch.tensor([[1., 0.]])))
print(F.poisson_nll_loss(torch.tensor([0.5, 1.]), torch.tensor([1., 2.])), F.gaussian_nll_loss(torch.zeros(2), torch.ones(2), torch.ones(2)))
lp = torch.randn(6, 2, 4).log_softmax(2)
print(F.ctc_loss(lp, torch.tensor([[1, 2], [3, 3]]), torch.tensor([6, 6]), torch.tensor([2, 2])))
print(F.interpolate(torch.arange(4.).view(1, 1, 4), size=6, mode="linear"), F.interpolate(x[:, :1], scale_factor=0.5, mode="area"))
print(F.interpolate(x[:, :1], size=(3, 3), mode="bicubic", align_corners=True).round(decimals=3))
