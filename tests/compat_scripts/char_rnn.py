# A character-level language model: Embedding, stacked and bidirectional LSTM/GRU, packed variable-length
# batches, CrossEntropyLoss ignoring the padding index, gradient clipping, RMSprop and Adagrad.
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

text = ["hello world", "deep nets", "lstm", "gru cells!"]
chars = sorted(set("".join(text)))
PAD = 0
stoi = {c: i + 1 for i, c in enumerate(chars)}
vocab = len(chars) + 1
print("vocab", vocab)

seqs = [torch.tensor([stoi[c] for c in s]) for s in text]
lengths = torch.tensor([len(s) for s in seqs])
padded = pad_sequence(seqs, batch_first=True, padding_value=PAD)
print(padded.shape, padded.dtype, lengths.tolist())
print(padded[2])


def init_deterministic(model):
    with torch.no_grad():
        for i, (name, p) in enumerate(model.named_parameters()):
            p.copy_((torch.arange(p.numel(), dtype=torch.float32) * 0.37 + i).sin().view(p.shape) * 0.3)


class CharRNN(nn.Module):
    def __init__(self, cell="lstm", hidden=12):
        super().__init__()
        self.embed = nn.Embedding(vocab, 8, padding_idx=PAD)
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(8, hidden, num_layers=2, batch_first=True, dropout=0.0)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x, lengths):
        emb = self.embed(x)
        packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        out, hidden = self.rnn(packed)
        out, out_lengths = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
        return self.out(out), hidden


inputs, targets = padded[:, :-1], padded[:, 1:].clone()
targets[targets == 0] = PAD
in_lengths = (lengths - 1).clamp(min=1)
criterion = nn.CrossEntropyLoss(ignore_index=PAD)

for cell, make_opt in [("lstm", lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9)),
                       ("gru", lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.01))]:
    model = CharRNN(cell)
    init_deterministic(model)
    print(model)
    print([k for k in model.state_dict().keys()][:6])
    opt = make_opt(model.parameters())
    for step in range(5):
        opt.zero_grad()
        logits, hidden = model(inputs, in_lengths)
        loss = criterion(logits.reshape(-1, vocab), targets.reshape(-1))
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
        opt.step()
        print(f"{cell} step {step} loss {loss.item():.4f} grad norm {norm.item():.4f}")
    if cell == "lstm":
        h, c = hidden
        print("lstm hidden", tuple(h.shape), tuple(c.shape))
    else:
        print("gru hidden", tuple(hidden.shape))
    print("embedding pad row grad", model.embed.weight.grad[PAD].abs().sum().item())
    print(sorted(opt.state_dict()["state"][0].keys()))

# the ignored positions do not count: same loss as averaging over the real targets by hand
mask = targets.reshape(-1) != PAD
manual = nn.functional.cross_entropy(logits.reshape(-1, vocab)[mask], targets.reshape(-1)[mask])
print(f"{loss.item():.4f} {manual.item():.4f}")
print(nn.CrossEntropyLoss(ignore_index=PAD, reduction="none")(logits.reshape(-1, vocab), targets.reshape(-1))
      .view(4, -1)[2].detach().round(decimals=3))

# shapes for batch_first both ways, bidirectional, with and without an initial state
x_tbf = torch.linspace(-1, 1, 5 * 3 * 4).view(5, 3, 4)            # (T, B, F)
lstm = nn.LSTM(4, 6, num_layers=2, bidirectional=True)
init_deterministic(lstm)
out, (h, c) = lstm(x_tbf)
print("bi-lstm", tuple(out.shape), tuple(h.shape), tuple(c.shape))
print([f"{v:.4f}" for v in out[-1, 0].tolist()])
# forward direction's last output is the top layer's forward final state; backward's is at t=0
print(torch.allclose(out[-1, :, :6], h[2]), torch.allclose(out[0, :, 6:], h[3]))
gru = nn.GRU(4, 5, num_layers=2, bidirectional=True, batch_first=True)
init_deterministic(gru)
h0 = torch.zeros(4, 3, 5)
out, hn = gru(x_tbf.transpose(0, 1), h0)
print("bi-gru batch_first", tuple(out.shape), tuple(hn.shape))
print([f"{v:.4f}" for v in hn[-1, 1].tolist()])
print([name for name, _ in gru.named_parameters()][:8])
print(tuple(gru.weight_ih_l0.shape), tuple(gru.weight_hh_l1_reverse.shape), tuple(lstm.bias_ih_l1.shape))

