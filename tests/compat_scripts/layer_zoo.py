"""A zoo of nn layers as a course meets them: repr, parameters, output shape/values, grad_fn, seeded."""
import warnings
from collections import OrderedDict

import torch
from torch import nn


def show(m, *inputs, node=True):
    """Print what a student inspects on a fresh layer: repr, parameter shapes, output and its grad_fn."""
    print(m)
    print("  params", [(n, tuple(p.shape)) for n, p in m.named_parameters()])
    out = m(*inputs)
    if isinstance(out, tuple):
        out = out[0]
    flat = out.detach().flatten()
    print("  out", tuple(out.shape), out.dtype, f"{round(out.sum().item(), 3) + 0.0:.3f}", [round(v, 4) for v in flat[:4].tolist()],
          type(out.grad_fn).__name__ if node else "")
    return out


def inp(*shape):
    return torch.randn(*shape, requires_grad=True)


torch.manual_seed(0)
# convolutions
show(nn.Conv1d(2, 4, 3, stride=2, padding=1, dilation=1, bias=False), inp(1, 2, 9))
show(nn.Conv1d(4, 4, 3, groups=2, padding="same", padding_mode="reflect"), inp(2, 4, 7))
show(nn.Conv1d(2, 2, 3, padding=2, padding_mode="circular", dilation=2), inp(1, 2, 6))
show(nn.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=(1, 0), padding_mode="replicate"), inp(1, 2, 5, 5))
show(nn.Conv2d(2, 2, 3, padding="valid", groups=2, bias=False), inp(1, 2, 4, 4))
show(nn.Conv3d(2, 3, 2, stride=(1, 2, 2), padding=1), inp(1, 2, 3, 4, 4))
show(nn.Conv3d(2, 2, 3, padding=1, padding_mode="circular", bias=False), inp(1, 2, 3, 3, 3))
show(nn.ConvTranspose1d(2, 3, 3, stride=2, padding=1, output_padding=1), inp(1, 2, 4))
show(nn.ConvTranspose1d(4, 2, 2, groups=2, dilation=2, bias=False), inp(1, 4, 3))
show(nn.ConvTranspose2d(3, 2, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2)), inp(1, 3, 3, 3))
show(nn.ConvTranspose2d(4, 4, 3, stride=2, groups=4, dilation=2), inp(1, 4, 2, 2))
show(nn.ConvTranspose3d(2, 2, 2, stride=2, padding=(0, 1, 0)), inp(1, 2, 2, 3, 2))
ct = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1)
print(ct(torch.randn(1, 1, 3, 3), output_size=[6, 6]).shape)
for bad in (lambda: nn.Conv2d(3, 4, 3, groups=2), lambda: nn.Conv2d(2, 2, 3, stride=2, padding="same"),
            lambda: nn.Conv2d(2, 2, 3)(torch.randn(1, 3, 5, 5)), lambda: nn.ConvTranspose2d(2, 2, 3, padding="same")):
    try:
        bad()
    except Exception as e:
        print(type(e).__name__, e)
try:
    nn.Conv2d(2, 2, 3, padding_mode="zeros2")
except ValueError as e:         # the message lists a set: its order changes from run to run
    print(type(e).__name__, str(e).split(" must")[0])

# pooling
x4 = inp(1, 2, 5, 5)
show(nn.MaxPool1d(3, stride=2, padding=1, ceil_mode=True), inp(1, 2, 8))
show(nn.MaxPool1d(2, dilation=2, return_indices=True), inp(1, 1, 7))
y, idx = nn.MaxPool2d(2, return_indices=True, ceil_mode=True)(x4)
print(y.shape, idx[0, 0], type(y.grad_fn).__name__)
print(nn.MaxPool2d(2, return_indices=True, ceil_mode=True), nn.MaxPool2d((3, 2), stride=1, padding=1, dilation=(1, 2)))
show(nn.MaxPool2d(3, stride=2, padding=1, dilation=2), x4)
show(nn.MaxPool3d(2, stride=(1, 2, 2), ceil_mode=True), inp(1, 1, 3, 5, 5))
show(nn.AvgPool1d(3, stride=2, padding=1, count_include_pad=False, ceil_mode=True), inp(1, 2, 8))
show(nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=True), x4)
show(nn.AvgPool2d(2, divisor_override=3), x4)
show(nn.AvgPool3d((1, 2, 2), stride=1, padding=(0, 1, 1), count_include_pad=False), inp(1, 1, 2, 3, 3))
show(nn.AdaptiveAvgPool1d(3), inp(1, 2, 7))
show(nn.AdaptiveAvgPool2d((None, 2)), x4)
show(nn.AdaptiveAvgPool3d(2), inp(1, 1, 3, 5, 4))
show(nn.AdaptiveMaxPool1d(4, return_indices=True), inp(1, 2, 9))
show(nn.AdaptiveMaxPool2d((2, 3)), x4)
show(nn.AdaptiveMaxPool3d((1, 2, 2)), inp(1, 1, 3, 4, 4))
show(nn.LPPool1d(2, 3, stride=2), inp(1, 2, 8).abs())
show(nn.LPPool2d(1.5, (2, 3), ceil_mode=True), inp(1, 2, 5, 5).abs())
pool = nn.MaxPool2d(2, return_indices=True)
unpool = nn.MaxUnpool2d(2)
p, i = pool(x4)
print(unpool, unpool(p, i, output_size=x4.shape).shape, type(unpool(p, i, output_size=(5, 5)).grad_fn).__name__)
try:
    unpool(p, i)
