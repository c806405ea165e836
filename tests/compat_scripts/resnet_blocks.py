# Residual blocks and the Module API around them: containers, hooks, apply() for initialization,
# train/eval flags, parameter groups in SGD (nesterov), ReduceLROnPlateau.
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F


class ResidualBlock(nn.Module):
    def __init__(self, channels, stride=1, out_channels=None):
        super().__init__()
        out_channels = out_channels or channels
        self.body = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(channels, out_channels, 3, stride=stride, padding=1, bias=False)),
            ("bn1", nn.BatchNorm2d(out_channels)),
            ("relu", nn.ReLU(inplace=True)),
            ("conv2", nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)),
            ("bn2", nn.BatchNorm2d(out_channels)),
        ]))
        if stride != 1 or out_channels != channels:
            self.shortcut = nn.Sequential(nn.Conv2d(channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        return F.relu(self.body(x) + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU())
        self.blocks = nn.ModuleList([ResidualBlock(4), ResidualBlock(4, stride=2, out_channels=6)])
        self.heads = nn.ModuleDict({"cls": nn.Linear(6, classes), "aux": nn.Linear(6, 1)})
        self.dropout = nn.Dropout(0.5)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))
        self.register_buffer("scratch", torch.ones(2), persistent=False)

    def forward(self, x):
        self.calls += 1
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        x = self.dropout(torch.flatten(self.pool(x), 1))
        return self.heads["cls"](x), self.heads["aux"](x).squeeze(1)


counter = {"n": 0}


def init_weights(m):
    counter["n"] += 1
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        with torch.no_grad():
            m.weight.copy_((torch.arange(m.weight.numel(), dtype=torch.float32) * 0.53 + counter["n"]).sin()
                           .view(m.weight.shape) * 0.4)
            if m.bias is not None:
                m.bias.fill_(0.01 * counter["n"])
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.ones_(m.weight)
        nn.init.constant_(m.bias, 0.05)


model = ResNet()
model.apply(init_weights)
print(model)
print("apply visited", counter["n"])
print([(name, tuple(p.shape)) for name, p in model.named_parameters()])
print([name for name, _ in model.named_modules()])
print([(name, b.dtype) for name, b in model.named_buffers()][:4], len(list(model.buffers())))
print([k for k in model.state_dict() if "calls" in k or "scratch" in k or "num_batches" in k])
print([name for name, _ in model.named_children()], len(list(model.children())), len(list(model.modules())))
print(model.get_submodule("blocks.1.shortcut.0"), tuple(model.get_parameter("heads.cls.bias").shape))
print(type(model.blocks[0].shortcut).__name__, len(model.blocks), list(model.heads.keys()))
print(sum(p.numel() for p in model.parameters() if p.requires_grad))

# hooks: forward hook records activation shapes; full backward hook records gradient shapes
shapes, grad_shapes = [], []


def forward_hook(module, inputs, output):
    shapes.append((type(module).__name__, tuple(inputs[0].shape), tuple(output.shape)))


def backward_hook(module, grad_input, grad_output):
    grad_shapes.append((type(module).__name__, [None if g is None else tuple(g.shape) for g in grad_input],
                        [tuple(g.shape) for g in grad_output]))


handles = [blk.register_forward_hook(forward_hook) for blk in model.blocks]
handles.append(model.heads["cls"].register_full_backward_hook(backward_hook))
handles.append(model.blocks[1].register_full_backward_hook(backward_hook))

x = (torch.linspace(-2, 2, 8 * 2 * 6 * 6).view(8, 2, 6, 6) * 1.7).cos()
y = torch.arange(8) % 3
aux_target = torch.linspace(-1, 1, 8)

print("training", model.training, model.dropout.training, model.blocks[0].body.bn1.training)
model.eval()
print("eval", model.training, model.dropout.training, model.blocks[0].body.bn1.training)
with torch.no_grad():
    logits, aux = model(x)
print("eval logits", [f"{v:.4f}" for v in logits[0].tolist()], "dropout off:", torch.equal(model(x)[0], logits))
print(shapes)
model.train()

