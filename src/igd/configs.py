"""Config dataclasses from dicts, and the field checks their ``__post_init__`` share.

Every config of igd (the planners', :class:`~igd.planners.postprocess.PostprocessConfig`, data
generation's, processing's, the benchmark's and training's) is built from a dict — a checkpoint's
stored config, ``--set KEY=VALUE``, a run's JSON file — by :func:`config_from_dict`: a key that is not
a field is one line naming the config, the key and the valid fields, never silently dropped.

The ``check_*`` functions raise the one-line :class:`~igd.errors.IGDError` of a bad field,
``<Config>.<field> must be <what is allowed>, got <value>``. This module imports nothing but
:mod:`igd.errors`, so any config may use it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping, Optional, Sequence, TypeVar

from igd.errors import IGDError

__all__ = ["check_bool", "check_choice", "check_int", "check_number", "config_from_dict"]

C = TypeVar("C")


def config_from_dict(cls: type[C], values: Mapping[str, Any], derived: Iterable[str] = ()) -> C:
    """``cls(**values)`` for the dataclass ``cls``, validated by its ``__post_init__``.

    A key of ``values`` that is not a field of ``cls`` raises :class:`IGDError` naming ``cls``, every
    unknown key and the valid fields. ``derived``: keys that a file written by igd stores beside the
    fields (values computed from them, such as a digest of the objects); they are accepted and left out.
    """
    if not isinstance(values, Mapping):
        raise IGDError(f"{cls.__name__}: expected a dict of fields, got {type(values).__name__}")
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    skipped = set(derived)
    unknown = sorted(str(k) for k in values if k not in names and k not in skipped)
    if unknown:
        raise IGDError(f"{cls.__name__}: unknown field(s) {unknown}; valid fields: {sorted(names)}")
    return cls(**{k: v for k, v in values.items() if k in names})


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_int(config, name: str, lo: int, hi: Optional[int] = None) -> None:
    """``config.<name>`` must be an int (not a bool) in ``[lo, hi]`` (``hi`` None: no upper bound)."""
    value = getattr(config, name)
    if not _is_int(value) or value < lo or (hi is not None and value > hi):
        allowed = f"an int >= {lo}" if hi is None else f"an int in [{lo}, {hi}]"
        raise IGDError(f"{type(config).__name__}.{name} must be {allowed}, got {value!r}")


def check_number(config, name: str, lo: float, hi: float, optional: bool = False) -> None:
    """``config.<name>`` must be a number (int or float, not a bool) in ``[lo, hi]``; None too if ``optional``."""
    value = getattr(config, name)
    if optional and value is None:
        return
    if not _is_number(value) or not lo <= value <= hi:
        allowed = f"a number in [{lo}, {hi}]"
        raise IGDError(f"{type(config).__name__}.{name} must be {'None or ' if optional else ''}{allowed}, "
                       f"got {value!r}")


def check_choice(config, name: str, allowed: Sequence[str]) -> None:
    """``config.<name>`` must be one of ``allowed``."""
    value = getattr(config, name)
    if value not in allowed:
        raise IGDError(f"{type(config).__name__}.{name} must be one of {list(allowed)}, got {value!r}")


def check_bool(config, name: str) -> None:
    """``config.<name>`` must be True or False."""
    value = getattr(config, name)
    if not isinstance(value, bool):
        raise IGDError(f"{type(config).__name__}.{name} must be a bool, got {value!r}")
