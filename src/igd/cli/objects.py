r"""List the object sets, or build a set's objects into the cache ahead of time (docs/objects.md).

examples:
  # the sets and their sizes, and where the cache is
  igd objects list

  # the names in one set
  igd objects list --set packed/test

  # process a set now rather than on first use (pile/train: about 2 minutes on one core)
  igd objects prepare --set pile/train

  # every set
  igd objects prepare --set all

The cache is $IGD_CACHE, else $XDG_CACHE_HOME/igd, else ~/.cache/igd (docs/objects.md).
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``igd objects``."""
    parser.add_argument("action", choices=["list", "prepare"], help="list the sets, or process a set now")
    parser.add_argument("--set", dest="set_name", default=None,
                        help="object set: blocks, pile/train, pile/test, packed/train, packed/test "
                             "(prepare: also 'all')")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """List or prepare; returns the exit code."""
    from igd.errors import IGDError
    from igd.sim import objects

    if args.action == "list":
        return _list(args.set_name)
    if args.set_name is None:
        raise IGDError("prepare needs --set NAME (or --set all)")
    names = objects.object_set_names() if args.set_name == "all" else [args.set_name]
    for name in names:
        result = objects.prepare_set(name, progress=not args.quiet)
        print(f"{name}: {result['objects']} objects, {result['processed']} processed in {result['seconds']} s")
    print(f"cache: {objects.catalogue_root()}")
    return 0


def _list(set_name: str | None) -> int:
    from igd.sim import objects

    if set_name is not None:
        print("\n".join(objects.object_set_members(set_name)))
        return 0
    for name in objects.object_set_names():
        print(f"{name:14s} {len(objects.object_set_members(name)):5d} objects")
    print(f"cache: {objects.catalogue_root()}")
    return 0


def main(argv=None) -> int:
    """``python -m igd.cli.objects ...`` without the ``igd`` front door."""
    from igd.cli._common import ArgumentParser, run_command

    parser = ArgumentParser(prog="igd objects", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_command(run, parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
