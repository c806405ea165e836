"""Generative models and sequence-to-sequence code from the GAN, diffusion, recurrent and attention lectures:
WGAN with weight clipping, WGAN-GP, a conditional DCGAN generator, a DDPM on 2-D points, a seq2seq translator
with attention, and word-embedding look-ups, seeded."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pad_sequence, pack_padded_sequence, pad_packed_sequence

torch.manual_seed(0)


def fmt(t, n=6):
    return [f"{v:.4f}" for v in t.flatten()[:n].tolist()]


# -- WGAN with weight clipping and RMSprop ---------------------------------------------------------------
def mlp(d_in, d_out, hidden=16):
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, d_out))


G, critic = mlp(2, 2), mlp(2, 1)
opt_g = torch.optim.RMSprop(G.parameters(), lr=5e-4)
opt_c = torch.optim.RMSprop(critic.parameters(), lr=5e-4)
real = torch.randn(64, 2) * 0.3 + torch.tensor([1.0, -0.5])
clip = 0.05
for step in range(4):
    for _ in range(3):
        z = torch.randn(64, 2)
        loss_c = critic(G(z).detach()).mean() - critic(real).mean()
        opt_c.zero_grad()
        loss_c.backward()
        opt_c.step()
        for p in critic.parameters():
            p.data.clamp_(-clip, clip)
    loss_g = -critic(G(torch.randn(64, 2))).mean()
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    print(f"wgan {step} critic {loss_c.item():.5f} gen {loss_g.item():.5f}")
print("clipped", max(p.abs().max().item() for p in critic.parameters()) <= clip + 1e-7)
print(sorted(opt_c.state_dict()["state"][0].keys()), opt_c.defaults["alpha"], opt_c.defaults["eps"])


# -- WGAN-GP gradient penalty ----------------------------------------------------------------------------
def gradient_penalty(critic, real, fake):
    alpha = torch.rand(real.size(0), 1)
    interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    out = critic(interpolates)
    grads = torch.autograd.grad(outputs=out, inputs=interpolates, grad_outputs=torch.ones_like(out),
                                create_graph=True, retain_graph=True, only_inputs=True)[0]
    return ((grads.norm(2, dim=1) - 1) ** 2).mean(), grads


critic_gp = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
opt_gp = torch.optim.Adam(critic_gp.parameters(), lr=1e-3, betas=(0.0, 0.9))
for step in range(3):
    fake = G(torch.randn(64, 2)).detach()
    gp, grads = gradient_penalty(critic_gp, real, fake)
    loss = critic_gp(fake).mean() - critic_gp(real).mean() + 10 * gp
    opt_gp.zero_grad()
    loss.backward()
    opt_gp.step()
    print(f"gp {step} {gp.item():.5f} loss {loss.item():.5f}", grads.shape, grads.requires_grad,
          grads.grad_fn is not None)
print(fmt(critic_gp[0].weight.grad), critic_gp[0].weight.grad.shape)
x = torch.tensor([[1.0, 2.0]], requires_grad=True)
y = (x ** 3).sum()
(g,) = torch.autograd.grad(y, x, create_graph=True)
(gg,) = torch.autograd.grad(g.sum(), x)
print(g, gg)
try:
    torch.autograd.grad(critic_gp(real).sum(), real)
except RuntimeError as e:
    print("RuntimeError:", e)
try:
    torch.autograd.grad(critic_gp(fake.requires_grad_()), fake)
except RuntimeError as e:
    print("RuntimeError:", e)


# -- conditional DCGAN generator, weights_init through apply ---------------------------------------------
def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


class CondGenerator(nn.Module):
    def __init__(self, nz=8, n_classes=3, ngf=4):
        super().__init__()
        self.label_emb = nn.Embedding(n_classes, n_classes)
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz + n_classes, ngf * 2, 4, 1, 0, bias=False),   # 1 -> 4
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),             # 4 -> 8
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False),                   # 8 -> 16
            nn.Tanh(),
        )

    def forward(self, z, labels):
        h = torch.cat([z, self.label_emb(labels)], dim=1)
        return self.main(h[:, :, None, None])


netG = CondGenerator()
netG.apply(weights_init)
print(netG)
print([k for k in netG.state_dict()])
print(f"{netG.main[0].weight.std().item():.3f}", f"{netG.main[1].weight.mean().item():.2f}", netG.main[1].bias)
labels = torch.tensor([0, 2, 1, 2])
onehot = F.one_hot(labels, num_classes=3)
print(onehot, onehot.dtype, F.one_hot(torch.tensor([1, 0, 3])))
z = torch.randn(4, 8)
zc = torch.cat((z, onehot.float()), 1)
print(zc.shape, zc.dtype)
imgs = netG(z, labels)
print(imgs.shape, fmt(imgs), f"{imgs.abs().max().item():.4f}")
netD = nn.Sequential(nn.Conv2d(1 + 3, 4, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
                     nn.Conv2d(4, 8, 4, 2, 1, bias=False), nn.BatchNorm2d(8), nn.LeakyReLU(0.2, inplace=True),
                     nn.Conv2d(8, 1, 4, 1, 0, bias=False), nn.Flatten(), nn.Sigmoid())
netD.apply(weights_init)
label_maps = onehot.float()[:, :, None, None].expand(-1, -1, 16, 16)
d_out = netD(torch.cat([imgs, label_maps], 1))
loss_d = F.binary_cross_entropy(d_out, torch.ones_like(d_out))
loss_d.backward()
print(d_out.shape, fmt(d_out), f"{loss_d.item():.4f}", netG.label_emb.weight.grad.shape)
try:
    F.one_hot(torch.tensor([0.0, 1.0]))
except RuntimeError as e:
    print("RuntimeError:", e)


# -- DDPM on 2-D points ----------------------------------------------------------------------------------
T = 20
betas = torch.linspace(1e-4, 0.2, T)
alphas = 1.0 - betas
alphas_cumprod = torch.cumprod(alphas, dim=0)
alphas_cumprod_prev = F.pad(alphas_cumprod[:-1], (1, 0), value=1.0)
print(fmt(alphas_cumprod, 4), alphas_cumprod.dtype, alphas_cumprod_prev[:2])


def timestep_embedding(t, dim=8):
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=-1)


class Denoiser(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 + 8, 32), nn.SiLU(), nn.Linear(32, 32), nn.SiLU(), nn.Linear(32, 2))

    def forward(self, x, t):
        return self.net(torch.cat([x, timestep_embedding(t)], dim=1))


def extract(a, t, shape):
    return a.gather(-1, t).reshape(t.shape[0], *((1,) * (len(shape) - 1)))


print(fmt(timestep_embedding(torch.tensor([0, 5, 19]))[1], 8))
model = Denoiser()
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
data = torch.cat([torch.randn(32, 2) * 0.1 + 1, torch.randn(32, 2) * 0.1 - 1])
for step in range(5):
    t = torch.randint(0, T, (data.size(0),), dtype=torch.long)
    noise = torch.randn_like(data)
    a_bar = extract(alphas_cumprod, t, data.shape)
    x_t = a_bar.sqrt() * data + (1 - a_bar).sqrt() * noise
    loss = F.mse_loss(model(x_t, t), noise)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"ddpm {step} loss {loss.item():.4f}", t[:5].tolist(), a_bar.shape, torch.equal(a_bar[:, 0],
                                                                                           alphas_cumprod[t]))
with torch.no_grad():
    x = torch.randn(6, 2)
    for i in reversed(range(T)):
        t = torch.full((x.size(0),), i, dtype=torch.long)
        eps = model(x, t)
        mean = (x - betas[i] / torch.sqrt(1 - alphas_cumprod[i]) * eps) / torch.sqrt(alphas[i])
        if i > 0:
            var = betas[i] * (1 - alphas_cumprod_prev[i]) / (1 - alphas_cumprod[i])
            x = mean + torch.sqrt(var) * torch.randn_like(x)
        else:
            x = mean
print("samples", x.shape, x.requires_grad, fmt(x, 12))
print(t.dtype, t, torch.full((2,), 3).dtype, torch.full((2,), 0.5).dtype)


# -- seq2seq translation with attention ------------------------------------------------------------------
PAD, SOS, EOS = 0, 1, 2
src_vocab, tgt_vocab, H = 9, 8, 12
src = [torch.tensor([3, 4, 5, EOS]), torch.tensor([6, 7, EOS]), torch.tensor([8, 3, 4, 6, EOS])]
tgt = [torch.tensor([SOS, 3, 4, EOS]), torch.tensor([SOS, 5, EOS]), torch.tensor([SOS, 6, 7, 3, EOS])]
src_pad = pad_sequence(src, batch_first=True, padding_value=PAD)
tgt_pad = pad_sequence(tgt, batch_first=True, padding_value=PAD)
src_len = torch.tensor([len(s) for s in src])
print(src_pad, tgt_pad.shape, src_len)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(src_vocab, 6, padding_idx=PAD)
        self.rnn = nn.GRU(6, H, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * H, H)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(self.embed(x), lengths, batch_first=True, enforce_sorted=False)
        out, h = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True)
        return out, torch.tanh(self.bridge(torch.cat([h[0], h[1]], dim=1))).unsqueeze(0)


class AttnDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(tgt_vocab, 6, padding_idx=PAD)
        self.rnn = nn.GRU(6 + 2 * H, H, batch_first=True)
        self.query = nn.Linear(H, 2 * H, bias=False)
        self.out = nn.Linear(H, tgt_vocab)

    def forward(self, y, hidden, enc_out, src_mask):
        scores = torch.bmm(self.query(hidden[-1]).unsqueeze(1), enc_out.transpose(1, 2))   # (B, 1, S)
        scores = scores.masked_fill(~src_mask.unsqueeze(1), float("-inf"))
        weights = F.softmax(scores, dim=-1)
        context = torch.bmm(weights, enc_out)                                            # (B, 1, 2H)
        out, hidden = self.rnn(torch.cat([self.embed(y).unsqueeze(1), context], dim=2), hidden)
        return self.out(out.squeeze(1)), hidden, weights.squeeze(1)


enc, dec = Encoder(), AttnDecoder()
print(enc, dec.embed)
params = list(enc.parameters()) + list(dec.parameters())
opt = torch.optim.Adam(params, lr=1e-2)
criterion = nn.CrossEntropyLoss(ignore_index=PAD, reduction="sum")
src_mask = src_pad != PAD
for epoch in range(6):
    enc_out, hidden = enc(src_pad, src_len)
    y, loss = tgt_pad[:, 0], 0.0
    teacher_forcing = epoch % 2 == 0
    for t in range(1, tgt_pad.size(1)):
        logits, hidden, attn = dec(y, hidden, enc_out, src_mask)
        loss = loss + criterion(logits, tgt_pad[:, t])
        y = tgt_pad[:, t] if teacher_forcing else logits.argmax(1)
    n_tokens = (tgt_pad[:, 1:] != PAD).sum()
    opt.zero_grad()
    (loss / n_tokens).backward()
    norm = nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()
    print(f"seq2seq {epoch} tf={teacher_forcing} loss {loss.item() / n_tokens.item():.4f} norm {norm.item():.4f}")
print(enc_out.shape, hidden.shape, attn.shape, fmt(attn[1], 5), attn[1, 3:])
print("pad rows of embedding stay zero", enc.embed.weight[PAD].abs().sum().item(), dec.embed.weight.grad[PAD])

with torch.no_grad():
    enc_out, hidden = enc(src_pad[:1], src_len[:1])
    y, decoded = torch.tensor([SOS]), []
    for _ in range(6):
        logits, hidden, attn = dec(y, hidden, enc_out, src_mask[:1, :enc_out.size(1)])
        y = logits.argmax(dim=-1)
        decoded.append(y.item())
        if y.item() == EOS:
            break
print("greedy", decoded, y.dtype, y.shape)
try:    # the padded batch mask is one step longer than a single sequence's encoder outputs
    dec(y, hidden, enc_out, src_mask[:1])
except RuntimeError as e:
    print("RuntimeError:", e)
for mistake in (lambda: torch.zeros(1, 1, 4).masked_fill_(src_mask[:1, None], 0.0),
                lambda: nn.LSTM(6, H)(torch.zeros(1, 3, 6), hidden),           # an LSTM needs (h, c)
                lambda: torch.bmm(attn[:, None], enc_out.double()),
                lambda: pad_sequence([torch.ones(2, 3), torch.ones(1, 4)]),
                lambda: attn.masked_fill(src_mask[:1, :4].long(), 0.0)):
    try:
        mistake()
    except (RuntimeError, IndexError) as e:
        print(type(e).__name__ + ":", e)
print(criterion(torch.zeros(2, tgt_vocab), torch.tensor([PAD, PAD])),
      nn.CrossEntropyLoss(ignore_index=PAD)(torch.zeros(2, tgt_vocab), torch.tensor([PAD, PAD])))
print(nn.CrossEntropyLoss(ignore_index=-100, reduction="sum")(torch.zeros(3, 4), torch.tensor([1, -100, 3])))

# -- word embeddings ---------------------------------------------------------------------------------------
words = ["king", "queen", "man", "woman", "apple", "pear"]
vectors = torch.tensor([[0.9, 0.8, 0.1], [0.9, 0.1, 0.8], [0.2, 0.9, 0.1],
                        [0.25, 0.1, 0.9], [-0.7, 0.3, 0.3], [-0.6, 0.35, 0.25]])
emb = nn.Embedding.from_pretrained(vectors)
print(emb, emb.weight.requires_grad, nn.Embedding.from_pretrained(vectors, freeze=False).weight.requires_grad)
idx = {w: i for i, w in enumerate(words)}
query = emb(torch.tensor(idx["king"])) - emb(torch.tensor(idx["man"])) + emb(torch.tensor(idx["woman"]))
sims = F.cosine_similarity(query.unsqueeze(0), emb.weight, dim=1)
print(fmt(sims), [words[i] for i in sims.topk(3).indices])
normed = F.normalize(emb.weight, dim=1)
cos = normed @ normed.t()
vals, nn_idx = cos.fill_diagonal_(-1).topk(2, dim=1)
print(fmt(vals), nn_idx.tolist())
print(fmt(F.cosine_similarity(vectors[:2], vectors[2:4])), F.cosine_similarity(torch.zeros(3), torch.ones(3), dim=0))
print(fmt(F.normalize(torch.tensor([[3.0, 4.0], [0.0, 0.0]]), p=2, dim=-1)),
      fmt(F.normalize(torch.tensor([3.0, 4.0]), p=1, dim=0)))
emb_max = nn.Embedding(6, 3, max_norm=1.0)
with torch.no_grad():
    emb_max.weight.copy_(vectors * 2)
looked = emb_max(torch.tensor([0, 4, 0]))
print(emb_max, fmt(looked.norm(dim=1)), fmt(emb_max.weight.norm(dim=1)))
print(fmt(F.embedding(torch.tensor([1, 2]), vectors * 3, max_norm=2.0, norm_type=1.0).abs().sum(1)))
bag_input = torch.tensor([0, 1, 2, 4, 5])
offsets = torch.tensor([0, 2])
for mode in ("sum", "mean", "max"):
    bag = nn.EmbeddingBag.from_pretrained(vectors, mode=mode)
    print(mode, bag(bag_input, offsets).round(decimals=4), bag)
bag = nn.EmbeddingBag(6, 3, mode="sum")
with torch.no_grad():
    bag.weight.copy_(vectors)
w = torch.tensor([1.0, 0.5, 2.0, 1.0, -1.0])
out = bag(bag_input, offsets, per_sample_weights=w)
out.sum().backward()
print(out.round(decimals=4), bag.weight.grad)
print(bag(torch.tensor([[0, 1], [2, 3]])).round(decimals=4))
try:
    nn.EmbeddingBag(6, 3, mode="mean")(bag_input, offsets, per_sample_weights=w)
except (ValueError, NotImplementedError, RuntimeError) as e:
    print(type(e).__name__, e)
for mistake in (lambda: emb(torch.tensor([6])), lambda: sims.topk(7),
                lambda: F.cosine_similarity(torch.tensor([1, 2]), torch.tensor([2, 4]), dim=0)):
    try:
        mistake()
    except (RuntimeError, IndexError) as e:
        print(type(e).__name__ + ":", e)
