r"""Turn benchmark runs into a markdown report with figures: GSR/DR, latency, causes, objects.

examples:
  # every cell of the VGN peer runs in one report
  igd report runs/peer_vgn/* --out runs/report_peer

  # two planners side by side, one of them under another name
  igd report runs/bench/vgn-packed runs/bench/igd-packed --label runs/bench/igd-packed=igd-v2 \
      --out runs/report

  # a run still in progress is read from its round files and marked partial
  igd report runs/bench/vgn-pile --out /tmp/report --min-attempts 10

outputs (in --out):
  README.md  report.json  rates.png  latency.png  causes.png  end_reasons.png  objects_<planner>.png
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from igd.errors import IGDError


def parse_labels(items: list[str] | None) -> dict:
    """``["RUN_DIR=NAME", ...]`` -> ``{RUN_DIR: NAME}`` (the name kept as text)."""
    labels = {}
    for item in items or []:
        run_dir, sep, name = item.partition("=")
        if not sep or not run_dir.strip() or not name.strip():
            raise IGDError(f"--label expects RUN_DIR=NAME, got {item!r}")
        labels[run_dir.strip()] = name.strip()
    return labels


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``igd report``."""
    p = parser.add_argument
    p("runs", nargs="+", metavar="RUN_DIR", help="benchmark run folders (igd bench --out), finished or not")
    p("--out", required=True, metavar="REPORT_DIR", help="report folder (created; its report files are replaced)")
    p("--label", action="append", metavar="RUN_DIR=NAME",
      help="show RUN_DIR under the planner label NAME (default: planner name and weights stem) (repeatable)")
    p("--min-attempts", type=int, default=5,
      help="objects attempted fewer times are folded into 'other' in the per-object section (default: 5)")


def summary_table(readme: Path) -> str:
    """The summary table at the top of a report's README.md (markdown lines)."""
    lines = Path(readme).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| planner"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return "\n".join(lines[start:end])


def run(args: argparse.Namespace) -> int:
    """Write the report, print its summary table and where it is."""
    from igd.report import write_report

    readme = write_report(args.runs, args.out, labels=parse_labels(args.label), min_attempts=args.min_attempts)
    print(summary_table(readme))
    rel = os.path.relpath(readme)
    print(f"report: {Path(readme).as_posix() if rel.startswith('..') else rel}")
    return 0