except RuntimeError as e:
    print(type(e).__name__, e)
print(nn.MaxUnpool1d(3, stride=2, padding=1), nn.MaxUnpool3d((1, 2, 2)))
torch.manual_seed(1)
show(nn.FractionalMaxPool2d(2, output_size=(3, 3)), inp(1, 2, 7, 7))
show(nn.FractionalMaxPool2d((2, 2), output_ratio=0.5, return_indices=True), inp(1, 1, 8, 8))

# upsampling, pixel shuffle, padding
img = torch.arange(1., 10.).view(1, 1, 3, 3).requires_grad_()
for kw in (dict(scale_factor=2), dict(size=(4, 5), mode="nearest"), dict(scale_factor=2, mode="bilinear"),
           dict(scale_factor=1.5, mode="bilinear", align_corners=True), dict(size=5, mode="bicubic"),
           dict(scale_factor=2, mode="nearest-exact")):
    show(nn.Upsample(**kw), img, node=kw.get("mode", "nearest").startswith("nearest"))
show(nn.Upsample(scale_factor=2, mode="linear", align_corners=False), inp(1, 2, 3), node=False)
show(nn.Upsample(size=(2, 4, 4), mode="trilinear"), inp(1, 1, 1, 2, 2), node=False)
show(nn.UpsamplingNearest2d(scale_factor=2), img)
show(nn.UpsamplingBilinear2d(size=4), img, node=False)
show(nn.PixelShuffle(2), inp(1, 8, 2, 3))
show(nn.PixelUnshuffle(3), inp(1, 1, 6, 3))
for pad in (nn.ReflectionPad1d(2), nn.ReflectionPad2d((1, 0, 2, 1)), nn.ReplicationPad1d((0, 3)),
            nn.ReplicationPad2d(1), nn.ZeroPad2d((1, 1, 0, 2)), nn.ConstantPad1d(2, 3.5), nn.ConstantPad2d((1, 0, 0, 1), -1.0),
            nn.CircularPad1d(1), nn.CircularPad2d((1, 2, 0, 1)), nn.ZeroPad1d(1)):
    out = show(pad, img if "2d" in type(pad).__name__ else img[0])
    print(out[..., 0, :].tolist() if out.dim() == 4 else out[0].tolist())
show(nn.ReflectionPad3d(1), inp(1, 1, 2, 2, 2))
show(nn.ReplicationPad3d((1, 0, 0, 1, 1, 0)), inp(1, 1, 2, 2, 2))
show(nn.ConstantPad3d(1, 0.5), inp(1, 1, 1, 2, 2))
show(nn.CircularPad3d(1), inp(1, 1, 2, 2, 2))
show(nn.ZeroPad3d((1, 0, 1, 0, 0, 1)), inp(1, 1, 1, 2, 2))

# normalization: train vs eval, buffers after steps
torch.manual_seed(2)
for bn, x in ((nn.BatchNorm1d(3), inp(4, 3)), (nn.BatchNorm1d(3, momentum=0.5, eps=1e-3), inp(2, 3, 5)),
              (nn.BatchNorm2d(2, momentum=None), inp(3, 2, 2, 2)), (nn.BatchNorm2d(2, affine=False), inp(2, 2, 3, 3)),
              (nn.BatchNorm2d(2, track_running_stats=False), inp(2, 2, 2, 2)), (nn.BatchNorm3d(2), inp(2, 2, 2, 2, 2))):
    show(bn, x)
    for _ in range(2):
        bn(x * 2 + 1)
    print("  buffers", [(n, [round(v, 4) for v in b.flatten().tolist()]) for n, b in bn.named_buffers()])
    bn.eval()
    out = bn(x)
    print("  eval", f"{out.sum().item():.4f}", type(out.grad_fn).__name__, bn.training)
