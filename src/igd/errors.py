"""User-facing errors: one readable line that says what is wrong and what is expected.

The CLI prints ``error: <message>`` and exits with a non-zero code for any :class:`IGDError`.
"""


class IGDError(ValueError):
    """Bad input from a user (shape, unit, range, file). The message is shown as is."""


class MissingDependency(IGDError, ImportError):
    """An optional extra is not installed; the message names what to install."""


def require(module: str, extra: str):
    """Import an optional module or raise :class:`MissingDependency` naming the pip extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise MissingDependency(f"'{module}' is needed for this feature: pip install 'igd[{extra}]'") from e
