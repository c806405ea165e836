# A tiny GAN on 2-D points: generator and discriminator MLPs, two Adam optimizers, BCEWithLogitsLoss,
# detached fakes for the discriminator step, and the discriminator frozen for the generator step.
import torch
import torch.nn as nn


class Generator(nn.Module):
    def __init__(self, latent=3, hidden=16):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                 nn.LeakyReLU(0.2), nn.Linear(hidden, 2), nn.Tanh())

    def forward(self, z):
        return self.net(z)


class Discriminator(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(negative_slope=0.1, inplace=True),
                                  nn.Linear(hidden, hidden), nn.LeakyReLU())
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.head(self.body(x)).squeeze(1)


def init_deterministic(model, scale):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_((torch.arange(p.numel(), dtype=torch.float32) * 0.7 + i).sin().view(p.shape) * scale)


G, D = Generator(), Discriminator()
init_deterministic(G, 0.4)
init_deterministic(D, 0.3)
print(G)
print(D)
print([k for k in D.state_dict()])

opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
print(opt_g.defaults["betas"], opt_d.param_groups[0]["lr"], len(opt_d.param_groups[0]["params"]))
criterion = nn.BCEWithLogitsLoss()

n = 32
angle = torch.linspace(0, 6.2832, n)
real = torch.stack([angle.cos(), angle.sin()], dim=1) * 0.8
z_all = torch.stack([torch.linspace(-1, 1, n), (torch.arange(n) * 0.37).sin(), (torch.arange(n) * 0.11).cos()], 1)
ones, zeros = torch.ones(n), torch.zeros(n)

for step in range(8):
    # discriminator: real vs detached fakes (no gradient reaches G)
    fake = G(z_all)
    opt_d.zero_grad(set_to_none=True)
    opt_g.zero_grad(set_to_none=True)
    loss_d = criterion(D(real), ones) + criterion(D(fake.detach()), zeros)
    loss_d.backward()
    g_untouched = all(p.grad is None for p in G.parameters())
    opt_d.step()

    # generator: freeze D, so the generator's backward leaves D's grads as they were
    D.requires_grad_(False)
    d_grads = [p.grad.clone() for p in D.parameters()]
    loss_g = criterion(D(fake), ones)
    loss_g.backward()
    opt_g.step()
    d_untouched = all(torch.equal(a, p.grad) for a, p in zip(d_grads, D.parameters()))
    D.requires_grad_(True)
    print(f"step {step} loss_d {loss_d.item():.4f} loss_g {loss_g.item():.4f} "
          f"G grads None after D backward {g_untouched}, D grads unchanged by G backward {d_untouched}")

print("requires_grad", [p.requires_grad for p in D.parameters()][:2], fake.requires_grad,
      fake.detach().requires_grad, fake.grad_fn is not None, fake.detach().grad_fn)
with torch.no_grad():
    sample = G(z_all[:4])
print(sample.shape, sample.dtype, sample.requires_grad)
print([f"{v:.4f}" for v in sample.flatten().tolist()])
scores = torch.sigmoid(D(real[:4])).detach()
print([f"{v:.4f}" for v in scores.tolist()])

# zero_grad keeps zero tensors with set_to_none=False
opt_d.zero_grad(set_to_none=False)
loss_d = criterion(D(real), ones)
loss_d.backward()
opt_d.zero_grad(set_to_none=False)
print([tuple(p.grad.shape) for p in D.parameters()], float(sum(p.grad.abs().sum() for p in D.parameters())))
opt_d.zero_grad()
print([p.grad for p in D.parameters()][:2])

# pos_weight and reduction variants of the loss, and the plain BCELoss on probabilities
logits = torch.linspace(-2, 2, 6)
target = torch.tensor([0., 1., 0., 1., 1., 0.])
print(f"{nn.BCEWithLogitsLoss(pos_weight=torch.tensor(2.0))(logits, target).item():.4f}")
print(nn.BCEWithLogitsLoss(reduction="none")(logits, target).round(decimals=4))
print(f"{nn.BCEWithLogitsLoss(reduction='sum')(logits, target).item():.4f}")
print(f"{nn.BCELoss()(torch.sigmoid(logits), target).item():.4f}")
try:
    criterion(logits, target[:4])
except ValueError as e:
    print("ValueError:", e)

# an in-place LeakyReLU on a leaf that requires grad is refused
leaf = torch.ones(3, requires_grad=True)
try:
    nn.LeakyReLU(inplace=True)(leaf)
except RuntimeError as e:
    print("RuntimeError:", e)
print(nn.LeakyReLU(0.2)(torch.tensor([-1.0, 0.0, 2.0])))

# a fully frozen discriminator scored on real data has nothing to differentiate
D.requires_grad_(False)
try:
    criterion(D(real), ones).backward()
except RuntimeError as e:
    print("RuntimeError:", e)
D.requires_grad_()
print(sum(p.requires_grad for p in D.parameters()), D(real).requires_grad)
