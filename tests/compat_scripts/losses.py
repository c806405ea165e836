"""Every loss of torch.nn, module and functional forms, with its reductions and input gradients (EE-559 2, 3, 5.1)."""
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F


def r(t, d=5, unsigned_zeros=False):
    """Flattened values, rounded: long reductions may differ by an ulp between libraries."""
    values = t.detach().reshape(-1).tolist()
    if unsigned_zeros:      # the sign of a zero gradient through clamp/abs/min depends on the formula
        values = [v + 0.0 for v in values]
    return "[" + ", ".join(f"{v:.{d}f}" for v in values) + "]"


def check(name, make_loss, inputs, *others, d=5, unsigned_zeros=False):
    """For each reduction: value, dtype, shape, and gradient of every float input that requires grad."""
    for reduction in ("none", "mean", "sum"):
        leaves = [x.detach().clone().requires_grad_(True) for x in inputs]
        out = make_loss(reduction)(*leaves, *others)
        out.sum().backward() if out.dim() else out.backward()
        grads = (r(x.grad, 4, unsigned_zeros) for x in leaves)
        print(name, reduction, out.dtype, tuple(out.shape), r(out, d), *grads)


def module_matches_functional(module, function, *args, **kwargs):
    a, b = module(*args), function(*args, **kwargs)
    print(type(module).__name__, "module == functional:", torch.allclose(a, b), a.shape == b.shape)


