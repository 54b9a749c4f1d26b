"""``igd``: the command-line entry point. Each verb is one module of :mod:`igd.cli`.

A verb module has a docstring (its first line is the one-line help, the rest - examples - is shown
at the end of ``igd VERB --help``), ``add_arguments(parser)`` and ``run(args) -> int``. Adding a verb
is adding its module name to :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Optional, Sequence

import igd
from igd.cli._common import ArgumentParser, run_command

#: The verbs, in the order ``igd --help`` lists them; each is the module ``igd.cli.<name>``.
COMMANDS = ("demo", "detect", "serve", "view", "bench", "report", "generate", "process", "train", "mine", "evaluate",
            "objects")


def _add_command(subparsers, name: str) -> None:
    module = importlib.import_module(f"igd.cli.{name}")
    doc = (module.__doc__ or name).strip()
    summary, _, details = doc.partition("\n")
    parser = subparsers.add_parser(name, help=summary, description=summary, epilog=details.strip("\n") or None,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(parser)
    parser.set_defaults(_run=module.run)


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(prog="igd", description=(igd.__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--version", action="version", version=f"igd {igd.__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command", required=True)
    for name in COMMANDS:
        _add_command(subparsers, name)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``) and run the command; returns the exit code."""
    args = build_parser().parse_args(argv)
    return run_command(args._run, args)


if __name__ == "__main__":
    sys.exit(main())
