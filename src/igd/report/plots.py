"""The report's figures: matplotlib on the Agg backend, saved as PNG with fixed size and no metadata.

Each function takes the numbers of :mod:`igd.report.numbers` and a path, draws one figure and
returns the path. The same numbers give the same bytes (no timestamps, no software tag).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: Fixed colours of grasp outcomes and round end reasons; anything else takes the next grey.
COLORS = {"success": "#2ca02c", "collision": "#d62728", "empty": "#ff7f0e", "slipped": "#9467bd",
          "cleared": "#2ca02c", "failures": "#d62728", "nothing_to_see": "#8c564b", "no_grasp": "#ff7f0e",
          "attempt_limit": "#7f7f7f"}
_GREYS = ("#7f7f7f", "#bcbd22", "#17becf", "#e377c2", "#c7c7c7")
_CYCLE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf")
DPI = 110


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "svg.hashsalt": "igd"})
    return plt


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, metadata={"Software": None}, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _na(ax, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#7f7f7f")
    ax.set_xticks([])
    ax.set_yticks([])


def _sample(entries: Sequence[Mapping[str, Any]], label: str) -> str:
    """``1 seed, 3 rounds, 12 grasps`` of all entries of ``label``."""
    mine = [e.get("metrics", {}) for e in entries if e["label"] == label]
    seeds = len({s for m in mine for s in m.get("seeds", ())})
    rounds, grasps = sum(m.get("rounds", 0) for m in mine), sum(m.get("attempts", 0) for m in mine)
    return (f"{seeds} seed{'s' * (seeds != 1)}, {rounds} round{'s' * (rounds != 1)}, "
            f"{grasps} grasp{'s' * (grasps != 1)}")


def rates_plot(entries: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """GSR and DR (mean ± std over seeds) per cell, one bar per planner label, side by side; no error
    bar where one seed gives no spread; the legend gives each label's sample size."""
    plt = _pyplot()
    cells = sorted({e["cell"] for e in entries})
    labels = sorted({e["label"] for e in entries})
    by_key = {(e["label"], e["cell"]): e for e in entries}
    width = 0.8 / max(len(labels), 1)
    fig, axes = plt.subplots(1, 2, figsize=(max(6.0, 1.1 * len(cells) * max(len(labels), 1) + 3), 3.8),
                             sharey=True)
    x = np.arange(len(cells))
    for ax, metric, title in zip(axes, ("gsr", "dr"), ("grasp success rate (GSR)", "declutter rate (DR)")):
        for i, label in enumerate(labels):
            values, errors, partial, present = [], [], [], []
            for cell in cells:
                e = by_key.get((label, cell), {})
                m = e.get("metrics", {})
                values.append(np.nan if m.get(metric) is None else m[metric])
                errors.append(np.nan if m.get(f"{metric}_std") is None else m[f"{metric}_std"])
                partial.append(bool(e.get("partial")))
                present.append(bool(e))
            pos = x - 0.4 + width * (i + 0.5)
            bars = ax.bar(pos, values, width * 0.9, yerr=errors, capsize=3, label=label,
                          color=_CYCLE[i % len(_CYCLE)], error_kw={"elinewidth": 1})
            for bar, v, part, here in zip(bars, values, partial, present):
                centre = bar.get_x() + bar.get_width() / 2
                if part:
                    bar.set_hatch("//")
                    bar.set_edgecolor("white")
                if not np.isnan(v):
                    ax.text(centre, 2, f"{v:.1f}", ha="center", va="bottom", fontsize=7, rotation=90, color="white")
                elif here:
                    ax.text(centre, 2, "n/a", ha="center", va="bottom", fontsize=7, rotation=90, color="#7f7f7f")
        ax.set_xticks(x, cells, rotation=30, ha="right")
        ax.set_ylim(0, 105)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("% (mean ± std over seeds; no bar: 1 seed)")
    from matplotlib.patches import Patch

    handles = [Patch(color=_CYCLE[i % len(_CYCLE)], label=f"{label} ({_sample(entries, label)})")
               for i, label in enumerate(labels)]
    if any(e.get("partial") for e in entries):
        handles.append(Patch(facecolor="white", edgecolor="#555555", hatch="//", label="partial run"))
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.98), ncol=min(len(handles), 3),
               fontsize=8, frameon=False)
    return _save(fig, path)


