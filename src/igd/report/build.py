"""Write a report folder from benchmark runs: ``README.md``, ``report.json`` and the PNG figures.

Layout of ``OUT``::

    OUT/README.md          summary table, then sections with figures (relative links) and tables
    OUT/report.json        the same numbers for machines (rates in %, times in seconds)
    OUT/rates.png  latency.png  causes.png  end_reasons.png  objects_<label>.png
    OUT/extras/<section>/  files handed in with ``extras`` (scene snapshots, a viewer page, ...)
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import igd
from igd.bench.clutter_removal import END_REASONS
from igd.errors import IGDError
from igd.report import plots
from igd.report.load import load_run
from igd.report.numbers import MIN_ATTEMPTS, Entry, group_runs, objects_by_label

REPORT_FORMAT = "igd-report-v1"
README = "README.md"
REPORT_JSON = "report.json"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
CAUSE_ORDER = ("success", "collision", "empty", "slipped")
Extras = Sequence[tuple[str, Sequence[str | Path]]]


def slug(text: str) -> str:
    """A file-name-safe form of ``text``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def _pm(value: float | None, std: float | None, seeds: int) -> str:
    """``mean ± std``; with fewer than two seeds there is no spread to show, and the text says so."""
    if value is None:
        return "n/a"
    return f"{value:.1f} ± n/a ({seeds} seed)" if std is None or seeds < 2 else f"{value:.1f} ± {std:.1f}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def sample_size(metrics: Mapping[str, Any]) -> str:
    """``1 seed, 3 rounds, 12 grasps``: what one entry's numbers rest on."""
    return (f"{_plural(len(metrics['seeds']), 'seed')}, {_plural(metrics['rounds'], 'round')}, "
            f"{_plural(metrics['attempts'], 'grasp')}")


