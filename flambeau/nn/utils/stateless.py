"""nn.utils.stateless: call a module with other tensors in place of its parameters and buffers.

``functional_call`` here is torch's deprecated spelling of ``flambeau.func.functional_call``; both run
``_functional_call``. The module's tensors are swapped in its ``_parameters`` / ``_buffers`` tables (so a
plain tensor can stand for a Parameter) and swapped back afterwards, even when the call raises.
"""
import contextlib
import warnings

from ..._tensor import Tensor

__all__ = ["functional_call"]

_MISSING = object()       # a name the module did not have before the swap


def _untie_named_tensors_map(module, parameters_and_buffers):
    """Give every name tied to a given name (same tensor in the module) the given value; two different
    values for one tied tensor are an error."""
    all_named = dict(module.named_parameters(remove_duplicate=False))
    all_named.update(module.named_buffers(remove_duplicate=False))
    names_of = {}                     # id(tensor) -> every name it has in the module
    for name, tensor in all_named.items():
        names_of.setdefault(id(tensor), set()).add(name)
    tied = {name: names for names in names_of.values() if len(names) > 1 for name in names}
    given_tied = [name for name in parameters_and_buffers if name in tied]
    for name in given_tied:
        names = tied[name]
        if (len(names.intersection(given_tied)) > 1
                and len({id(parameters_and_buffers[n]) for n in names if n in parameters_and_buffers}) != 1):
            raise ValueError(f"functional_call got multiple values for keys {sorted(names)}, "
                             f"which are tied. Consider using tie_weights=False")
    untied = dict(parameters_and_buffers)
    for name in given_tied:
        for tied_name in tied[name]:
            untied[tied_name] = parameters_and_buffers[name]
    return untied


def _owner(module, name):
    """(submodule, attribute) of a dotted name, with torch's errors for a missing or non-module step."""
    from ..modules.module import Module
    prefix, _, attr = name.rpartition(".")
    owner = module
    path = []
    for step in prefix.split(".") if prefix else ():
        path.append(step)
        try:
            owner = getattr(owner, step)
        except AttributeError as e:
            raise AttributeError(f"{owner._get_name()} has no attribute `{step}`") from e
        if not isinstance(owner, Module):
            raise TypeError(f"submodule `{'.'.join(path)}`: {owner} is not an instance of torch.nn.Module")
    return owner, attr


def _swap_tensor(module, name, tensor):
    """Put tensor (or _MISSING: remove) at module's dotted name; returns what was there."""
    if tensor is not _MISSING and tensor is not None and not isinstance(tensor, Tensor):
        raise TypeError(f"{tensor} is not an instance of torch.Tensor")
    owner, attr = _owner(module, name)
    if attr == "":
        raise KeyError('tensor name can\'t be empty string ""')
    for table in (owner._parameters, owner._buffers):
        if attr in table:
            orig = table[attr]
            if tensor is _MISSING:
                del table[attr]
            else:
                table[attr] = tensor
            return orig
    orig = getattr(owner, attr) if hasattr(owner, attr) else _MISSING
    if orig is not _MISSING and orig is not None and not isinstance(orig, Tensor):
        raise TypeError(f"attribute `{attr}`: {orig} is not an instance of torch.Tensor")
    if tensor is not _MISSING:
        setattr(owner, attr, tensor)
    elif hasattr(owner, attr):
        delattr(owner, attr)
    return orig


def _swap_tensors_dict(module, named_tensors):
    originals = {}
    try:
        for name, tensor in named_tensors.items():
            originals[name] = _swap_tensor(module, name, tensor)
    except Exception:
        for name, orig in originals.items():
            _swap_tensor(module, name, orig)
        raise
    return originals


def _check_keys(module, given):
    valid = {name for name, _ in module.named_parameters(remove_duplicate=False)}
    valid |= {name for name, _ in module.named_buffers(remove_duplicate=False)}
    errors = []
    unexpected, missing = sorted(set(given) - valid), sorted(valid - set(given))
    if unexpected:
        errors.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        errors.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if errors:
        raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(module._get_name(),
                                                                              "\n\t".join(errors)))


@contextlib.contextmanager
def _reparametrize_module(module, parameters_and_buffers, tie_weights=False, strict=False):
    untied = _untie_named_tensors_map(module, parameters_and_buffers) if tie_weights else parameters_and_buffers
    if strict:
        _check_keys(module, untied)
    originals = {}
    try:
        originals = _swap_tensors_dict(module, untied)
        yield
    finally:
        current = _swap_tensors_dict(module, originals)
        # a module that assigned to its own parameters/buffers during the call hands the new
        # tensors back through the caller's dict, as torch does
        parameters_and_buffers.update({k: current[k] for k in parameters_and_buffers if k in current})


def _functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights=True, strict=False):
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize_module(module, parameters_and_buffers, tie_weights=tie_weights, strict=strict):
        return module(*args, **kwargs)


def functional_call(module, parameters_and_buffers, args=None, kwargs=None, *, tie_weights=True, strict=False):
    """Deprecated since torch 2.0 in favour of ``flambeau.func.functional_call`` (same arguments, one dict)."""
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 and will be removed "
                  "in a future version of PyTorch. Please use `torch.func.functional_call` instead which is a "
                  "drop-in replacement.", FutureWarning, stacklevel=2)
    return _functional_call(module, parameters_and_buffers, args, kwargs, tie_weights=tie_weights, strict=strict)
