"""``flambeau._dynamo``: where ``torch.compile``'s module wrapper lives in PyTorch (eval_frame.OptimizedModule)."""
from .eval_frame import OptimizedModule  # noqa: F401
