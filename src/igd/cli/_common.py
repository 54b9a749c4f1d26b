"""What every ``igd`` command shares: a parser whose errors are one line, and the error wrapper.

Bad input (an :class:`~igd.errors.IGDError`, a missing file, a bad value) becomes one line on
stderr, ``igd: error: <message>``, and exit code 2 - never a traceback from deep inside
(docs/development.md, "Errors are for people"). Set ``IGD_DEBUG=1`` to see the traceback anyway.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Callable, NoReturn

from igd.errors import IGDError

#: Exceptions that mean "the user asked for something that cannot be done as asked".
USER_ERRORS = (IGDError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError, ValueError)
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def debug_enabled() -> bool:
    return os.environ.get("IGD_DEBUG", "").strip() not in ("", "0", "false", "no")


def error_line(error: BaseException) -> str:
    """One line saying what went wrong."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.strerror}: {error.filename}"
    text = " ".join(str(error).split()) if str(error) else type(error).__name__
    return text


class ArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one ``igd: error:`` line."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"igd: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def run_command(func: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Run a command's ``run(args)``; user errors become one line and exit code 2."""
    try:
        return int(func(args) or 0)
    except USER_ERRORS as e:
        if debug_enabled():
            raise
        print(f"igd: error: {error_line(e)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("igd: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def parse_assignments(items: list[str] | None, option: str = "--set") -> dict:
    """``["k=v", ...]`` -> ``{k: v}``; a value is read as JSON (numbers, true, null, lists) or kept as text."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise IGDError(f"{option} expects KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


#: ``--planner`` and ``--weights`` mean the same in every command (:func:`igd.released.resolve_planner`).
PLANNER_HELP = ("a released name, which brings its weights (igd-packed, giga-pile-authors, vgn, topdown, ...; "
                "'python -m igd.released' lists them), a checkpoint path, or a planner type (vgn, giga, igd, "
                "se3dif, dgrasp, topdown) with --weights")
WEIGHTS_HELP = "weights for the planner type given as --planner: a checkpoint path or a released name"


def add_threads_option(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: the planning threads (:func:`igd.threads.configure_threads`), the same in every command."""
    from igd.threads import THREADS_HELP

    parser.add_argument("--threads", type=int, metavar="N", help=THREADS_HELP)


def planner_choice(planner: str, weights: str | None) -> tuple[str, str | None]:
    """``(planner type, weights path or None)`` of ``--planner`` / ``--weights`` (one meaning everywhere)."""
    from igd.released import resolve_planner

    choice = resolve_planner(planner, weights)
    kind = choice.planner
    if kind is None:  # a checkpoint path: its type tag or its layout decides
        from igd.api import checkpoint_planner

        kind = checkpoint_planner(choice.weights)
    return kind, None if choice.weights is None else str(choice.weights)
