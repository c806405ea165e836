# Attention and a small Transformer encoder classifier: MultiheadAttention with masks, encoder layers with
# norm_first both ways, LayerNorm, AdamW with a warmup LambdaLR, scaled_dot_product_attention with is_causal.
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def init_deterministic(model, scale=0.3):
    with torch.no_grad():
        for i, (name, p) in enumerate(model.named_parameters()):
            if "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.linspace(-1, 1, p.numel()))
            else:
                p.copy_((torch.arange(p.numel(), dtype=torch.float32) * 0.61 + i).sin().view(p.shape) * scale)


def fmt(t, n=6):
    return [f"{v:.4f}" for v in t.flatten()[:n].tolist()]


B, T, E, H = 2, 5, 8, 2
x = torch.linspace(-1, 1, B * T * E).view(B, T, E).mul(3).sin()

# -- MultiheadAttention ------------------------------------------------------------------------------
mha = nn.MultiheadAttention(E, H, batch_first=True)
init_deterministic(mha)
print(mha)
print([(name, tuple(p.shape)) for name, p in mha.named_parameters()])
out, w = mha(x, x, x)
print("self-attn", tuple(out.shape), tuple(w.shape), fmt(out))
print("weights rows sum to 1", torch.allclose(w.sum(-1), torch.ones(B, T)))
key_padding_mask = torch.tensor([[False] * 5, [False, False, False, True, True]])
out, w = mha(x, x, x, key_padding_mask=key_padding_mask)
print("padded keys get no weight", w[1, :, 3:].abs().max().item(), fmt(w[1, 0], 5))
causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
out, w = mha(x, x, x, attn_mask=causal, need_weights=True, average_attn_weights=False)
print("per-head weights", tuple(w.shape), fmt(w[0, 1, 2], 5))
out_nw, w_none = mha(x, x, x, attn_mask=causal, need_weights=False)
print(w_none, torch.allclose(out, out_nw, atol=1e-6))
float_mask = torch.zeros(T, T).masked_fill(causal, float("-inf"))
out_f, _ = mha(x, x, x, attn_mask=float_mask)
print("bool and float masks agree", torch.allclose(out, out_f, atol=1e-6))
# cross attention with a different key/value length and the (L, N, E) layout
mha_seq = nn.MultiheadAttention(E, 4, kdim=6, vdim=3)
init_deterministic(mha_seq)
q = x.transpose(0, 1)
k, v = torch.linspace(0, 1, 7 * B * 6).view(7, B, 6), torch.linspace(1, 0, 7 * B * 3).view(7, B, 3)
out, w = mha_seq(q, k, v)
print("cross-attn", tuple(out.shape), tuple(w.shape), fmt(out, 4))
print(sorted(k for k in mha_seq.state_dict()))
try:
    nn.MultiheadAttention(10, 3)
except AssertionError as e:
    print("AssertionError:", e)

# -- scaled_dot_product_attention ----------------------------------------------------------------------
q = torch.linspace(-1, 1, B * H * T * 4).view(B, H, T, 4).cos()
k = torch.linspace(-2, 1, B * H * T * 4).view(B, H, T, 4).sin()
v = torch.linspace(0, 1, B * H * T * 4).view(B, H, T, 4)
causal_out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
scores = q @ k.transpose(-2, -1) / math.sqrt(4)
scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
manual = scores.softmax(-1) @ v
print("sdpa", tuple(causal_out.shape), torch.allclose(causal_out, manual, atol=1e-6), fmt(causal_out[0, 1, 2], 4))
print("first query sees only itself", torch.allclose(causal_out[..., 0, :], v[..., 0, :]))
print(fmt(F.scaled_dot_product_attention(q, k, v, scale=0.1)[1, 0, 4], 4))
print(fmt(F.scaled_dot_product_attention(q, k, v, attn_mask=torch.ones(T, T, dtype=torch.bool).tril())[1, 1, 3], 4))

