"""Helpers shared by the model builders: the pre-0.13 ``pretrained=`` interface, parameter
overrides that weights impose, channel rounding."""
import functools
import inspect
import warnings

from ._api import WeightsEnum


def _make_divisible(v, divisor, min_value=None):
    """``v`` rounded to the nearest multiple of ``divisor`` (at least ``min_value``, default ``divisor``),
    one more multiple up if rounding lost more than 10% of ``v`` (MobileNet's channel rule)."""
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * v:
        rounded += divisor
    return rounded


def _quoted_list(names):
    """'a' / 'a' and 'b' / 'a', 'b', and 'c'."""
    quoted = [f"'{n}'" for n in names]
    if len(quoted) == 1:
        return quoted[0]
    if len(quoted) == 2:
        return f"{quoted[0]} and {quoted[1]}"
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def _ovewrite_named_param(kwargs, param, new_value):
    """Set ``kwargs[param] = new_value``; a value the caller gave must already equal it (ValueError)."""
    if param in kwargs:
        if kwargs[param] != new_value:
            raise ValueError(f"The parameter '{param}' expected value {new_value} but got {kwargs[param]} instead.")
    else:
        kwargs[param] = new_value


def _keyword_only_as_positional(builder):
    """Let the builder's keyword-only parameters (``weights``, ``progress``) also be passed by
    position, as before torchvision 0.13, with a deprecation warning."""
    params = list(inspect.signature(builder).parameters.values())
    first = next((i for i, p in enumerate(params) if p.kind is p.KEYWORD_ONLY), None)
    if first is None:
        raise TypeError(f"Found no keyword-only parameter on function '{builder.__name__}'")
    keyword_only = [p.name for p in params[first:]]

    @functools.wraps(builder)
    def wrapper(*args, **kwargs):
        moved = dict(zip(keyword_only, args[first:]))
        if moved:
            warnings.warn(f"Using {_quoted_list(list(moved))} as positional parameter(s) is deprecated since 0.13 "
                          f"and may be removed in the future. Please use keyword parameter(s) instead.")
            kwargs.update(moved)
        return builder(*args[:first], **kwargs)
    return wrapper


def handle_legacy_interface(**weights):
    """Decorator for a builder taking ``weights=``: accept the old ``pretrained=`` spelling too.

    ``handle_legacy_interface(weights=("pretrained", Enum.IMAGENET1K_V1))``: ``pretrained=True``
    means ``weights=Enum.IMAGENET1K_V1`` (the first weights, not ``DEFAULT``), ``pretrained=False``
    means ``weights=None``; both warn that the spelling is deprecated. A bool passed as ``weights``
    (by position too) is read the same way. The default may be a callable of the keyword arguments.
    """
    def decorate(builder):
        @_keyword_only_as_positional
        @functools.wraps(builder)
        def wrapper(*args, **kwargs):
            for weights_param, (pretrained_param, default) in weights.items():
                missing = object()
                value = kwargs.get(weights_param, missing)
                new_style = (value is None or isinstance(value, WeightsEnum)
                             or (isinstance(value, str) and value != "legacy"))
                if (weights_param not in kwargs and pretrained_param not in kwargs) or new_style:
                    continue
                # a bool given as weights= (or by position, which lands on weights=) is the old pretrained
                as_weights = value is not missing
                if as_weights:
                    kwargs[pretrained_param] = kwargs.pop(weights_param)
                pretrained = kwargs[pretrained_param]
                if pretrained:
                    chosen = default(kwargs) if callable(default) else default
                    if not isinstance(chosen, WeightsEnum):
                        raise ValueError(f"No weights available for model {builder.__name__}")
                else:
                    chosen = None
                if not as_weights:
                    warnings.warn(f"The parameter '{pretrained_param}' is deprecated since 0.13 and may be removed "
                                  f"in the future, please use '{weights_param}' instead.")
                message = (f"Arguments other than a weight enum or `None` for '{weights_param}' are deprecated since "
                           f"0.13 and may be removed in the future. The current behavior is equivalent to passing "
                           f"`{weights_param}={chosen}`.")
                if pretrained:
                    message += (f" You can also use `{weights_param}={type(chosen).__name__}.DEFAULT` to get the "
                                f"most up-to-date weights.")
                warnings.warn(message)
                del kwargs[pretrained_param]
                kwargs[weights_param] = chosen
            return builder(*args, **kwargs)
        return wrapper
    return decorate