print(list(nn.BatchNorm2d(2).state_dict().keys()), nn.BatchNorm2d(2).num_batches_tracked)
try:
    nn.BatchNorm1d(3)(torch.randn(1, 3))
except ValueError as e:
    print(type(e).__name__, e)
show(nn.LayerNorm(4), inp(2, 3, 4))
show(nn.LayerNorm((3, 4), elementwise_affine=False), inp(2, 3, 4))
show(nn.LayerNorm([4], bias=False, eps=1e-3), inp(2, 4))
show(nn.GroupNorm(2, 4), inp(2, 4, 3))
show(nn.GroupNorm(1, 2, affine=False), inp(2, 2, 2, 2))
for inorm, x in ((nn.InstanceNorm1d(2), inp(2, 2, 5)), (nn.InstanceNorm1d(2, affine=True), inp(2, 2, 5)),
                 (nn.InstanceNorm2d(2, track_running_stats=True), inp(2, 2, 3, 3)), (nn.InstanceNorm3d(1, affine=True), inp(1, 1, 2, 2, 2))):
    show(inorm, x)
    print("  buffers", [(n, [round(v, 4) for v in b.flatten().tolist()]) for n, b in inorm.named_buffers()])
    inorm.eval()
    print("  eval", f"{inorm(x).sum().item():.4f}")
show(nn.LocalResponseNorm(2), inp(1, 4, 2, 2))
show(nn.LocalResponseNorm(3, alpha=1e-2, beta=0.5, k=2.0), inp(1, 3, 4))
show(nn.RMSNorm(4), inp(2, 4))
show(nn.RMSNorm([2, 3], eps=1e-5, elementwise_affine=False), inp(2, 2, 3))

# activations on zeros, negatives and large values
v = torch.tensor([[-30.0, -2.0, -0.5, 0.0, 0.25, 1.0, 3.0, 25.0]], requires_grad=True)
for act in (nn.ReLU(), nn.ReLU(inplace=True), nn.ReLU6(), nn.LeakyReLU(), nn.LeakyReLU(0.2, inplace=True), nn.PReLU(),
            nn.ELU(), nn.ELU(alpha=0.5), nn.SELU(), nn.CELU(2.0), nn.GELU(), nn.GELU("tanh"), nn.SiLU(), nn.Mish(),
            nn.Softplus(), nn.Softplus(beta=2, threshold=5), nn.Softsign(), nn.Softshrink(), nn.Softshrink(1.5),
            nn.Hardshrink(0.3), nn.Tanhshrink(), nn.Hardtanh(), nn.Hardtanh(-2.0, 2.0), nn.Hardsigmoid(),
            nn.Hardswish(), nn.LogSigmoid(), nn.Sigmoid(), nn.Tanh(), nn.Threshold(0.1, 20.0), nn.GLU(),
            nn.Softmax(dim=1), nn.Softmax(dim=-1), nn.LogSoftmax(1), nn.Softmin(1)):
    out = show(act, v * 1)
    print("  ", [round(t, 3) for t in out.detach().flatten().tolist()])
show(nn.PReLU(num_parameters=3, init=0.1), inp(2, 3, 2))
show(nn.Softmax2d(), inp(1, 3, 2, 2))
show(nn.Softmax(dim=0), inp(2, 3))
show(nn.LogSoftmax(dim=-2), inp(2, 3, 2))
print(nn.Softmax(), nn.GLU(dim=1), nn.Threshold(0.1, 20, inplace=True), nn.Hardtanh(0, 1, inplace=True))

# linear layers, identity, flatten, dropout reprs
torch.manual_seed(3)
show(nn.Linear(4, 3, bias=False), inp(2, 4))
show(nn.Linear(4, 2), inp(5, 2, 4))
show(nn.Bilinear(3, 2, 4), inp(5, 3), inp(5, 2))
show(nn.Bilinear(2, 2, 1, bias=False), inp(1, 2), inp(1, 2))
lazy = nn.LazyLinear(3)
print(lazy, lazy.weight)
lazy(inp(2, 5))
show(lazy, inp(2, 5))
print(type(lazy).__name__, lazy.in_features)
show(nn.Identity(54, unused_argument1=0.1), inp(2, 3))
show(nn.Flatten(), inp(2, 3, 2, 2))
show(nn.Flatten(0, 2), inp(2, 3, 2))
show(nn.Unflatten(1, (2, 3)), inp(2, 6))
show(nn.Unflatten(-1, torch.Size([2, 2])), inp(3, 4))
print(nn.Dropout(), nn.Dropout(0.2, inplace=True), nn.Dropout1d(0.3), nn.Dropout2d(), nn.Dropout3d(0.1),
      nn.AlphaDropout(0.2), nn.FeatureAlphaDropout(0.4))
