"""flambeau.compat runs scripts written for PyTorch unchanged: same printed output as real torch."""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "compat_scripts")
ROOT = os.path.dirname(HERE)


def run(args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable] + args, capture_output=True, text=True, env=env, cwd=SCRIPTS, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


@pytest.mark.parametrize("script", ["tensor_exercises.py", "mlp_backward.py", "convnet_training.py",
                                    "dataloader_loop.py", "autoencoder.py", "gan_loop.py", "char_rnn.py",
                                    "attention.py", "resnet_blocks.py", "autograd_tools.py", "seeded_training.py",
                                    "course_mix.py", "tensor_mix.py", "module_api.py",
                                    "data_loading.py", "probabilistic.py", "seq_models.py",
                                    "training_utils.py", "more_ops.py", "reprs.py",
                                    "autograd_errors.py", "functional2.py", "inspection.py", "ml_basics.py",
                                    "generative_seq.py", "devices_dtypes.py",
                                    "indexing_patterns.py", "seeded_random.py", "optimizers.py",
                                    "losses.py", "derivatives.py",
                                    "layer_zoo.py", "storage_views.py", "checkpointing.py",
                                    "spectral_special.py", "linear_algebra.py", "grad_modes_tools.py",
                                    "visualization_hooks.py", "model_utilities.py", "numerics_edge_cases.py",
                                    "type_promotion.py", "iterable_data.py", "tensor_ops_zoo2.py",
                                    "norm_layers_modes.py", "amp_and_backends.py", "testing_utils.py"])
def test_script_prints_what_torch_prints(script):
    pytest.importorskip("torch")
    expected = run([os.path.join(SCRIPTS, script)])
    ours = run(["-m", "flambeau.compat", os.path.join(SCRIPTS, script)])
    assert ours == expected


def test_missing_attribute_is_named(tmp_path):
    script = tmp_path / "missing.py"
    script.write_text("import torch\ntorch.no_such_function_here(1)\n")
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "flambeau.compat", str(script)], capture_output=True, text=True,
                       env=env)
    assert r.returncode != 0
    assert "AttributeError: torch.no_such_function_here is not implemented in flambeau" in r.stderr


def test_missing_module_is_named(tmp_path):
    script = tmp_path / "missing_mod.py"
    script.write_text("import torch.distributions.no_such_module\n")
    env = dict(os.environ, PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "flambeau.compat", str(script)], capture_output=True, text=True,
                       env=env)
    assert r.returncode != 0
    assert "is not implemented in flambeau" in r.stderr


def test_missing_attribute_of_a_submodule_reached_as_attribute_is_named(tmp_path):
    script = tmp_path / "missing_sub.py"
    script.write_text("import torch\nprint(torch.backends.cudnn.enabled, torch.nn is __import__('torch.nn').nn)\n"
                      "torch.backends.no_such_thing\n")
    r = subprocess.run([sys.executable, "-m", "flambeau.compat", str(script)], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode != 0 and r.stdout == "True True\n"
    assert "AttributeError: torch.backends.no_such_thing is not implemented in flambeau" in r.stderr


def test_flambeau_modules_keep_their_own_package(tmp_path):
    # the import system's bookkeeping on a torch.* alias must not rename the flambeau module it
    # stands for: relative imports made inside flambeau functions would then look in torch.*
    script = tmp_path / "relative.py"
    script.write_text("import torch, torch.nn, torch.nn.functional as F\n"
                      "import flambeau.nn.functional as real\n"
                      "print(real.__package__, real.__spec__.name, torch.nn.__spec__.name)\n"
                      "x = torch.arange(12.).view(1, 1, 3, 4)\n"
                      "print(tuple(F.interpolate(x, scale_factor=2, mode='nearest').shape))\n")
    r = subprocess.run([sys.executable, "-m", "flambeau.compat", str(script)], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "flambeau.nn flambeau.nn.functional torch.nn\n(1, 1, 6, 8)\n"


def test_install_from_python(tmp_path):
    code = ("import flambeau.compat; flambeau.compat.install()\n"
            "import torch, torch.nn.functional as F\n"
            "import flambeau\n"
            "assert torch.tensor is flambeau.tensor and F.relu is flambeau.nn.functional.relu\n"
            "print(torch.ones(2) + 1)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "tensor([2., 2.])\n"


def test_install_refuses_after_real_torch():
    code = "import torch\nimport flambeau.compat\nflambeau.compat.install()\n"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode != 0 and "already imported" in r.stderr
