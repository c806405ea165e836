"""The top-level forms of nn.functional ops (torch.layer_norm, torch.lstm_cell, ...) against PyTorch:
values, dtypes and shapes of every output, and the gradients they pass to their inputs."""
import numpy as np
import pytest
import torch

import flambeau


def cases(lib, dev):
    """name -> a call; every tensor it makes is drawn in the same order for both libraries."""
    g = np.random.default_rng(0)

    def T(*shape):
        return lib.tensor(g.standard_normal(shape), device=dev, requires_grad=True)

    def I(values):
        return lib.tensor(values, device=dev)
    x = T(4, 3, 5)
    w3, b3 = T(3), T(3)
    out = {}
    out["layer_norm"] = lambda: lib.layer_norm(x, [5], T(5), T(5), 1e-5, True)
    out["layer_norm2"] = lambda: lib.layer_norm(x, (3, 5))
    out["native_layer_norm"] = lambda: lib.native_layer_norm(x, [3, 5], None, None, 1e-5)
    out["rms_norm"] = lambda: lib.rms_norm(x, [5], T(5), 1e-6)
    out["batch_norm"] = lambda: lib.batch_norm(x, w3, b3, lib.zeros(3, dtype=lib.float64, device=dev), lib.ones(3, dtype=lib.float64, device=dev), True, 0.1, 1e-5, True)
    out["batch_norm eval"] = lambda: lib.batch_norm(x, w3, b3, lib.zeros(3, dtype=lib.float64, device=dev), lib.ones(3, dtype=lib.float64, device=dev), False, 0.1, 1e-5, True)
    out["native_batch_norm"] = lambda: lib.native_batch_norm(x, w3, b3, None, None, True, 0.1, 1e-5)
    out["native_batch_norm eval"] = lambda: lib.native_batch_norm(x, w3, b3, lib.zeros(3, dtype=lib.float64, device=dev), lib.ones(3, dtype=lib.float64, device=dev), False, 0.1, 1e-5)
    out["group_norm"] = lambda: lib.group_norm(T(4, 6, 5), 3, T(6), T(6), 1e-5, True)
    out["native_group_norm"] = lambda: lib.native_group_norm(T(4, 6, 5), T(6), T(6), 4, 6, 5, 3, 1e-5)
    out["instance_norm"] = lambda: lib.instance_norm(x, w3, b3, None, None, True, 0.1, 1e-5, True)
    emb = T(5, 3)
    out["embedding"] = lambda: lib.embedding(emb, I([[0, 4], [2, 2]]))
    out["embedding pad"] = lambda: lib.embedding(emb, I([0, 4]), 4)
    out["embedding pad -2"] = lambda: lib.embedding(emb, I([0, 4]), -2)
    out["embedding_renorm_"] = lambda: lib.embedding_renorm_(emb.detach().clone(), I([0, 1]), 1.0, 2.0)
    out["constant_pad_nd"] = lambda: lib.constant_pad_nd(x, [1, 2], 3.5)
    out["constant_pad_nd 2"] = lambda: lib.constant_pad_nd(x, [1, 0, 0, 2])
    out["convolution 2d"] = lambda: lib.convolution(T(2, 3, 6, 6), T(4, 3, 3, 3), T(4), [1, 1], [1, 1], [1, 1], False, [0, 0], 1)
    out["convolution 1d strided"] = lambda: lib.convolution(T(2, 4, 9), T(6, 2, 3), None, [2], [0], [1], False, [0], 2)
    out["convolution transposed"] = lambda: lib.convolution(T(2, 3, 5, 5), T(3, 2, 3, 3), T(2), [2, 2], [1, 1], [1, 1], True, [1, 1], 1)
    out["convolution 3d"] = lambda: lib.convolution(T(1, 2, 4, 4, 4), T(3, 2, 2, 2, 2), None, [1, 1, 1], [0, 0, 0], [1, 1, 1], False, [0, 0, 0], 1)
    lp = T(3, 4).log_softmax(1)
    tg = T(3, 4).softmax(1)
    for r in (0, 1, 2):
        out[f"kl_div {r}"] = lambda r=r: lib.kl_div(lp, tg, r)
        out[f"bce logits {r}"] = lambda r=r: lib.binary_cross_entropy_with_logits(T(3, 4), lib.tensor(g.random((3, 4)), device=dev), None, T(4).abs(), r)
        out[f"cosine_embedding {r}"] = lambda r=r: lib.cosine_embedding_loss(T(3, 4), T(3, 4), I([1, -1, 1]), 0.2, r)
        out[f"hinge {r}"] = lambda r=r: lib.hinge_embedding_loss(T(3, 4), lib.tensor(np.sign(g.standard_normal((3, 4))), device=dev), 1.0, r)
        out[f"margin_ranking {r}"] = lambda r=r: lib.margin_ranking_loss(T(5), T(5), I([1., -1, 1, 1, -1]), 0.1, r)
        out[f"triplet {r}"] = lambda r=r: lib.triplet_margin_loss(T(3, 4), T(3, 4), T(3, 4), 1.0, 2.0, 1e-6, True, r)
        out[f"poisson {r}"] = lambda r=r: lib.poisson_nll_loss(T(3, 4), lib.tensor(g.random((3, 4)) * 3, device=dev), True, True, 1e-8, r)
    out["kl_div log_target"] = lambda: lib.kl_div(lp, tg.log(), 1, log_target=True)
    out["kl_div bad reduction"] = lambda: lib.kl_div(lp, tg, 3)
    out["ctc"] = lambda: lib.ctc_loss(T(6, 2, 5).log_softmax(2), I([[1, 2, 2], [3, 4, 1]]), [6, 5], [3, 2], 0, 1, False)
    out["ctc sum"] = lambda: lib.ctc_loss(T(6, 2, 5).log_softmax(2), I([[1, 2, 2], [3, 4, 1]]), I([6, 5]), I([3, 2]), 0, 2, True)
    xi, h = T(2, 3), T(2, 4)
    out["rnn_tanh_cell"] = lambda: lib.rnn_tanh_cell(xi, h, T(4, 3), T(4, 4), T(4), T(4))
    out["rnn_relu_cell"] = lambda: lib.rnn_relu_cell(xi, h, T(4, 3), T(4, 4))
    out["lstm_cell"] = lambda: lib.lstm_cell(xi, [h, T(2, 4)], T(16, 3), T(16, 4), T(16), T(16))
    out["lstm_cell 1-D"] = lambda: lib.lstm_cell(T(3), (T(4), T(4)), T(16, 3), T(16, 4))
    out["gru_cell"] = lambda: lib.gru_cell(xi, h, T(12, 3), T(12, 4), T(12), T(12))
    out["gru_cell 1-D"] = lambda: lib.gru_cell(T(3), T(4), T(12, 3), T(12, 4), T(12), T(12))
    out["norm_except_dim 0"] = lambda: lib.norm_except_dim(emb, 2, 0)
    out["norm_except_dim 1"] = lambda: lib.norm_except_dim(T(3, 4, 5), 3, 1)
    out["norm_except_dim -1"] = lambda: lib.norm_except_dim(emb, 2, -1)
    grid = lib.tensor(g.uniform(-1.1, 1.1, (2, 3, 3, 2)), device=dev)
    img = T(2, 2, 4, 4)
    for mode in (0, 1, 2):
        for pad in (0, 1, 2):
            out[f"grid_sampler {mode} {pad}"] = lambda mode=mode, pad=pad: lib.grid_sampler(img, grid, mode, pad, False)
    out["grid_sampler_2d"] = lambda: lib.grid_sampler_2d(img, grid, 0, 0, True)
    out["grid_sampler_3d"] = lambda: lib.grid_sampler_3d(T(1, 2, 3, 3, 3), lib.tensor(g.uniform(-1, 1, (1, 2, 2, 2, 3)), device=dev), 0, 1, False)
    out["affine_grid_generator"] = lambda: lib.affine_grid_generator(T(2, 2, 3), [2, 1, 3, 4], False)
    out["dropout_ eval"] = lambda: lib.dropout_(x.detach().clone(), 0.5, False)
    out["native_dropout eval"] = lambda: lib.native_dropout(x, 0.5, False)
    out["native_dropout p=0"] = lambda: lib.native_dropout(x, 0.0, True)
    out["feature_dropout eval"] = lambda: lib.feature_dropout(x, 0.5, False)
    out["feature_alpha_dropout eval"] = lambda: lib.feature_alpha_dropout(x, 0.5, False)
    out["alpha_dropout_ eval"] = lambda: lib.alpha_dropout_(x.detach().clone(), 0.5, False)
    out["feature_dropout_ eval"] = lambda: lib.feature_dropout_(x.detach().clone(), 0.5, False)
    out["feature_alpha_dropout_ eval"] = lambda: lib.feature_alpha_dropout_(x.detach().clone(), 0.5, False)
    return out