# parameter groups: the heads learn faster, no weight decay on BatchNorm parameters
bn_params = [p for n, p in model.named_parameters() if ".bn" in n or "stem.1" in n or "shortcut.1" in n]
head_params = list(model.heads.parameters())
seen = {id(p) for p in bn_params + head_params}
other = [p for p in model.parameters() if id(p) not in seen]
opt = torch.optim.SGD([{"params": other},
                       {"params": bn_params, "weight_decay": 0.0},
                       {"params": head_params, "lr": 0.05}],
                      lr=0.02, momentum=0.9, nesterov=True, weight_decay=1e-3)
print([len(g["params"]) for g in opt.param_groups], [g["lr"] for g in opt.param_groups],
      [g["weight_decay"] for g in opt.param_groups], opt.param_groups[1]["nesterov"])
sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1, threshold=0.05)

model.dropout.p = 0.0      # keep training deterministic
for epoch in range(7):
    opt.zero_grad()
    logits, aux = model(x)
    loss = F.cross_entropy(logits, y) + 0.5 * F.mse_loss(aux, aux_target)
    loss.backward()
    opt.step()
    # a plateau: report a validation loss that stops improving
    val = max(loss.item(), 1.0) if epoch < 3 else 1.0
    sched.step(val)
    # 3 decimals: after the lr drop, torch's own float32 loss is 1e-4 away from its float64 one
    print(f"epoch {epoch} loss {loss.item():.3f} lrs {[round(g['lr'], 5) for g in opt.param_groups]}")
print("calls", model.calls.item(), "bad epochs", sched.num_bad_epochs)
print(grad_shapes[:2])
print(len(shapes), shapes[-1])
for h in handles:
    h.remove()
shapes.clear()
model(x)
print("hooks removed", shapes)
print("momentum buffers", len(opt.state), sorted(opt.state[other[0]].keys()))
print(opt.state_dict()["param_groups"][2]["params"], opt.state_dict()["param_groups"][2]["lr"])

# buffers: running stats moved in train mode, frozen in eval mode
bn = model.stem[1]
before = bn.running_mean.clone()
model.eval()
model(x)
print("eval keeps running stats", torch.equal(before, bn.running_mean), bn.num_batches_tracked.item())
model.train()
model(x)
print("train moves them", not torch.equal(before, bn.running_mean), bn.num_batches_tracked.item())

# Sequential / ModuleList / ModuleDict operations
seq = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
print(seq[0:2], len(seq), type(seq[-1]).__name__)
seq.append(nn.Softmax(dim=1))
seq.insert(1, nn.Dropout(0.0))
print([type(m).__name__ for m in seq])
ml = nn.ModuleList([nn.ReLU()])
ml.extend([nn.Tanh(), nn.Sigmoid()])
ml += [nn.GELU()]
print(ml, ml[1:3])
md = nn.ModuleDict({"a": nn.ReLU()})
md.update({"b": nn.Tanh()})
md["c"] = nn.Identity()
print(list(md.keys()), "b" in md, md.pop("a"), len(md))
try:
    nn.ModuleList([1])
except TypeError as e:
    print("TypeError:", e)
try:
    model.get_submodule("blocks.5")
except AttributeError as e:
    print("AttributeError raised")
try:
    model.register_buffer("calls", torch.zeros(1))
    model.register_parameter("calls", nn.Parameter(torch.zeros(1)))
except KeyError as e:
    print("KeyError:", e)

# zero_grad, requires_grad_ on a sub-tree, frozen parameters are skipped by the optimizer
model.stem.requires_grad_(False)
print(sum(p.requires_grad for p in model.parameters()), len(list(model.parameters())))
frozen = model.stem[0].weight.clone()
opt.zero_grad()
model(x)[0].sum().backward()
opt.step()
print("frozen stem unchanged", torch.equal(frozen, model.stem[0].weight), model.stem[0].weight.grad)
print(model.extra_repr() == "", model.stem[0].extra_repr(), nn.Dropout(0.25))
