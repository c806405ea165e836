# A small convolutional autoencoder: strided/transposed convs, BatchNorm train vs eval, upsampling,
# Adam with weight decay, a learning-rate schedule, and a state_dict round trip through torch.save.
import io

import torch
import torch.nn as nn
import torch.nn.functional as F


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=3, stride=2, padding=1, bias=False),   # 12 -> 6; BN follows
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.Conv2d(4, 8, kernel_size=3, stride=2, padding=1),     # 6 -> 3
            nn.ReLU(),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(8, 4, kernel_size=3, stride=2, padding=1, output_padding=1, bias=False),  # 3 -> 6
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="nearest"),              # 6 -> 12
            nn.Conv2d(4, 1, kernel_size=3, padding=1),
        )

    def forward(self, x):
        return self.decoder(self.encoder(x))


def init_deterministic(model):
    with torch.no_grad():
        for i, (name, p) in enumerate(model.named_parameters()):
            ramp = torch.linspace(-0.4, 0.4, p.numel()).view(p.shape)
            if name.endswith("weight") and p.dim() == 1:      # BatchNorm scale: around 1
                p.copy_(1 + 0.5 * ramp)
            else:
                p.copy_(ramp.sin() * (1 + 0.1 * i))


torch.manual_seed(0)
model = AutoEncoder()
init_deterministic(model)
print(model)
print(list(model.state_dict().keys()))
print([(k, v.dtype) for k, v in model.state_dict().items() if "running" in k or "num_batches" in k])

x = (torch.linspace(0, 6, 8 * 144).view(8, 1, 12, 12) * 1.3).sin() * 0.5
code = model.encoder(x)
print("code", tuple(code.shape), code.dtype)
out = model(x)
print("out", tuple(out.shape))

# shape bookkeeping with output_padding and output_size
up = nn.ConvTranspose2d(2, 3, kernel_size=4, stride=3, padding=1, output_padding=2)
z = torch.ones(1, 2, 5, 5)
print("convT", tuple(up(z).shape), tuple(up(z, output_size=[14, 15]).shape))
try:
    nn.ConvTranspose2d(2, 3, kernel_size=3, stride=2, output_padding=2)(z)
except RuntimeError as e:
    print("RuntimeError raised for output_padding >= stride")

# interpolate, functional forms
small = torch.arange(12, dtype=torch.float32).view(1, 1, 3, 4)
print(F.interpolate(small, scale_factor=2, mode="nearest")[0, 0, :2])
print(F.interpolate(small, size=(5, 6), mode="bilinear", align_corners=False)[0, 0].round(decimals=3))
print(F.interpolate(small, size=(5, 6), mode="bilinear", align_corners=True)[0, 0].round(decimals=3))
print(nn.Upsample(size=(4, 4), mode="bilinear"))

optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
criterion = nn.MSELoss()
model.train()
for step in range(6):
    for xb in x.split(4):
        optimizer.zero_grad()
        loss = criterion(model(xb), xb)
        loss.backward()
        optimizer.step()
    scheduler.step()
    print(f"step {step} loss {loss.item():.4f} lr {scheduler.get_last_lr()[0]:.5f}")

bn = model.encoder[1]
print("running_mean", [f"{v:.4f}" for v in bn.running_mean.tolist()])
print("running_var", [f"{v:.4f}" for v in bn.running_var.tolist()])
print("num_batches_tracked", bn.num_batches_tracked.item(), bn.num_batches_tracked.dtype)

model.eval()
with torch.no_grad():
    eval_out = model(x)
    train_mode_out = model.train()(x)       # batch statistics, and the running stats move again
    eval_out = model.eval()(x)
print(f"eval loss {criterion(eval_out, x).item():.4f}")
print(f"train-mode loss {criterion(train_mode_out, x).item():.4f}")
print("training flags", model.training, bn.training, "num_batches_tracked", bn.num_batches_tracked.item())

# cosine schedule on a fresh optimizer
opt2 = torch.optim.Adam([nn.Parameter(torch.zeros(2))], lr=0.1)
cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=4, eta_min=0.01)
lrs = []
for _ in range(6):
    opt2.step()
    cos.step()
    lrs.append(f"{cos.get_last_lr()[0]:.4f}")
print("cosine", lrs)

# save / load through a buffer
buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)
buffer.seek(0)
fresh = AutoEncoder()
missing = fresh.load_state_dict(torch.load(buffer))
print(missing)
fresh.eval()
with torch.no_grad():
    same = torch.equal(fresh(x), eval_out)
print("reloaded outputs equal:", same)
print("reloaded running_var equal:", torch.equal(fresh.encoder[1].running_var, bn.running_var))

buffer = io.BytesIO()
torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 6}, buffer)
buffer.seek(0)
ckpt = torch.load(buffer)
print(sorted(ckpt.keys()), ckpt["epoch"])
print(sorted(ckpt["optimizer"].keys()), ckpt["optimizer"]["param_groups"][0]["lr"])
opt3 = torch.optim.Adam(fresh.parameters(), lr=0.01, weight_decay=1e-4)
opt3.load_state_dict(ckpt["optimizer"])
print(opt3.state_dict()["state"][0]["step"], sorted(opt3.state_dict()["state"][0].keys()))

try:
    fresh.load_state_dict({"bogus": torch.zeros(1)})
except RuntimeError as e:
    print("RuntimeError:", str(e).splitlines()[0])
result = fresh.load_state_dict({k: v for k, v in model.state_dict().items() if "decoder" in k}, strict=False)
print(len(result.missing_keys), result.unexpected_keys)