NAMES = sorted(cases(torch, "cpu"))


def _run(lib, dev, name):
    made = []
    real_tensor = lib.tensor

    def tensor(*args, **kwargs):                # remember the inputs, to read their gradients
        t = real_tensor(*args, **kwargs)
        made.append(t)
        return t
    lib.tensor = tensor
    try:
        out = cases(lib, dev)[name]()
    except Exception as e:      # noqa: BLE001 - the exception is the outcome compared
        return (type(e).__name__, str(e)), []
    finally:
        lib.tensor = real_tensor
    out = out if isinstance(out, tuple) else (out,)
    grads = []
    differentiable = [t for t in out if t.requires_grad]
    if differentiable:
        total = sum((t * (1 + lib.arange(t.numel(), dtype=t.dtype, device=t.device).reshape(t.shape) / 7)).sum()
                    for t in differentiable)
        inputs = [t for t in made if t.requires_grad]
        grads = lib.autograd.grad(total, inputs, allow_unused=True)
    return [(tuple(t.shape), str(t.dtype), t.detach().cpu().numpy()) for t in out], \
        [None if gr is None else gr.cpu().numpy() for gr in grads]


@pytest.mark.parametrize("name", NAMES)
def test_against_pytorch(name, device):
    (ref, ref_grads), (ours, our_grads) = _run(torch, "cpu", name), _run(flambeau, device, name)
    if isinstance(ref, tuple) or isinstance(ours, tuple):
        assert ours == ref
        return
    assert [(s, d.replace("torch.", "")) for s, d, _ in ours] == [(s, d.replace("torch.", "")) for s, d, _ in ref]
    for (_, _, a), (_, _, b) in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)
    assert [g is None for g in our_grads] == [g is None for g in ref_grads]
    for a, b in zip(our_grads, ref_grads):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)


def test_an_unknown_mode_is_refused():
    img, grid = flambeau.zeros(1, 1, 2, 2), flambeau.zeros(1, 1, 1, 2)
    with pytest.raises(ValueError, match="3 is not a valid value for interpolation_mode"):
        flambeau.grid_sampler(img, grid, 3, 0, False)


def test_dropout_in_place_forms_are_in_place():
    x = flambeau.ones(4, 3, 5)
    assert flambeau.dropout_(x, 0.5, False) is x
    y = flambeau.ones(100)
    flambeau.manual_seed(0)
    assert flambeau.dropout_(y, 0.5, True) is y and set(y.tolist()) == {0.0, 2.0}


def test_native_dropout_mask():
    flambeau.manual_seed(0)
    x = flambeau.rand(1000) + 1
    out, mask = flambeau.native_dropout(x, 0.3, True)
    assert mask.dtype == flambeau.bool and 600 < int(mask.sum()) < 800
    flambeau.testing.assert_close(out, x * mask / 0.7)
    out, mask = flambeau.native_dropout(x, 0.3, None)          # None counts as training, as in PyTorch
    assert not bool(mask.all())