# packed sequences: shapes of the packed data and batch sizes
emb = nn.Embedding(vocab, 3)
init_deterministic(emb)
packed = pack_padded_sequence(emb(padded), lengths, batch_first=True, enforce_sorted=False)
print(type(packed).__name__, tuple(packed.data.shape), packed.batch_sizes.tolist(), packed.sorted_indices.tolist())
lstm1 = nn.LSTM(3, 4, batch_first=True, bidirectional=True)
init_deterministic(lstm1)
out_p, (h, c) = lstm1(packed)
unpacked, lens = pad_packed_sequence(out_p, batch_first=True)
print(tuple(unpacked.shape), lens.tolist(), tuple(h.shape))
print("padding stays zero", unpacked[2, 4:].abs().sum().item())
# final states of a packed run equal the outputs at each sequence's last real step (forward direction)
last = torch.stack([unpacked[i, lengths[i] - 1, :4] for i in range(4)])
print(torch.allclose(last, h[0], atol=1e-6))

try:
    pack_padded_sequence(emb(padded), lengths, batch_first=True)
except RuntimeError as e:
    print("RuntimeError:", str(e).split(",")[0])
try:
    lstm(torch.zeros(5, 3, 7))
except RuntimeError as e:
    print("RuntimeError:", e)

# an LSTMCell / GRUCell loop by hand
cell = nn.LSTMCell(4, 3)
init_deterministic(cell)
hx, cx = torch.zeros(2, 3), torch.zeros(2, 3)
for t in range(5):
    hx, cx = cell(x_tbf[t, :2], (hx, cx))
print("lstm cell", [f"{v:.4f}" for v in hx.flatten().tolist()])
gcell = nn.GRUCell(4, 3)
init_deterministic(gcell)
hx = gcell(x_tbf[0])
print("gru cell", tuple(hx.shape), f"{hx.sum().item():.4f}")

# truncated backpropagation through time: carry the state across chunks, detached
model = CharRNN("lstm")
init_deterministic(model)
opt = torch.optim.RMSprop(model.parameters(), lr=0.005, momentum=0.5, centered=True)
stream = torch.tensor([stoi[c] for c in "hello world deep nets lstm gru cells!"]).view(1, -1)
state = None
for start in range(0, stream.size(1) - 1, 8):
    chunk = stream[:, start:start + 9]
    x, y = chunk[:, :-1], chunk[:, 1:]
    emb = model.embed(x)
    out, state = model.rnn(emb, state)
    state = tuple(s.detach() for s in state)
    loss = criterion(model.out(out).flatten(0, 1), y.flatten())
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"chunk {start:2d} len {x.size(1)} loss {loss.item():.4f} state requires_grad {state[0].requires_grad}")
print(sorted(opt.state_dict()["state"][1].keys()))

# projections, dropout between layers (eval: off), and pack_sequence
proj = nn.LSTM(4, 6, num_layers=2, proj_size=3, dropout=0.5)
init_deterministic(proj)
proj.eval()
out, (h, c) = proj(x_tbf)
print(proj, tuple(out.shape), tuple(h.shape), tuple(c.shape))
print([f"{v:.4f}" for v in out[-1, 0].tolist()])
ps = nn.utils.rnn.pack_sequence([torch.ones(3, 2), torch.ones(2, 2), torch.ones(1, 2)])
print(ps.batch_sizes.tolist(), ps.sorted_indices, tuple(ps.data.shape))