# -- Transformer encoder -----------------------------------------------------------------------------
for norm_first in (False, True):
    layer = nn.TransformerEncoderLayer(d_model=E, nhead=H, dim_feedforward=16, dropout=0.0, batch_first=True,
                                       norm_first=norm_first)
    encoder = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(E), enable_nested_tensor=False)
    init_deterministic(encoder)
    y = encoder(x, src_key_padding_mask=key_padding_mask)
    print(f"norm_first={norm_first}", tuple(y.shape), fmt(y[1, 0]))
    y_causal = encoder(x, mask=nn.Transformer.generate_square_subsequent_mask(T), is_causal=True)
    print("causal", fmt(y_causal[0, 0]))
# inference: eval mode under no_grad, padded positions of the default (nested-tensor) encoder
encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, dim_feedforward=16, batch_first=True), num_layers=2)
init_deterministic(encoder)
encoder.eval()
with torch.no_grad():
    y = encoder(x, src_key_padding_mask=key_padding_mask)
print("eval no_grad", tuple(y.shape), fmt(y[0, 4], 4), fmt(y[1, 2], 4), fmt(y[1, 3], 4))
y = encoder(x, src_key_padding_mask=key_padding_mask)
print("eval with grad", y.requires_grad, fmt(y[1, 2], 4))
print(layer)
print(len(encoder.layers), [k for k in encoder.state_dict().keys()][:8])
print(nn.Transformer.generate_square_subsequent_mask(3))

# -- LayerNorm -----------------------------------------------------------------------------------------
ln = nn.LayerNorm(E)
print(ln, fmt(ln(x)[0, 0]), f"{ln(x).mean(-1).abs().max().item():.4f}")
ln2 = nn.LayerNorm([T, E], elementwise_affine=False)
print(ln2, list(ln2.state_dict().keys()), f"{ln2(x).std(dim=(1, 2), unbiased=False).mean().item():.4f}")
print(fmt(F.layer_norm(x, (E,), weight=torch.linspace(0.5, 1.5, E), bias=torch.full((E,), 0.1))[1, 2]))


# -- a tiny classifier trained with AdamW and a warmup schedule ---------------------------------------
class Classifier(nn.Module):
    def __init__(self, vocab=11, d=E, classes=3):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.zeros(1, 6, d))
        layer = nn.TransformerEncoderLayer(d, H, dim_feedforward=16, dropout=0.0, batch_first=True,
                                           activation="gelu", norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(d, classes)

    def forward(self, tokens, pad_mask):
        h = self.embed(tokens) + self.pos[:, :tokens.size(1)]
        h = self.encoder(h, src_key_padding_mask=pad_mask)
        keep = (~pad_mask).unsqueeze(-1).float()
        return self.head((h * keep).sum(1) / keep.sum(1))


tokens = (torch.arange(4 * 6).view(4, 6) * 7) % 10 + 1
pad_mask = torch.zeros(4, 6, dtype=torch.bool)
pad_mask[1, 4:] = True
pad_mask[3, 2:] = True
tokens[pad_mask] = 0
labels = torch.tensor([0, 2, 1, 2])
model = Classifier()
init_deterministic(model, scale=0.2)
decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                        lr=3e-3)
warmup = 3
sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=lambda s: min(1.0, (s + 1) / warmup))
print("groups", [len(g["params"]) for g in opt.param_groups], [g["weight_decay"] for g in opt.param_groups])
for step in range(6):
    opt.zero_grad()
    loss = F.cross_entropy(model(tokens, pad_mask), labels, label_smoothing=0.1)
    loss.backward()
    opt.step()
    sched.step()
    print(f"step {step} loss {loss.item():.4f} lr {[f'{lr:.5f}' for lr in sched.get_last_lr()]}")
model.eval()
with torch.no_grad():
    pred = model(tokens, pad_mask).argmax(1)
print(pred, pred.dtype, sched.state_dict()["last_epoch"], sched.state_dict()["base_lrs"])