def latency_plot(entries: Sequence[Mapping[str, Any]], grasps: Sequence[Sequence[Mapping]], path: Path) -> Path:
    """Box plots of planning and integration time per grasp (ms), one box per entry."""
    plt = _pyplot()
    names = [f"{e['label']} | {e['cell']}" for e in entries]
    fig, axes = plt.subplots(1, 2, figsize=(10, 1.0 + 0.42 * max(len(names), 1)), sharey=True)
    for ax, key, title in zip(axes, ("planning_time", "integration_time"),
                              ("planning time per grasp", "integration time per grasp (TSDF + cloud)")):
        data = [np.array([1000.0 * g[key] for g in rows], dtype=np.float64) for rows in grasps]
        if not any(len(d) for d in data):
            _na(ax)
            continue
        positions = np.arange(len(names))[::-1]
        kept = [(d, p) for d, p in zip(data, positions) if len(d)]
        ax.boxplot([d for d, _ in kept], positions=[p for _, p in kept], vert=False, widths=0.6,
                   showmeans=True, flierprops={"markersize": 2, "alpha": 0.4},
                   meanprops={"marker": "^", "markersize": 4, "markerfacecolor": "white"})
        for d, p in zip(data, positions):
            if not len(d):
                ax.text(0.5, p, "no grasps", ha="center", va="center", fontsize=8, color="#7f7f7f",
                        transform=ax.get_yaxis_transform())
        ax.set_yticks(positions, names)
        ax.set_xscale("log")
        ax.set_xlabel("ms, log scale (box: quartiles, whiskers: 1.5 IQR, triangle: mean)")
        ax.set_title(title)
        ax.grid(axis="x", which="both", alpha=0.3)
    return _save(fig, path)


def _stacked(ax, names: list[str], tallies: Sequence[Mapping[str, Mapping[str, float]]], order: list[str]) -> None:
    y = np.arange(len(names))[::-1]
    left = np.zeros(len(names))
    grey = iter(_GREYS * 4)
    for key in order:
        shares = np.array([t.get(key, {}).get("share", 0.0) for t in tallies])
        color = COLORS.get(key) or next(grey)
        ax.barh(y, shares, left=left, color=color, label=key, height=0.7)
        for yi, li, s in zip(y, left, shares):
            if s >= 6:
                ax.text(li + s / 2, yi, f"{s:.0f}%", ha="center", va="center", fontsize=7, color="white")
        left += shares
    totals = [int(sum(v.get("count", 0) for v in t.values())) for t in tallies]
    for yi, total in zip(y, totals):
        if total == 0:
            ax.text(50, yi, "none yet", ha="center", va="center", fontsize=8, color="#7f7f7f")
    ax.set_yticks(y, [f"{name}  (n={total})" for name, total in zip(names, totals)])
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of the total")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)


def shares_plot(names: list[str], tallies: Sequence[Mapping[str, Mapping[str, float]]], order: list[str],
                title: str, path: Path) -> Path:
    """Stacked horizontal bars of shares (``{key: {"count", "share"}}`` per name), keys in ``order``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 1.3 + 0.38 * max(len(names), 1)))
    if not names or not order:
        _na(ax)
    else:
        _stacked(ax, names, tallies, order)
    ax.set_title(title)
    return _save(fig, path)


def objects_plot(table: Mapping[str, Any], title: str, path: Path) -> Path:
    """Horizontal bars per object: the success rate, or the success count when rates are not known."""
    plt = _pyplot()
    rows: list[dict[str, Any]] = list(table.get("sparse") or table["objects"])
    rates = table["rates_meaningful"]
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.2 * max(len(rows), 1)))
    if not rows:
        _na(ax, "no grasp names an object")
    elif table.get("sparse"):  # too few attempts for rates: the counts
        y = np.arange(len(rows))[::-1]
        ax.barh(y, [r["attempts"] for r in rows], color="#c7c7c7", height=0.75, label="attempts")
        ax.barh(y, [r["successes"] for r in rows], color="#1f77b4", height=0.5, label="successes")
        ax.set_yticks(y, [r["object"] for r in rows], fontsize=7)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_xlabel(f"grasps on the object (every object < {table['min_attempts']} attempts: no rates)")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.legend(fontsize=7, loc="lower right", frameon=False)
        ax.grid(axis="x", alpha=0.3)
    else:
        y = np.arange(len(rows))[::-1]
        values = [r["rate"] if rates else r["successes"] for r in rows]
        colors = ["#7f7f7f" if r.get("folded") else "#1f77b4" for r in rows]
        ax.barh(y, values, color=colors, height=0.75)
        for yi, v, r in zip(y, values, rows):
            ax.text(v, yi, f" {r['successes']}/{r['attempts']}" if rates else f" {r['successes']}",
                    va="center", fontsize=6)
        ax.set_yticks(y, [r["object"] for r in rows], fontsize=7)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        if rates:
            ax.set_xlim(0, 112)
            ax.set_xlabel("success rate % (successes / attempts on the object)")
        else:
            ax.set_xlim(0, 1.12 * max(values))
            ax.set_xlabel("successful grasps (failed grasps name no object in these logs)")
        ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)
    return _save(fig, path)
