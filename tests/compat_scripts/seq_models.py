"""Sequence models from the attention and recurrent lectures: a small transformer trained a few
steps, cells unrolled by hand, masks and padding utilities, seeded."""
import math

import torch
from torch import nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence

torch.manual_seed(0)


class PositionalEncoding(nn.Module):
    def __init__(self, d, n=50):
        super().__init__()
        pos = torch.arange(n).unsqueeze(1)
        div = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
        pe = torch.zeros(n, d)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[: x.size(1)]


class TinyLM(nn.Module):
    def __init__(self, vocab=11, d=16):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        self.pos = PositionalEncoding(d)
        layer = nn.TransformerEncoderLayer(d, nhead=2, dim_feedforward=32, dropout=0.1, batch_first=True)
        self.body = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, vocab)
        self.out.weight = self.emb.weight            # tied

    def forward(self, tokens):
        n = tokens.size(1)
        mask = nn.Transformer.generate_square_subsequent_mask(n)
        return self.out(self.norm(self.body(self.pos(self.emb(tokens)), mask=mask, is_causal=True)))


lm = TinyLM()
print(sum(p.numel() for p in lm.parameters()), lm.out.weight is lm.emb.weight)
opt = torch.optim.AdamW(lm.parameters(), lr=3e-3)
tokens = torch.randint(0, 11, (4, 9))
for step in range(4):
    logits = lm(tokens[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, 11), tokens[:, 1:].reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(step, round(loss.item(), 4))
lm.eval()
with torch.no_grad():
    print(lm(tokens[:1, :5]).argmax(-1))

print(nn.Transformer.generate_square_subsequent_mask(3))
mha = nn.MultiheadAttention(8, 2, batch_first=True)
q = torch.randn(2, 3, 8)
out, w = mha(q, q, q, key_padding_mask=torch.tensor([[False, False, True], [False, False, False]]))
print(out.shape, w.shape, w[0].sum(-1), w[0, :, 2])
print(F.scaled_dot_product_attention(q, q, q, is_causal=True)[0, 0])

# recurrent cells unrolled by hand
cell, gcell = nn.LSTMCell(3, 4), nn.GRUCell(3, 4)
h = c = torch.zeros(2, 4)
hg = torch.zeros(2, 4)
for x_t in torch.randn(5, 2, 3):
    h, c = cell(x_t, (h, c))
    hg = gcell(x_t, hg)
print(h, hg)
rnn = nn.RNN(3, 4, nonlinearity="relu", num_layers=2, dropout=0.0)
print(rnn(torch.randn(5, 2, 3))[1].shape)
seqs = [torch.tensor([1, 2, 3]), torch.tensor([4]), torch.tensor([5, 6])]
print(pad_sequence(seqs, batch_first=True, padding_value=-1), pad_sequence(seqs).shape)
packed = nn.utils.rnn.pack_sequence([s.float()[:, None] for s in seqs], enforce_sorted=False)
print(packed.batch_sizes, packed.sorted_indices, packed.data.squeeze(1))
ln, gn = nn.LayerNorm([2, 3], elementwise_affine=False), nn.GroupNorm(2, 4)
print(ln(torch.arange(6.).view(1, 2, 3)), gn(torch.arange(8.).view(1, 4, 2)))
print(F.layer_norm(torch.tensor([[1., 2., 4.]]), (3,)), nn.RMSNorm(3)(torch.tensor([[1., 2., 4.]])))
