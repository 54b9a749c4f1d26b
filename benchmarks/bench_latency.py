"""Planning latency of several planners and thread settings, idle and with competing jobs, in one run.

Every thread setting (``--threads``) runs in its own worker process, since OpenMP reads its settings
once, when torch loads: ``default`` is what the commands do (:func:`igd.threads.configure_threads`
before torch loads: one thread per core, waiting passively), ``torch`` is torch's own settings (one
thread per core, spinning: what the commands did before they set threads), and a number ``N`` is
``--threads N``. The workers start with none of the thread variables of this environment.

For each of ``--scenes`` benchmark observations (round 0 of seeds 0, 1, ...: the scenes and depth
noise of ``igd bench``) this runs twice: ``idle`` (whatever else the machine is doing: the load
average is printed) and then ``loaded``, with ``--burners`` busy-loop processes (default: one per
core, at this process's priority) competing for the cores, stopped after each observation (also on
errors and Ctrl-C). In each, every worker in turn plans once per planner to warm up, then
``--repeat`` times per planner, while the other workers wait; so a background load that changes
during the run hits every setting alike.

Latency is what the benchmark logs as ``planning_time`` (``Planner.timed_plan``: network + sampling
+ post-processing; the TSDF is built before and not counted). Prints the median per planner and
setting, idle and loaded, and their ratio. Timings only; nothing is asserted.

    .venv/bin/python benchmarks/bench_latency.py --scene packed --scenes 3 --repeat 2 \\
        --planner giga=weights/giga-packed.pt --planner igd=weights/igd-packed.pt

    # the planners' ratios to the first one, one thread, idle only (docs/results.md)
    .venv/bin/python benchmarks/bench_latency.py --scene packed --threads 1 --load idle \\
        --planner giga=weights/giga-packed.pt \\
        --planner igd-ddim10=weights/igd-packed.pt:sampler=ddim,steps=10 \\
        --planner igd-ddpm100=weights/igd-packed.pt:sampler=ddpm,steps=100
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager

import numpy as np

BURN = "while True:\n    pass\n"
#: Lines of the worker protocol start with this (anything else a library prints is ignored).
TAG = "@bench "
#: Variables a worker starts without, so that only its setting decides.
THREAD_VARS = ("IGD_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "GOMP_SPINCOUNT", "KMP_BLOCKTIME")


def parse_planner(spec: str) -> tuple[str, str, dict]:
    """``LABEL=WEIGHTS[:key=value,...]`` -> (label, weights, overrides)."""
    from igd.cli._common import parse_assignments

    label, _, rest = spec.partition("=")
    weights, _, opts = rest.partition(":")
    return label, weights, parse_assignments([o for o in opts.split(",") if o])


# --------------------------------------------------------------------------------------------------
# the worker: one thread setting, planners loaded once, plans on request
# --------------------------------------------------------------------------------------------------
def _send(obj) -> None:
    sys.stdout.write(TAG + json.dumps(obj) + "\n")
    sys.stdout.flush()


def worker(args) -> int:
    """Apply the setting ``args.worker``, load the planners and views, then answer requests on stdin."""
    if args.worker != "torch":
        from igd.threads import configure_threads

        configure_threads(None if args.worker == "default" else int(args.worker))
    import torch

    from igd.bench.clutter_removal import seed_planner
    from igd.errors import IGDError
    from igd.planners.base import load_planner, read_checkpoint
    from igd.viz.simulated import observe_scene

    try:
        planners = []
        for spec in args.planner:
            label, weights, overrides = parse_planner(spec)
            planners.append((label, load_planner(read_checkpoint(weights)["planner"], weights, **overrides)))
        views = [observe_scene(args.scene, seed, 5, args.noise, args.objects) for seed in range(args.scenes)]
    except IGDError as e:
        _send({"error": str(e)})
        return 2
    _send({"threads": torch.get_num_threads(), "wait_policy": os.environ.get("OMP_WAIT_POLICY", "OpenMP's default")})
    for line in sys.stdin:
        request = json.loads(line)
        view = views[request["view"]]
        times, counts = {}, {}
        for label, planner in planners:  # warm-up
            seed_planner(planner, view.planner_seed)
            planner.timed_plan(view.observation)
        for _ in range(request["repeat"]):
            for label, planner in planners:
                seed_planner(planner, view.planner_seed)
                grasps = planner.timed_plan(view.observation)
                times.setdefault(label, []).append(float(grasps.info["planning_time"]))
                counts.setdefault(label, []).append(len(grasps))
        _send({"times": times, "counts": counts})
    return 0


# --------------------------------------------------------------------------------------------------
# the parent: workers, load, table
# --------------------------------------------------------------------------------------------------
class Worker:
    """One worker process and its line protocol."""

    def __init__(self, setting: str, argv: list[str]):
        env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
        self.setting = setting
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", setting, *argv],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def receive(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith(TAG):
                reply = json.loads(line[len(TAG):])
                if "error" in reply:
                    raise RuntimeError(f"worker '{self.setting}': {reply['error']}")
                return reply
        raise RuntimeError(f"worker '{self.setting}' ended (exit code {self.proc.wait()})")

    def plan(self, view: int, repeat: int) -> dict:
        self.proc.stdin.write(json.dumps({"view": view, "repeat": repeat}) + "\n")
        self.proc.stdin.flush()
        return self.receive()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def competing_load(burners: int):
    """``burners`` busy-loop Python processes while inside; stopped (and reaped) on the way out."""
    procs = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(burners)]
    try:
        time.sleep(1.0)  # let the scheduler see them
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def measure(workers, n_views: int, repeat: int, conditions, burners: int) -> dict:
    """``{condition: {setting: {"times": {label: [s, ...]}, "counts": ...}}}``, conditions alternating per view."""
    results = {c: {w.setting: {"times": {}, "counts": {}} for w in workers} for c in conditions}
    for view in range(n_views):
        for cond in conditions:
            with ExitStack() as stack:
                if cond == "loaded":
                    stack.enter_context(competing_load(burners))
                for w in workers:
                    reply = w.plan(view, repeat)
                    for key in ("times", "counts"):
                        for label, values in reply[key].items():
                            results[cond][w.setting][key].setdefault(label, []).extend(values)
    return results


def table(labels, workers, info, results: dict) -> list[dict]:
    """One row per planner and setting: median and mean ms per condition, loaded / idle."""
    rows = []
    for label in labels:
        for w in workers:
            row = {"planner": label, "setting": w.setting, **info[w.setting]}
            for cond, res in results.items():
                t = res[w.setting]["times"][label]
                row[f"{cond}_median_s"], row[f"{cond}_mean_s"] = float(np.median(t)), float(np.mean(t))
                row["mean_grasps"] = float(np.mean(res[w.setting]["counts"][label]))
            if len(results) == 2:
                row["loaded_over_idle"] = row["loaded_median_s"] / row["idle_median_s"]
            rows.append(row)
    return rows


def print_table(rows, conditions) -> None:
    head = f"{'planner':<14}{'setting':<9}{'threads':>8}  {'waiting':<8}"
    for cond in conditions:
        head += f"{cond + ' med ms':>16}{'mean':>7}"
    print(head + (f"{'loaded/idle':>13}" if len(conditions) == 2 else "") + f"{'grasps':>8}")
    for r in rows:
        wait = "-" if r["threads"] == 1 else "passive" if str(r["wait_policy"]).upper() == "PASSIVE" else "spin"
        line = f"{r['planner']:<14}{r['setting']:<9}{r['threads']:>8}  {wait:<8}"
        for cond in conditions:
            line += f"{1e3 * r[cond + '_median_s']:>16.0f}{1e3 * r[cond + '_mean_s']:>7.0f}"
        if "loaded_over_idle" in r:
            line += f"{r['loaded_over_idle']:>12.1f}×"
        print(line + f"{r['mean_grasps']:>8.1f}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--planner", action="append", required=True, metavar="LABEL=WEIGHTS[:k=v,...]")
    p.add_argument("--scene", choices=("packed", "pile"), default="packed")
    p.add_argument("--objects", default="test")
    p.add_argument("--noise", default="dex")
    p.add_argument("--scenes", type=int, default=3, help="observations (round 0 of seeds 0..N-1)")
    p.add_argument("--repeat", type=int, default=2, help="plans per planner, setting and observation")
    p.add_argument("--threads", nargs="+", default=["default", "torch", "1"], metavar="SETTING",
                   help="thread settings to compare: default (the commands'), torch (torch's own), or a number "
                        "(default: default torch 1)")
    p.add_argument("--load", choices=("both", "idle", "loaded"), default="both",
                   help="measure idle, with competing busy loops, or both (default)")
    p.add_argument("--burners", type=int, default=os.cpu_count() or 1,
                   help="busy-loop processes of the loaded condition (default: one per core)")
    p.add_argument("--json", help="write the numbers here")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.worker:
        return worker(args)
    bad = [s for s in args.threads if s not in ("default", "torch") and not s.isdigit()]
    if bad:
        print(f"bench_latency: --threads takes default, torch or a number, got {bad[0]!r}", file=sys.stderr)
        return 2
    forwarded = [a for spec in args.planner for a in ("--planner", spec)]
    forwarded += ["--scene", args.scene, "--objects", args.objects, "--noise", args.noise, "--scenes", str(args.scenes)]
    conditions = ("idle", "loaded") if args.load == "both" else (args.load,)
    load_before = os.getloadavg()[0]
    workers = [Worker(setting, forwarded) for setting in dict.fromkeys(args.threads)]
    try:
        info = {w.setting: w.receive() for w in workers}
        results = measure(workers, args.scenes, args.repeat, conditions, args.burners)
    except RuntimeError as e:
        print(f"bench_latency: {e}", file=sys.stderr)
        return 2
    finally:
        for w in workers:
            w.close()
    labels = [parse_planner(spec)[0] for spec in args.planner]
    rows = table(labels, workers, info, results)
    print(f"{args.scene} scenes x {args.scenes}, {args.repeat} plans each, {os.cpu_count()} cores, "
          f"nice {os.nice(0)}, load average {load_before:.2f} before the run"
          + (f", loaded = {args.burners} busy loop(s)" if "loaded" in conditions else "")
          + f", {time.strftime('%Y-%m-%d %H:%M')}")
    print_table(rows, conditions)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "load_average": load_before, "rows": rows, "results": results}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
