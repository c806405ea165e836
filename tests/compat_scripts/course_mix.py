"""Course-style code across later lectures: normalization, dropout, optimizers, schedulers,
recurrent layers, saving and loading, hooks and custom Functions, all seeded."""
import io
import math

import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_printoptions(precision=4)

# --- batch norm and dropout, train vs eval ---
bn = nn.BatchNorm2d(3)
x = torch.randn(4, 3, 5, 5) * 2 + 1
y = bn(x)
print("bn train", y.std().item().__round__(4), bn.running_mean, bn.running_var, bn.num_batches_tracked)
bn.eval()
print("bn eval", bn(x)[0, 0, 0])
drop = nn.Dropout(0.3)
print("dropout train", drop(torch.ones(2, 8)))
drop.eval()
print("dropout eval", drop(torch.ones(2, 3)))
print(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout2d(0.2)))

# --- optimizers and schedulers on a small regression ---
def fit(opt_cls, sched_cls=None, steps=6, **kw):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = opt_cls(model.parameters(), **kw)
    sched = sched_cls(opt) if sched_cls else None
    x, t = torch.randn(16, 4), torch.randn(16, 1)
    lrs = []
    for _ in range(steps):
        loss = F.mse_loss(model(x), t)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if sched:
            sched.step()
        lrs.append(round(opt.param_groups[0]["lr"], 6))
    return round(loss.item(), 5), lrs

print("sgd momentum", fit(torch.optim.SGD, lr=0.1, momentum=0.9, nesterov=True))
print("adam", fit(torch.optim.Adam, lr=0.01, betas=(0.9, 0.99)))
print("adamw", fit(torch.optim.AdamW, lr=0.01, weight_decay=0.1))
print("rmsprop", fit(torch.optim.RMSprop, lr=0.01, alpha=0.9))
print("adagrad", fit(torch.optim.Adagrad, lr=0.1))
print("steplr", fit(torch.optim.SGD, lambda o: torch.optim.lr_scheduler.StepLR(o, 2, gamma=0.5), lr=0.1))
print("cosine", fit(torch.optim.SGD, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4), lr=0.1))
print("onecycle", fit(torch.optim.SGD, lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=6),
                      lr=0.1))

# --- recurrent layers ---
torch.manual_seed(2)
lstm = nn.LSTM(input_size=3, hidden_size=4, num_layers=2, batch_first=True)
gru = nn.GRU(3, 4, bidirectional=True)
seq = torch.randn(2, 5, 3)
out, (h, c) = lstm(seq)
print("lstm", out.shape, h.shape, out[0, -1], c[1, 0])
out, h = gru(seq.transpose(0, 1))
print("gru", out.shape, h.shape, h[1, 1])
packed = nn.utils.rnn.pack_padded_sequence(seq, torch.tensor([5, 3]), batch_first=True)
out, (h, c) = lstm(packed)
padded, lengths = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
print("packed", padded[1, 3:], lengths)
emb = nn.Embedding(10, 3, padding_idx=0)
print("embedding", emb(torch.tensor([[0, 2], [9, 0]])))

# --- losses ---
logits, target = torch.randn(5, 4, requires_grad=True), torch.tensor([0, 3, 1, 1, 2])
for name, loss in [("ce smooth", F.cross_entropy(logits, target, label_smoothing=0.1)),
                   ("nll weight", F.nll_loss(F.log_softmax(logits, 1), target, weight=torch.tensor([1., 2., 1., .5]))),
                   ("bce logits", F.binary_cross_entropy_with_logits(logits, torch.rand(5, 4), pos_weight=torch.ones(4) * 2)),
                   ("smooth l1", F.smooth_l1_loss(logits, torch.zeros(5, 4), beta=0.5)),
                   ("kl", F.kl_div(F.log_softmax(logits, 1), F.softmax(torch.randn(5, 4), 1), reduction="batchmean"))]:
    loss.backward(retain_graph=True)
    print(name, round(loss.item(), 4))
print("grad", logits.grad)

# --- saving and loading ---
model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
buf = io.BytesIO()
torch.save({"model": model.state_dict(), "epoch": 3}, buf)
buf.seek(0)
ckpt = torch.load(buf)
clone = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
print(clone.load_state_dict(ckpt["model"]), ckpt["epoch"], list(ckpt["model"].keys()))
print(torch.equal(clone[0].weight, model[0].weight))

# --- hooks and a custom Function ---
class Clamp01(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(0, 1)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return g * ((x > 0) & (x < 1)).to(g.dtype)

seen = []
lin = nn.Linear(3, 3)
lin.register_forward_hook(lambda m, i, o: seen.append(("fwd", tuple(o.shape))))
lin.register_full_backward_hook(lambda m, gi, go: seen.append(("bwd", tuple(go[0].shape))))
x = torch.randn(2, 3, requires_grad=True)
x.register_hook(lambda g: seen.append(("x", round(g.sum().item(), 4))))
Clamp01.apply(lin(x)).sum().backward()
print(seen)
print(torch.autograd.gradcheck(Clamp01.apply, ((torch.rand(4, dtype=torch.float64) * 0.8 + 0.1).requires_grad_(),)))

# --- initialization ---
torch.manual_seed(3)
w = torch.empty(3, 5)
for name, init in [("xavier_uniform", lambda: nn.init.xavier_uniform_(w)), ("xavier_normal", lambda: nn.init.xavier_normal_(w)),
                   ("kaiming_normal", lambda: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")),
                   ("uniform", lambda: nn.init.uniform_(w, -0.1, 0.1)), ("constant", lambda: nn.init.constant_(w, 0.3)),
                   ("orthogonal", lambda: nn.init.orthogonal_(w)), ("trunc_normal", lambda: nn.init.trunc_normal_(w, std=0.02))]:
    init()
    print(name, w[0])
print(nn.init.calculate_gain("leaky_relu", 0.2), nn.init.calculate_gain("tanh"))