drop = nn.Dropout(0.5)
drop.eval()
print(drop(torch.ones(4)), drop.training, drop.p, drop.inplace)

# embeddings and recurrent layers
torch.manual_seed(4)
emb = nn.Embedding(6, 3, padding_idx=2)
print(emb, emb.weight[2])
out = show(emb, torch.tensor([[0, 2, 5], [2, 2, 1]]))
out.sum().backward()
print(emb.weight.grad[2], emb.weight.grad[0])
emb = nn.Embedding(5, 2, max_norm=1.0, norm_type=2.0, scale_grad_by_freq=True)
show(emb, torch.tensor([1, 1, 3]))
print([round(t, 4) for t in emb.weight.norm(dim=1).tolist()])
emb(torch.tensor([1, 1, 3])).sum().backward()
print(emb.weight.grad)
print(nn.Embedding(4, 2, sparse=True), nn.Embedding.from_pretrained(torch.eye(3), freeze=True, padding_idx=0))
print(nn.EmbeddingBag(5, 2, mode="max"), nn.EmbeddingBag(5, 2))
for rnn in (nn.RNN(3, 4), nn.RNN(3, 4, 2, nonlinearity="relu", bias=False, batch_first=True),
            nn.LSTM(3, 5, proj_size=2), nn.LSTM(3, 4, num_layers=2, bidirectional=True, dropout=0.2),
            nn.GRU(2, 3, batch_first=True, bidirectional=True), nn.GRU(3, 3, 3, dropout=0.5),
            nn.LSTM(3, 2, batch_first=True)):
    print(rnn)
    print("  ", [(n, tuple(p.shape)) for n, p in rnn.named_parameters()])
    x = torch.randn(2, 4, rnn.input_size)
    with warnings.catch_warnings():     # (torch's oneDNN backend says it can't project LSTMs)
        warnings.simplefilter("ignore")
        out, h = rnn(x)
    h = h[0] if isinstance(h, tuple) else h
    print("  ", tuple(out.shape), tuple(h.shape), type(out.grad_fn).__name__)
print(nn.RNNCell(3, 4), nn.LSTMCell(3, 4, bias=False), nn.GRUCell(2, 3))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print(nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16))
print([str(w.message)[:40] for w in caught])
print(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu", batch_first=True, norm_first=True))
print(nn.TransformerDecoderLayer(8, 2, 16), nn.TransformerEncoder(nn.TransformerEncoderLayer(4, 1, 8), 2, enable_nested_tensor=False))

# containers
torch.manual_seed(5)
seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 3), nn.Tanh()), nn.Linear(3, 1))
print(seq, seq[0], seq[-1], seq[1:3], type(seq[1:]).__name__, len(seq))
seq.append(nn.Sigmoid())
seq.insert(1, nn.BatchNorm1d(3))
seq.extend([nn.Identity(), nn.Flatten(0)])
print(seq, len(seq))
print(seq.pop(2), len(seq))
del seq[0]
del seq[-2:]
print(seq, [n for n, _ in seq.named_parameters()])
seq[0] = nn.Identity()
print(seq[0], list(seq.state_dict().keys()))
named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
print(named, named.fc, named[1], list(named.state_dict().keys()), named + nn.Sequential(nn.Tanh()))
ml = nn.ModuleList([nn.Linear(2, 2), nn.ReLU()])
ml.append(nn.Linear(2, 1))
ml.extend([nn.Tanh()])
ml.insert(0, nn.Identity())
print(ml, ml[1:3], len(ml), ml[-1])
md = nn.ModuleDict({"b": nn.Linear(1, 1), "a": nn.ReLU()})
md["c"] = nn.Sequential(nn.Tanh())
md.update({"d": nn.Sigmoid()})
print(md, list(md.keys()), md.pop("a"), "a" in md, len(md))
pl = nn.ParameterList([nn.Parameter(torch.zeros(2)), nn.Parameter(torch.ones(2, 3))])
pl.append(nn.Parameter(torch.ones(1, dtype=torch.float64)))
print(pl, [n for n, _ in pl.named_parameters()], len(pl))
pd = nn.ParameterDict({"w": nn.Parameter(torch.ones(3)), "b": nn.Parameter(torch.zeros(1), requires_grad=False)})
print(pd, list(pd.keys()), pd["w"].shape)
pd.update(OrderedDict([("z", nn.Parameter(torch.ones(1))), ("a", nn.Parameter(torch.ones(2)))]))
pd.update([("c", nn.Parameter(torch.ones(1)))])
print(list(pd.keys()), [n for n, _ in pd.named_parameters()])
try:
    pd.update([("x", 1, 2)])
except ValueError as e:
    print(type(e).__name__, e)
