"""A VAE step, sampling and distributions as the generative-model lectures use them, seeded."""
import torch
from torch import nn
from torch.distributions import Normal, Categorical, Bernoulli, kl_divergence, MultivariateNormal, Independent
import torch.nn.functional as F

torch.manual_seed(0)


class VAE(nn.Module):
    def __init__(self, d=12, z=2):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Linear(8, 2 * z))
        self.dec = nn.Sequential(nn.Linear(z, 8), nn.ReLU(), nn.Linear(8, d))

    def forward(self, x):
        mu, logvar = self.enc(x).chunk(2, dim=1)
        std = (0.5 * logvar).exp()
        z = mu + std * torch.randn_like(std)
        recon = self.dec(z)
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1).mean()
        return F.binary_cross_entropy_with_logits(recon, x, reduction="none").sum(1).mean() + kl, kl


vae = VAE()
opt = torch.optim.Adam(vae.parameters(), lr=1e-2)
data = (torch.rand(64, 12) > 0.5).float()
for step in range(5):
    loss, kl = vae(data)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(step, round(loss.item(), 4), round(kl.item(), 4))

p, q = Normal(torch.zeros(3), torch.ones(3)), Normal(torch.tensor([0.5, -1., 2.]), torch.tensor([1., 2., 0.5]))
print(kl_divergence(p, q), p.log_prob(torch.tensor([0., 1., 2.])), q.entropy(), q.cdf(torch.zeros(3)))
s = q.rsample((4,))
print(s.shape, s.requires_grad, q.sample().shape, p.mean, q.stddev, q.variance)
c = Categorical(logits=torch.tensor([[1., 2., 3.], [0., 0., 0.]]))
print(c.sample((5,)), c.probs, c.entropy(), c.log_prob(torch.tensor([2, 0])))
b = Bernoulli(probs=torch.tensor([0.2, 0.9]))
print(b.sample((3,)), b.log_prob(torch.tensor([1., 0.])), b.mean)
mvn = MultivariateNormal(torch.zeros(2), covariance_matrix=torch.tensor([[2., 0.5], [0.5, 1.]]))
print(mvn.sample((2,)), mvn.log_prob(torch.ones(2)), mvn.entropy())
ind = Independent(Normal(torch.zeros(2, 3), torch.ones(2, 3)), 1)
print(ind.batch_shape, ind.event_shape, ind.log_prob(torch.zeros(2, 3)))
print(torch.multinomial(torch.tensor([0.1, 0.3, 0.6]), 5, replacement=True), torch.randperm(6), torch.rand(2).bernoulli())
print(torch.normal(torch.zeros(3), torch.ones(3)), torch.randint(0, 5, (4,)), torch.empty(3).uniform_(-1, 1))
gumbel = F.gumbel_softmax(torch.tensor([[1., 2., 3.]]), tau=0.5, hard=True)
print(gumbel, gumbel.sum())