def _sample_line(entries: Sequence[Entry]) -> str:
    """The sample size of every entry, in one line (once when all entries share it)."""
    sizes = [sample_size(e.metrics) for e in entries]
    if len(set(sizes)) == 1:
        return f"Sample size: {sizes[0]}{' per entry' if len(entries) > 1 else ''}."
    return "Sample size: " + "; ".join(f"{e.label} | {e.cell}: {size}" for e, size in zip(entries, sizes)) + "."


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{1000.0 * value:.0f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def _order(tallies: Sequence[Mapping[str, Any]], first: Sequence[str]) -> list[str]:
    keys = {k for t in tallies for k in t}
    return [k for k in first if k in keys] + sorted(keys - set(first))


def _status(entry: Entry) -> str:
    return "partial" if entry.partial else "complete"


def _entry_json(entry: Entry) -> dict[str, Any]:
    return {"label": entry.label, "cell": entry.cell, "partial": entry.partial,
            "runs": [str(r.path) for r in entry.runs], "metrics": entry.metrics}


def _link(path: str | Path, out: Path) -> str:
    """``path`` relative to the report folder ``out`` (a link that works wherever the report is read)."""
    return Path(os.path.relpath(Path(path).resolve(), out.resolve())).as_posix()


def _run_json(run, label: str, cell: str, out: Path) -> dict[str, Any]:
    return {"path": str(run.path), "link": _link(run.path, out), "label": label, "cell": cell,
            "partial": run.partial, "source": run.source,
            "rounds_stored": len(run.rounds), "rounds_expected": run.expected_rounds, "notes": list(run.notes),
            "settings": run.settings}


def _copy_extras(extras: Extras, out: Path) -> list[tuple[str, list[str]]]:
    """Copy every extra file to ``out/extras/<section>/``; the sections with relative paths."""
    sections = []
    for title, files in extras or ():
        folder = Path("extras") / slug(title)
        copied = []
        for file in files:
            src = Path(file)
            if not src.is_file():
                raise IGDError(f"extra file for '{title}' not found: {src}")
            dst = out / folder / src.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.resolve() != dst.resolve():
                shutil.copyfile(src, dst)
            copied.append((folder / src.name).as_posix())
        sections.append((str(title), copied))
    return sections


def _markdown(entries: list[Entry], runs_json: list[dict], objects: dict[str, Any], figures: dict[str, str],
              extras: list[tuple[str, list[str]]], notes: Sequence[str] = ()) -> str:
    intro = (f"{len(runs_json)} run(s), {len(entries)} planner × cell entr{'y' if len(entries) == 1 else 'ies'}. "
             "GSR = successes / attempts, DR = successes / objects, per seed; mean ± sample std over seeds "
             "(as `summary.json`; one seed has no spread: `n/a`). Written by igd "
             f"{igd.__version__}; numbers for machines in [{REPORT_JSON}]({REPORT_JSON}).")
    md = ["# Benchmark report", "", intro, ""]
    for note in notes:
        md += [f"> {line}" if line else ">" for line in note.splitlines()] + [""]
    partial = [r for r in runs_json if r["partial"]]
    if partial:
        md += ["> **Partial runs** (numbers computed from the rounds stored so far):"]
        md += [f"> - [`{r['path']}`]({r['link']}): {'; '.join(r['notes']) or 'incomplete'}" for r in partial]
        md.append("")
    sample = _sample_line(entries)
    md += _table(("planner", "cell", "seeds", "rounds", "grasps", "GSR % ± std", "DR % ± std",
                  "planning ms (median)", "status"),
                 [(e.label, e.cell, len(e.metrics["seeds"]), e.metrics["rounds"], e.metrics["attempts"],
                   _pm(e.metrics["gsr"], e.metrics["gsr_std"], e.metrics["gsr_seeds"]),
                   _pm(e.metrics["dr"], e.metrics["dr_std"], e.metrics["dr_seeds"]),
                   _ms(e.metrics["planning_time"]["median"]), _status(e))
                  for e in entries])

    md += ["", "## GSR and DR", "", f"![GSR and DR per cell]({figures['rates']})", "", sample, "",
           ("Error bars: sample std over seeds; an entry with one seed has no spread and no bar. "
            "Pooled = every round of every seed together."), ""]
    md += _table(("planner", "cell", "seeds", "successes / attempts", "objects", "GSR pooled %", "DR pooled %",
                  "GSR % per seed"),
                 [(e.label, e.cell, len(e.metrics["seeds"]), f"{e.metrics['successes']} / {e.metrics['attempts']}",
                   e.metrics["objects"], _pct(e.metrics["gsr_pooled"]), _pct(e.metrics["dr_pooled"]),
                   ", ".join(f"{s}: {_pct(m['gsr'])}" for s, m in e.metrics["per_seed"].items()) or "n/a")
                  for e in entries])

    md += ["", "## Latency", "", f"![planning and integration time per grasp]({figures['latency']})", "", sample, "",
           ("Per executed grasp, ms. Planning = the planner's network and post-processing; integration = "
            "TSDF and cloud fusion of the observation."), ""]
    rows = []
    for e in entries:
        p, i = e.metrics["planning_time"], e.metrics["integration_time"]
        rows.append((e.label, e.cell, p["n"], _ms(p["median"]), _ms(p["p90"]), _ms(p["mean"]),
                     _ms(i["median"]), _ms(i["p90"]), _ms(i["mean"])))
    md += _table(("planner", "cell", "grasps", "plan median", "plan p90", "plan mean", "integr. median",
                  "integr. p90", "integr. mean"), rows)

    for key, title, fig in (("causes", "Grasp outcomes and failure causes", "causes"),
                            ("end_reasons", "Round end reasons", "end_reasons")):
        order = _order([e.metrics[key] for e in entries], CAUSE_ORDER if key == "causes" else END_REASONS)
        md += ["", f"## {title}", "", f"![{title.lower()}]({figures[fig]})", "", sample, ""]
        md += _table(("planner", "cell", *order),
                     [(e.label, e.cell, *(f"{e.metrics[key][k]['count']} ({e.metrics[key][k]['share']:.0f}%)"
                                          if k in e.metrics[key] else "0" for k in order)) for e in entries])
    md += ["", ("`collision`: the hand touched something at the pre-grasp pose; `empty`: the fingers closed on "
                "nothing; `slipped`: the object was lost during the lift. Rounds end `cleared`, after two "
                "`failures` in a row, with `nothing_to_see`, or with `no_grasp` from the planner.")]

    md += ["", "## Success per object", ""]
    for label, table in objects.items():
        md += [f"### {label}", "", f"![objects of {label}]({figures['objects'][label]})", "",
               f"Sample size: {_label_sample(entries, label)}.", ""]
        if table["sparse"]:
            md += [(f"Every object was attempted fewer than {table['min_attempts']} times: too few grasps for a "
                    "success rate per object. The attempts and successes per object:"), ""]
            md += _table(("object", "attempts", "successes"),
                         [(r["object"], r["attempts"], r["successes"]) for r in table["sparse"]])
            md.append("")
            continue
        if not table["rates_meaningful"]:
            md += [(f"{table['unattributed_failures']} failed grasp(s) name no object (the simulator names the "
                    "object only when the hand holds it), so the rate per object is not known; the numbers are "
                    "the successful grasps per object."), ""]
        elif table["unattributed_failures"]:
            md += [f"{table['unattributed_failures']} failed grasp(s) name no object and are not counted below.", ""]
        if table["rates_meaningful"]:
            md += _table(("object", "attempts", "successes", "success %"),
                         [(r["object"], r["attempts"], r["successes"], _pct(r["rate"])) for r in table["objects"]])
        else:
            total = sum(r["successes"] for r in table["objects"]) + table["unattributed_successes"]
            md += _table(("object", "successful grasps", "share of all successes %"),
                         [(r["object"], r["successes"], _pct(100.0 * r["successes"] / total if total else None))
                          for r in table["objects"]])
        md += ["", f"Objects attempted fewer than {table['min_attempts']} times are folded into `other`.", ""]

    for title, files in extras:
        md += [f"## {title}", ""]
        for f in files:
            md += [f"![{Path(f).stem}]({f})" if f.lower().endswith(IMAGE_SUFFIXES) else f"[{Path(f).name}]({f})", ""]

    md += ["## Runs", "", "Folders linked relative to this report.", ""]
    md += _table(("folder", "planner", "cell", "rounds stored / expected", "read from", "status"),
                 [(f"[`{r['path']}`]({r['link']})", r["label"], r["cell"],
                   f"{r['rounds_stored']} / {r['rounds_expected'] if r['rounds_expected'] is not None else '?'}",
                   r["source"], "partial" if r["partial"] else "complete") for r in runs_json])
    return "\n".join(md).rstrip() + "\n"


def _label_sample(entries: Sequence[Entry], label: str) -> str:
    """:func:`sample_size` of all entries of ``label`` together (its cells summed)."""
    mine = [e.metrics for e in entries if e.label == label]
    seeds = len({s for m in mine for s in m["seeds"]})
    return sample_size({"seeds": range(seeds), "rounds": sum(m["rounds"] for m in mine),
                        "attempts": sum(m["attempts"] for m in mine)})


def write_report(run_dirs: Sequence[str | Path], out_dir: str | Path, labels: Mapping[str, str] | None = None,
                 extras: Extras | None = None, min_attempts: int = MIN_ATTEMPTS, notes: Sequence[str] = ()) -> Path:
    """Write the report of ``run_dirs`` into ``out_dir``; returns the path of its ``README.md``.

    ``labels`` maps a run folder to the planner label it is shown under (default: planner name and
    weights stem, e.g. ``vgn:vgn_conv``); runs of one label and one cell (scene/views/noise) are
    merged. ``extras`` is a list of ``(section title, [files])``: the files are copied into
    ``out_dir/extras/`` and shown (images) or linked (anything else, e.g. an HTML viewer) in a section
    each. ``notes`` (markdown) are shown as quotes under the title, e.g. that the runs are a smoke run.
    Links (figures, extras, run folders) are relative to ``out_dir``. Raises :class:`IGDError` naming
    the folder for a missing or unreadable run.
    """
    if not run_dirs:
        raise IGDError("no run folders given")
    if isinstance(min_attempts, bool) or not isinstance(min_attempts, int) or min_attempts < 1:
        raise IGDError(f"min_attempts: expected an integer >= 1, got {min_attempts!r}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise IGDError(f"--out {out} is a file; expected a folder")
    runs = [load_run(p) for p in run_dirs]
    entries = group_runs(runs, labels)
    out.mkdir(parents=True, exist_ok=True)
    extra_sections = _copy_extras(extras or (), out)

    entry_of = {id(r): e for e in entries for r in e.runs}
    runs_json = [_run_json(r, entry_of[id(r)].label, entry_of[id(r)].cell, out) for r in runs]  # in the order given
    objects = objects_by_label(entries, min_attempts)
    entry_dicts = [_entry_json(e) for e in entries]
    names = [e.name for e in entries]

    figures: dict[str, Any] = {"rates": "rates.png", "latency": "latency.png", "causes": "causes.png",
                               "end_reasons": "end_reasons.png", "objects": {}}
    plots.rates_plot(entry_dicts, out / figures["rates"])
    plots.latency_plot(entry_dicts, [e.grasps for e in entries], out / figures["latency"])
    for key, title, first in (("causes", "grasp outcomes (share of attempts)", CAUSE_ORDER),
                              ("end_reasons", "round end reasons (share of rounds)", END_REASONS)):
        tallies = [e.metrics[key] for e in entries]
        plots.shares_plot(names, tallies, _order(tallies, first), title, out / figures[key])
    for label, table in objects.items():
        name = f"objects_{slug(label)}.png"
        what = ("attempts and successes" if table["sparse"] else
                "success rate" if table["rates_meaningful"] else "successful grasps")
        plots.objects_plot(table, f"{label}: {what} per object", out / name)
        figures["objects"][label] = name

    report = {"format": REPORT_FORMAT, "igd_version": igd.__version__, "notes": list(notes), "entries": entry_dicts,
              "objects": objects, "runs": runs_json, "figures": figures,
              "extras": [{"title": t, "files": f} for t, f in extra_sections]}
    (out / REPORT_JSON).write_text(json.dumps(report, indent=1) + "\n")
    readme = out / README
    readme.write_text(_markdown(entries, runs_json, objects, figures, extra_sections, notes))
    return readme