def warns(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    print("  warnings:", [(w.category.__name__, str(w.message)) for w in caught])
    return out


def fails(fn):
    try:
        fn()
        print("  no error")
    except Exception as e:
        print("  ", type(e).__name__, str(e).splitlines()[0][:160])


torch.manual_seed(0)
x, y = torch.randn(3, 4), torch.randn(3, 4)

# Regression losses (lecture 2: MSE; lecture 3: robust variants)
check("MSELoss", lambda red: nn.MSELoss(reduction=red), [x, y])
check("L1Loss", lambda red: nn.L1Loss(reduction=red), [x, y])
check("SmoothL1Loss", lambda red: nn.SmoothL1Loss(reduction=red, beta=0.5), [x, y])
check("SmoothL1Loss beta0", lambda red: nn.SmoothL1Loss(reduction=red, beta=0.0), [x, y])
check("HuberLoss", lambda red: nn.HuberLoss(reduction=red, delta=0.7), [x, y])
module_matches_functional(nn.HuberLoss(delta=2.0), F.huber_loss, x, y, delta=2.0)
module_matches_functional(nn.SmoothL1Loss(beta=2.0), F.smooth_l1_loss, x, y, beta=2.0)
print("smooth_l1 vs huber:", torch.allclose(F.smooth_l1_loss(x, y, beta=2.0) * 2.0, F.huber_loss(x, y, delta=2.0)))

# Classification: cross-entropy with class indices, probabilities, weights, ignore_index, smoothing
logits, target = torch.randn(5, 3), torch.tensor([0, 2, 1, 2, 0])
check("CE", lambda red: nn.CrossEntropyLoss(reduction=red), [logits], target)
weight = torch.tensor([0.2, 1.0, 3.0])
check("CE weight", lambda red: nn.CrossEntropyLoss(weight=weight, reduction=red), [logits], target)
check("CE ignore", lambda red: nn.CrossEntropyLoss(ignore_index=2, reduction=red), [logits], target)
check("CE weight+ignore", lambda red: nn.CrossEntropyLoss(weight=weight, ignore_index=0, reduction=red), [logits], target)
check("CE smooth", lambda red: nn.CrossEntropyLoss(label_smoothing=0.1, reduction=red), [logits], target)
check("CE smooth+weight", lambda red: nn.CrossEntropyLoss(weight=weight, label_smoothing=0.2, reduction=red), [logits], target)
check("CE smooth+ignore", lambda red: nn.CrossEntropyLoss(ignore_index=1, label_smoothing=0.3, reduction=red), [logits], target)
probs = torch.softmax(torch.randn(5, 3), dim=1)
check("CE probs", lambda red: nn.CrossEntropyLoss(reduction=red), [logits, probs])
check("CE probs weight+smooth", lambda red: nn.CrossEntropyLoss(weight=weight, label_smoothing=0.1, reduction=red), [logits, probs])
img_logits, img_target = torch.randn(2, 3, 2, 2), torch.randint(0, 3, (2, 2, 2))
print("img target", img_target.tolist())
check("CE 4d", lambda red: nn.CrossEntropyLoss(weight=weight, reduction=red), [img_logits], img_target)
check("CE 4d ignore+smooth", lambda red: nn.CrossEntropyLoss(ignore_index=1, label_smoothing=0.1, reduction=red), [img_logits], img_target)
check("CE 4d probs", lambda red: nn.CrossEntropyLoss(reduction=red), [img_logits, torch.softmax(torch.randn(2, 3, 2, 2), 1)])
check("CE 1d", lambda red: nn.CrossEntropyLoss(reduction=red), [logits[0]], torch.tensor(1))
check("NLLLoss", lambda red: nn.NLLLoss(reduction=red), [F.log_softmax(logits, 1)], target)
check("NLLLoss weight+ignore", lambda red: nn.NLLLoss(weight=weight, ignore_index=1, reduction=red), [F.log_softmax(logits, 1)], target)
check("NLLLoss 2d", lambda red: nn.NLLLoss(weight=weight, reduction=red), [F.log_softmax(img_logits, 1)], img_target)
module_matches_functional(nn.CrossEntropyLoss(label_smoothing=0.1), F.cross_entropy, logits, target, label_smoothing=0.1)
print("CE == NLL(log_softmax):", torch.allclose(F.cross_entropy(logits, target), F.nll_loss(F.log_softmax(logits, 1), target)))

# Binary classification
p, t01 = torch.sigmoid(torch.randn(4, 3)), torch.randint(0, 2, (4, 3)).float()
check("BCELoss", lambda red: nn.BCELoss(reduction=red), [p], t01)
check("BCELoss weight", lambda red: nn.BCELoss(weight=torch.tensor([1.0, 2.0, 0.5]), reduction=red), [p], t01)
check("BCELoss soft", lambda red: nn.BCELoss(reduction=red), [p, torch.rand(4, 3)])
check("BCELoss saturated", lambda red: nn.BCELoss(reduction=red), [torch.tensor([0.0, 1.0, 0.5])], torch.tensor([1.0, 0.0, 1.0]))
z = torch.randn(4, 3)
check("BCEWithLogits", lambda red: nn.BCEWithLogitsLoss(reduction=red), [z], t01)
check("BCEWithLogits pos_weight", lambda red: nn.BCEWithLogitsLoss(pos_weight=torch.tensor([1.0, 2.0, 3.0]), reduction=red), [z], t01)
check("BCEWithLogits both", lambda red: nn.BCEWithLogitsLoss(weight=torch.tensor([[0.5], [1.], [2.], [1.]]), pos_weight=torch.tensor([2.0]), reduction=red), [z, torch.rand(4, 3)])
check("BCEWithLogits big", lambda red: nn.BCEWithLogitsLoss(reduction=red), [torch.tensor([-100.0, 0.0, 100.0])], torch.tensor([1.0, 1.0, 0.0]))
print("BCE == BCEWithLogits:", torch.allclose(F.binary_cross_entropy(torch.sigmoid(z), t01), F.binary_cross_entropy_with_logits(z, t01)))

# Divergences and likelihoods
logq, target_p = F.log_softmax(torch.randn(3, 4), 1), F.softmax(torch.randn(3, 4), 1)
for red in ("none", "sum", "batchmean"):
    for log_target in (False, True):
        tgt = target_p.log() if log_target else target_p
        inp = logq.clone().requires_grad_(True)
        out = nn.KLDivLoss(reduction=red, log_target=log_target)(inp, tgt)
        out.sum().backward()
        print("KLDiv", red, log_target, out.dtype, tuple(out.shape), r(out), r(inp.grad, 4))
warns(lambda: print("  KLDiv mean", r(F.kl_div(logq, target_p, reduction="mean"))))
print("KLDiv zero target:", F.kl_div(torch.tensor([-1.0, -2.0]), torch.tensor([0.0, 1.0]), reduction="none"))
rate, counts = torch.randn(2, 3), torch.tensor([[0., 1., 3.], [2., 0., 5.]])
check("PoissonNLL", lambda red: nn.PoissonNLLLoss(reduction=red), [rate], counts)
check("PoissonNLL full", lambda red: nn.PoissonNLLLoss(full=True, reduction=red), [rate], counts)
check("PoissonNLL rate", lambda red: nn.PoissonNLLLoss(log_input=False, full=True, eps=1e-4, reduction=red), [rate.exp()], counts)
mu, obs, var = torch.randn(3, 2), torch.randn(3, 2), torch.rand(3, 2) + 0.1
check("GaussianNLL", lambda red: nn.GaussianNLLLoss(reduction=red), [mu, obs, var])
check("GaussianNLL full", lambda red: nn.GaussianNLLLoss(full=True, reduction=red), [mu, obs, var])
check("GaussianNLL var (3,1)", lambda red: nn.GaussianNLLLoss(reduction=red), [mu, obs, var[:, :1]])
check("GaussianNLL var (3,)", lambda red: nn.GaussianNLLLoss(reduction=red), [mu, obs, var[:, 0]])
check("GaussianNLL scalar var", lambda red: nn.GaussianNLLLoss(reduction=red), [mu, obs], 0.5)
check("GaussianNLL eps", lambda red: nn.GaussianNLLLoss(eps=0.3, reduction=red), [mu, obs, var])
fails(lambda: F.gaussian_nll_loss(mu, obs, -var))
fails(lambda: F.gaussian_nll_loss(mu, obs, torch.rand(2, 2)))

# Margin and embedding losses
a, b, sgn = torch.randn(4), torch.randn(4), torch.tensor([1.0, -1.0, 1.0, -1.0])
check("MarginRanking", lambda red: nn.MarginRankingLoss(margin=0.3, reduction=red), [a, b], sgn)
check("HingeEmbedding", lambda red: nn.HingeEmbeddingLoss(margin=0.8, reduction=red), [a.abs()], sgn)
check("SoftMargin", lambda red: nn.SoftMarginLoss(reduction=red), [a], sgn)
check("MultiLabelSoftMargin", lambda red: nn.MultiLabelSoftMarginLoss(reduction=red), [z], t01)
check("MultiLabelSoftMargin w", lambda red: nn.MultiLabelSoftMarginLoss(weight=torch.tensor([1.0, 2.0, 0.5]), reduction=red), [z], t01)
check("MultiLabelMargin", lambda red: nn.MultiLabelMarginLoss(reduction=red), [z], torch.tensor([[2, 0, -1], [1, -1, 0], [0, 1, 2], [-1, 2, 1]]))
check("MultiLabelMargin 1d", lambda red: nn.MultiLabelMarginLoss(reduction=red), [z[0]], torch.tensor([1, -1, 0]))
check("MultiMargin", lambda red: nn.MultiMarginLoss(reduction=red), [logits], target)
check("MultiMargin p2", lambda red: nn.MultiMarginLoss(p=2, margin=0.5, weight=weight, reduction=red), [logits], target)
e1, e2 = torch.randn(4, 5), torch.randn(4, 5)
check("CosineEmbedding", lambda red: nn.CosineEmbeddingLoss(margin=0.1, reduction=red), [e1, e2], sgn)
anchor, pos, neg = torch.randn(3, 5), torch.randn(3, 5), torch.randn(3, 5)
check("TripletMargin", lambda red: nn.TripletMarginLoss(margin=1.5, reduction=red), [anchor, pos, neg])
check("TripletMargin swap p1", lambda red: nn.TripletMarginLoss(margin=2.0, p=1, swap=True, reduction=red), [anchor, pos, neg], unsigned_zeros=True)
cosine_distance = lambda u, v: 1.0 - F.cosine_similarity(u, v)
check("TripletDist", lambda red: nn.TripletMarginWithDistanceLoss(distance_function=cosine_distance, margin=0.5, reduction=red), [anchor, pos, neg])
check("TripletDist default swap", lambda red: nn.TripletMarginWithDistanceLoss(swap=True, reduction=red), [anchor, pos, neg],
      unsigned_zeros=True)

# CTC (sequence labelling)
T, N, C = 6, 2, 4
log_probs = torch.randn(T, N, C).log_softmax(2)
targets, in_lens, tgt_lens = torch.tensor([[1, 2, 2], [3, 1, 0]]), torch.tensor([6, 5]), torch.tensor([3, 2])
check("CTC", lambda red: nn.CTCLoss(reduction=red), [log_probs], targets, in_lens, tgt_lens, d=4)
check("CTC blank3", lambda red: nn.CTCLoss(blank=3, reduction=red), [log_probs], torch.tensor([[0, 1, 1], [2, 0, 0]]), in_lens, tgt_lens, d=4)
check("CTC concat targets", lambda red: nn.CTCLoss(reduction=red), [log_probs], torch.tensor([1, 2, 2, 3, 1]), in_lens, tgt_lens, d=4)
impossible = torch.tensor([[1, 1, 1], [2, 2, 2]])
check("CTC infinite", lambda red: nn.CTCLoss(reduction=red), [log_probs[:3]], impossible, torch.tensor([3, 3]), torch.tensor([3, 3]), d=4)
check("CTC zero_infinity", lambda red: nn.CTCLoss(zero_infinity=True, reduction=red), [log_probs[:3]], impossible, torch.tensor([3, 3]), torch.tensor([3, 3]), d=4)

# Mistakes students make
print("--- errors and warnings")
fails(lambda: F.cross_entropy(logits, torch.rand(5)))
fails(lambda: F.cross_entropy(logits, torch.rand(5, 4)))
fails(lambda: F.cross_entropy(logits, torch.tensor([0, 3, 1, 2, 0])))
fails(lambda: F.cross_entropy(logits, torch.tensor([0, -2, 1, 2, 0])))
fails(lambda: F.nll_loss(logits, torch.tensor([0, 1, 5, 2, 0])))
fails(lambda: F.cross_entropy(logits, target.float()))
fails(lambda: F.cross_entropy(logits, target.int()))
fails(lambda: F.nll_loss(logits, target.to(torch.uint8)))
fails(lambda: F.cross_entropy(logits, target[:4]))
fails(lambda: F.cross_entropy(img_logits, img_target[:, :1]))
print("all ignored:", F.cross_entropy(logits, torch.full((5,), -100)), F.nll_loss(logits, torch.full((5,), 2), ignore_index=2))
print("all ignored sum:", F.cross_entropy(logits, torch.full((5,), -100), reduction="sum"))
warns(lambda: print("  ", r(F.mse_loss(torch.zeros(3, 1), torch.arange(3.)))))
warns(lambda: print("  ", r(nn.L1Loss()(torch.zeros(3), torch.ones(1)))))
warns(lambda: fails(lambda: F.mse_loss(torch.zeros(3), torch.zeros(4))))
fails(lambda: F.mse_loss(torch.zeros(3), torch.zeros(3, dtype=torch.long)))
fails(lambda: F.binary_cross_entropy(torch.tensor([0.5, 1.5]), torch.tensor([1.0, 0.0])))
fails(lambda: F.binary_cross_entropy(torch.tensor([0.5, -0.1]), torch.tensor([1.0, 0.0])))
fails(lambda: F.binary_cross_entropy(torch.tensor([0.5, 0.2]), torch.tensor([1.0, 0.0, 1.0])))
fails(lambda: F.binary_cross_entropy_with_logits(torch.zeros(3), torch.zeros(2)))
fails(lambda: F.binary_cross_entropy(torch.tensor([0.5, 0.2]), torch.tensor([1, 0])))
fails(lambda: nn.MSELoss(reduction="average")(x, y))
fails(lambda: F.l1_loss(x, y, reduction="max"))
fails(lambda: F.cross_entropy(logits, probs, label_smoothing=1.5))
fails(lambda: F.nll_loss(logits, target, weight=torch.ones(4)))
fails(lambda: F.margin_ranking_loss(a, b, sgn[:3]))
fails(lambda: F.ctc_loss(log_probs, targets, in_lens, torch.tensor([3, 4])))
print("--- legacy arguments")
print("  ", r(warns(lambda: F.mse_loss(x, y, reduction="elementwise_mean"))))
print("  ", r(warns(lambda: F.mse_loss(x, y, size_average=False))))
print("  ", r(warns(lambda: F.l1_loss(x, y, reduce=False))))
print("  ", r(warns(lambda: F.cross_entropy(logits, target, size_average=False, reduce=True))))
legacy = warns(lambda: nn.MSELoss(size_average=False))
print("  ", legacy.reduction, legacy, r(legacy(x, y)))
legacy = warns(lambda: nn.NLLLoss(reduce=False))
print("  ", legacy.reduction, r(legacy(F.log_softmax(logits, 1), target)))
legacy = warns(lambda: nn.BCELoss(size_average=True, reduce=False))
print("  ", legacy.reduction)
print("--- reprs")
for loss in (nn.CrossEntropyLoss(label_smoothing=0.1), nn.CrossEntropyLoss(weight=weight, ignore_index=3), nn.MSELoss(),
             nn.L1Loss(reduction="sum"), nn.SmoothL1Loss(beta=0.5), nn.HuberLoss(delta=2.0), nn.NLLLoss(),
             nn.BCELoss(), nn.BCEWithLogitsLoss(pos_weight=torch.ones(2)), nn.KLDivLoss(reduction="batchmean", log_target=True),
             nn.PoissonNLLLoss(), nn.GaussianNLLLoss(full=True), nn.MarginRankingLoss(margin=0.5), nn.HingeEmbeddingLoss(),
             nn.SoftMarginLoss(), nn.MultiLabelSoftMarginLoss(), nn.MultiLabelMarginLoss(), nn.MultiMarginLoss(p=2),
             nn.CosineEmbeddingLoss(), nn.TripletMarginLoss(swap=True), nn.TripletMarginWithDistanceLoss(margin=0.5),
             nn.CTCLoss(blank=3, zero_infinity=True)):
    print(loss, loss.reduction, [k for k in loss.state_dict()], [(k, v.shape) for k, v in loss.named_buffers()])
ce = nn.CrossEntropyLoss(weight=weight, ignore_index=3, label_smoothing=0.2)
print(ce.weight, ce.ignore_index, ce.label_smoothing, ce.reduction)
bce = nn.BCEWithLogitsLoss(pos_weight=torch.ones(2))
print(bce.pos_weight, bce.weight, nn.TripletMarginLoss().margin, nn.TripletMarginLoss().p, nn.TripletMarginLoss().eps)
print(nn.PoissonNLLLoss().log_input, nn.PoissonNLLLoss().full, nn.PoissonNLLLoss().eps, nn.GaussianNLLLoss().eps, nn.SmoothL1Loss().beta)
print(isinstance(nn.CrossEntropyLoss(), nn.modules.loss._WeightedLoss), isinstance(nn.MSELoss(), nn.modules.loss._Loss))

print("--- more")
cases = {"MSELoss": (nn.MSELoss(), F.mse_loss, (x, y)), "L1Loss": (nn.L1Loss(), F.l1_loss, (x, y)),
         "SmoothL1Loss": (nn.SmoothL1Loss(), F.smooth_l1_loss, (x, y)), "HuberLoss": (nn.HuberLoss(), F.huber_loss, (x, y)),
         "CrossEntropyLoss": (nn.CrossEntropyLoss(), F.cross_entropy, (logits, target)),
         "CE probs": (nn.CrossEntropyLoss(), F.cross_entropy, (logits, probs)),
         "NLLLoss": (nn.NLLLoss(), F.nll_loss, (logits, target)), "BCELoss": (nn.BCELoss(), F.binary_cross_entropy, (p, t01)),
         "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss(), F.binary_cross_entropy_with_logits, (z, t01)),
         "KLDivLoss": (nn.KLDivLoss(reduction="batchmean"), lambda a, b: F.kl_div(a, b, reduction="batchmean"), (logq, target_p)),
         "PoissonNLLLoss": (nn.PoissonNLLLoss(), F.poisson_nll_loss, (rate, counts)),
         "GaussianNLLLoss": (nn.GaussianNLLLoss(), F.gaussian_nll_loss, (mu, obs, var)),
         "MarginRankingLoss": (nn.MarginRankingLoss(), F.margin_ranking_loss, (a, b, sgn)),
         "HingeEmbeddingLoss": (nn.HingeEmbeddingLoss(), F.hinge_embedding_loss, (a, sgn)),
         "SoftMarginLoss": (nn.SoftMarginLoss(), F.soft_margin_loss, (a, sgn)),
         "MultiLabelSoftMarginLoss": (nn.MultiLabelSoftMarginLoss(), F.multilabel_soft_margin_loss, (z, t01)),
         "MultiLabelMarginLoss": (nn.MultiLabelMarginLoss(), F.multilabel_margin_loss, (z[0], torch.tensor([1, -1, 0]))),
         "MultiMarginLoss": (nn.MultiMarginLoss(), F.multi_margin_loss, (logits, target)),
         "CosineEmbeddingLoss": (nn.CosineEmbeddingLoss(), F.cosine_embedding_loss, (e1, e2, sgn)),
         "TripletMarginLoss": (nn.TripletMarginLoss(), F.triplet_margin_loss, (anchor, pos, neg)),
         "TripletMarginWithDistanceLoss": (nn.TripletMarginWithDistanceLoss(), F.triplet_margin_with_distance_loss, (anchor, pos, neg)),
         "CTCLoss": (nn.CTCLoss(), F.ctc_loss, (log_probs, targets, in_lens, tgt_lens))}
for name, (module, function, args) in cases.items():
    first = args[0].detach().double().requires_grad_(True)
    rest = [t.double() if t.is_floating_point() else t for t in args[1:]]
    loss = module(first, *rest)
    same = torch.allclose(loss, function(first, *rest))
    with torch.no_grad():
        frozen = module(first, *rest)
    print(f"{name:30s} {loss.dtype} {type(loss.grad_fn).__name__} {same} {frozen.requires_grad} {frozen.grad_fn} {loss.item():.6f}")

# what print(loss) shows: value and the node that made it
zz = z.clone().requires_grad_(True)
ll = logits.clone().requires_grad_(True)
for loss in (nn.BCEWithLogitsLoss()(zz, t01), nn.BCEWithLogitsLoss(reduction="sum", pos_weight=torch.tensor([2.0, 1.0, 0.5]))(zz, t01),
             nn.SoftMarginLoss()(ll, torch.ones(5, 3)), nn.MultiMarginLoss()(ll, target), nn.MultiLabelMarginLoss()(zz, torch.tensor([[2, 0, -1]] * 4)),
             nn.CrossEntropyLoss()(ll, probs), nn.CrossEntropyLoss(label_smoothing=0.1)(ll, target), nn.NLLLoss()(ll, target),
             nn.MarginRankingLoss()(a.requires_grad_(), b, sgn), nn.KLDivLoss(reduction="batchmean")(logq.requires_grad_(), target_p)):
    print(loss)
a.requires_grad_(False)
logq.requires_grad_(False)

# weighted regression losses (elementwise weight), a random cotangent for reduction='none'
w_elem = torch.rand(3, 4)
for fn in (F.mse_loss, F.l1_loss, F.huber_loss):
    for red in ("none", "mean", "sum"):
        xx = x.clone().requires_grad_(True)
        out = fn(xx, y, weight=w_elem, reduction=red)
        out.backward(torch.randn(out.shape) if red == "none" else None)
        print(fn.__name__, red, tuple(out.shape), r(out, 4), r(xx.grad, 4))
fails(lambda: F.mse_loss(x, y, weight=torch.rand(4)))

# a gradient penalty: differentiate the loss's gradient (double backward)
xx = logits.clone().requires_grad_(True)
g, = torch.autograd.grad(F.cross_entropy(xx, target, label_smoothing=0.1), xx, create_graph=True)
g.pow(2).sum().backward()
print("CE double backward", r(g, 4), r(xx.grad, 4))
xx = x.clone().requires_grad_(True)
g, = torch.autograd.grad(F.smooth_l1_loss(xx, y, beta=0.5), xx, create_graph=True)
g.pow(2).sum().backward()
print("SmoothL1 double backward", r(g, 4), r(xx.grad, 4, unsigned_zeros=True))
# targets that require grad: BCE and MSE differentiate the target too
tt = t01.clone().requires_grad_(True)
F.binary_cross_entropy_with_logits(z, tt).backward()
print("BCEWithLogits target grad", r(tt.grad, 4))
tt = torch.rand(4, 3).requires_grad_(True)
F.binary_cross_entropy(p, tt).backward()
print("BCE target grad", r(tt.grad, 4))
# a sequence model's logits (N, C, L) and a per-step target (N, L)
seq_logits, seq_target = torch.randn(2, 5, 3), torch.randint(0, 5, (2, 3))
print("CE (N, C, L)", r(F.cross_entropy(seq_logits, seq_target, reduction="none"), 4),
      f"{F.cross_entropy(seq_logits.transpose(1, 2).reshape(-1, 5), seq_target.reshape(-1)).item():.5f}",
      f"{F.cross_entropy(seq_logits, seq_target).item():.5f}")

print("--- more errors")
fails(lambda: F.cross_entropy(logits.long(), target))
fails(lambda: F.cross_entropy(logits, probs, ignore_index=1))
fails(lambda: F.cross_entropy(logits[0], torch.tensor([1, 2])))
fails(lambda: F.cross_entropy(img_logits, img_target[0]))
fails(lambda: F.nll_loss(img_logits, img_target.unsqueeze(1)))
fails(lambda: F.nll_loss(logits, target, weight=weight.requires_grad_()))
weight.requires_grad_(False)
fails(lambda: F.binary_cross_entropy(p, t01, weight=torch.ones(3, requires_grad=True)))
fails(lambda: F.multi_margin_loss(logits, target, p=3))
fails(lambda: F.triplet_margin_loss(anchor, pos, neg, margin=0.0))
fails(lambda: F.smooth_l1_loss(x, y, beta=-1.0))
fails(lambda: F.huber_loss(x, y, delta=0.0))
fails(lambda: F.ctc_loss(log_probs, targets, torch.tensor([7, 5]), tgt_lens))
fails(lambda: F.ctc_loss(log_probs, targets, in_lens, tgt_lens, blank=4))
fails(lambda: F.cosine_embedding_loss(e1, e2[:, :4], sgn))
fails(lambda: F.poisson_nll_loss(rate, counts, reduction="elementwise_mean"))
fails(lambda: F.gaussian_nll_loss(mu, obs, var, reduction="elementwise_mean"))
fails(lambda: F.multilabel_soft_margin_loss(z, t01, reduction="elementwise_mean"))
fails(lambda: F.triplet_margin_with_distance_loss(anchor, pos, neg, reduction="elementwise_mean"))
print("  ", r(warns(lambda: F.ctc_loss(log_probs, targets, in_lens, tgt_lens, reduction="elementwise_mean")), 4))
print("  ", r(warns(lambda: F.kl_div(logq, target_p, size_average=False, reduction="batchmean"))))
print("  ", r(warns(lambda: F.binary_cross_entropy(p, t01, reduce=False)), 4))
print("  ", r(warns(lambda: nn.TripletMarginLoss(reduction="elementwise_mean")(anchor, pos, neg))))

# A tiny training step: the gradient of the mean CE is (softmax - onehot) / N
torch.manual_seed(1)
model = nn.Linear(4, 3)
xb, yb = torch.randn(6, 4), torch.randint(0, 3, (6,))
out = model(xb)
out.retain_grad()
loss = F.cross_entropy(out, yb)
loss.backward()
manual = (torch.softmax(out, 1) - F.one_hot(yb, 3)) / 6
print(f"{loss.item():.5f}", torch.allclose(out.grad, manual, atol=1e-6), r(model.weight.grad, 4), r(model.bias.grad, 4))
