"""The model registry and the weights API: ``Weights``, ``WeightsEnum``, ``get_model``,
``get_model_builder``, ``get_model_weights``, ``get_weight``, ``list_models`` (torchvision's)."""
import fnmatch
import functools
import inspect
import sys
import typing
from dataclasses import dataclass
from enum import Enum

from ._hub import load_state_dict_from_url

__all__ = ["WeightsEnum", "Weights", "get_model", "get_model_builder", "get_model_weights", "get_weight",
           "list_models"]


@dataclass(eq=False)
class Weights:
    """One set of pretrained weights.

    Args:
        url: where the state dict file is (its name is the cache file's name).
        transforms: builds the preprocessing the weights were trained with, ``transforms()``.
        meta: ``categories``, ``num_params``, ``min_size``, ``recipe``, ``_metrics``, ... .
    """

    url: str
    transforms: typing.Callable
    meta: typing.Dict[str, typing.Any]

    def __eq__(self, other):
        # transforms is usually a functools.partial, and partials compare by identity: compare what
        # they would call instead, so a deep-copied or unpickled enum member still finds its value
        if not isinstance(other, Weights):
            return NotImplemented
        if self.url != other.url or self.meta != other.meta:
            return False
        a, b = self.transforms, other.transforms
        if isinstance(a, functools.partial) and isinstance(b, functools.partial):
            return (a.func, a.args, a.keywords) == (b.func, b.args, b.keywords)
        return a == b

    __hash__ = None


class WeightsEnum(Enum):
    """Base of the ``<Model>_Weights`` enums; each member's value is a :class:`Weights`.

    ``DEFAULT`` is an alias of the best member. Members expose ``url``, ``transforms`` and ``meta``.
    """

    @classmethod
    def verify(cls, obj):
        """``None``, a member of this enum, or its name (``"IMAGENET1K_V1"`` or
        ``"ResNet18_Weights.IMAGENET1K_V1"``) -> ``None`` or the member.

        Raises:
            TypeError: ``obj`` is a member of another enum, or another kind of object.
            KeyError: a string that names no member.
        """
        if obj is None:
            return None
        if type(obj) is str:
            prefix = cls.__name__ + "."
            return cls[obj[len(prefix):] if obj.startswith(prefix) else obj]
        if not isinstance(obj, cls):
            raise TypeError(f"Invalid Weight class provided; expected {cls.__name__} but received "
                            f"{obj.__class__.__name__}.")
        return obj

    def get_state_dict(self, *args, **kwargs):
        """The weights' state dict, from torch hub's cache (downloaded there first if missing);
        arguments as :func:`load_state_dict_from_url` after ``url``."""
        return load_state_dict_from_url(self.url, *args, **kwargs)

    def __repr__(self):
        return f"{self.__class__.__name__}.{self._name_}"

    @property
    def url(self):
        return self.value.url

    @property
    def transforms(self):
        return self.value.transforms

    @property
    def meta(self):
        return self.value.meta


BUILTIN_MODELS = {}


def register_model(name=None):
    """Decorator: add a model builder to the registry under ``name`` (default: its own name)."""
    def register(fn):
        key = fn.__name__ if name is None else name
        if key in BUILTIN_MODELS:
            raise ValueError(f"An entry is already registered under the name '{key}'.")
        BUILTIN_MODELS[key] = fn
        return fn
    return register


def _package_of(fn):
    return fn.__module__.rsplit(".", 1)[0]


def list_models(module=None, include=None, exclude=None):
    """The sorted names of registered models.

    Args:
        module: only the models defined in this package (``flambeau.vision.models``).
        include: shell-style pattern(s) (``fnmatch``); a model matching any of them is kept.
        exclude: pattern(s) applied after ``include``; a model matching any of them is dropped.
    """
    names = {k for k, fn in BUILTIN_MODELS.items() if module is None or _package_of(fn) == module.__name__}
    if include:
        patterns = [include] if isinstance(include, str) else include
        names = set().union(*(fnmatch.filter(names, p) for p in patterns))
    if exclude:
        patterns = [exclude] if isinstance(exclude, str) else exclude
        for p in patterns:
            names -= set(fnmatch.filter(names, p))
    return sorted(names)


def get_model_builder(name):
    """The builder registered as ``name`` (case-insensitive). Raises ValueError for unknown names."""
    name = name.lower()
    if name not in BUILTIN_MODELS:
        raise ValueError(f"Unknown model {name}")
    return BUILTIN_MODELS[name]


def get_model(name, **config):
    """``get_model_builder(name)(**config)``: e.g. ``get_model("resnet18", weights=None, num_classes=10)``."""
    return get_model_builder(name)(**config)


def _weights_enum_of(fn):
    """The WeightsEnum named by the annotation of the builder's ``weights`` parameter."""
    params = inspect.signature(fn).parameters
    if "weights" not in params:
        raise ValueError("The method is missing the 'weights' argument.")
    annotation = params["weights"].annotation
    for candidate in (annotation, *typing.get_args(annotation)):     # T or Optional[T]
        if isinstance(candidate, type) and issubclass(candidate, WeightsEnum):
            return candidate
    raise ValueError("The WeightsEnum class for the specific method couldn't be retrieved. Make sure the typing "
                     "info is correct.")


def get_model_weights(name):
    """The weights enum of a model, given its builder or its registered name."""
    return _weights_enum_of(get_model_builder(name) if isinstance(name, str) else name)


def get_weight(name):
    """A weights member by its full name, ``"ResNet50_Weights.IMAGENET1K_V2"``."""
    parts = name.split(".")
    if len(parts) != 2:
        raise ValueError(f"Invalid weight name provided: '{name}'.")
    enum_name, member = parts
    package = sys.modules[__name__.rsplit(".", 1)[0]]
    enum = getattr(package, enum_name, None)
    if not (isinstance(enum, type) and issubclass(enum, WeightsEnum)):
        raise ValueError(f"The weight enum '{enum_name}' for the specific method couldn't be retrieved.")
    return enum[member]
