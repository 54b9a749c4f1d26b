"""Bounded load test of ``igd serve``: N clients x M requests over loopback, latency p50/p95 and errors.

Starts the server in this process on a free port of 127.0.0.1 (or uses ``--url``), writes the
example scene of ``igd detect --example`` (``blocks`` objects, seed 0) and has ``--clients`` threads,
each with its own :class:`~igd.serve.client.GraspClient`, send ``--requests`` detect requests of that
scene one after the other. Latency is the client's wall time per request (encoding, HTTP, the wait
for the planning lock, fusion, planning, decoding). ``--bad-every K`` makes every K-th request of
a client a bad one (an empty image), which must come back as a 400 while the others still succeed.
Prints a markdown table (docs/serving.md, "Latency under load"); ``--json`` writes the numbers.

    .venv/bin/python benchmarks/bench_serve.py --planner topdown --clients 4 --requests 50
    .venv/bin/python benchmarks/bench_serve.py --planner vgn --clients 4 --requests 50 --bad-every 10 --json s.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--planner", default="topdown", help="released name or checkpoint (as igd serve --planner)")
    p.add_argument("--weights", help="weights for a planner type (as igd serve --weights)")
    p.add_argument("--set", dest="planner_set", action="append", metavar="KEY=VALUE", help="planner config field")
    p.add_argument("--clients", type=int, default=4, help="concurrent clients (threads)")
    p.add_argument("--requests", type=int, default=50, help="requests per client")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--bad-every", type=int, default=0, help="every K-th request of a client is bad (0: none)")
    p.add_argument("--url", help="an igd serve already running (default: start one here)")
    p.add_argument("--example", help="a folder of igd detect --example (default: write one to a temporary folder)")
    p.add_argument("--json", help="write the numbers here")
    p.add_argument("--threads", type=int, metavar="N",
                   help="the server's planning threads, as igd serve --threads (default: igd's choice)")
    args = p.parse_args(argv)
    if args.clients < 1 or args.requests < 1 or args.bad_every < 0:
        p.error("--clients and --requests must be >= 1, --bad-every >= 0")
    return args


def scene(folder: str | None) -> dict:
    """The example inputs: K, T, WS as dicts, the depth as float32 metres."""
    from igd.inputs import EXAMPLE_FILES, write_example

    if folder is None:
        folder = tempfile.mkdtemp(prefix="bench_serve_")
        write_example(folder, objects="blocks")
    root = Path(folder)
    x = {role: json.loads((root / EXAMPLE_FILES[role]).read_text()) for role in ("intrinsics", "extrinsic", "workspace")}
    return {**x, "depth": np.load(root / EXAMPLE_FILES["depth_npy"])}


def client_loop(url: str, x: dict, args, out: list) -> None:
    """One client: ``args.requests`` requests in a row; appends ``(kind, seconds, info)`` per request."""
    from igd.errors import IGDError
    from igd.serve.client import GraspClient

    empty = np.zeros_like(x["depth"])
    with GraspClient(url, timeout=600) as client:
        for i in range(args.requests):
            bad = args.bad_every and (i + 1) % args.bad_every == 0
            tic = time.perf_counter()
            try:
                doc = client.detect_document(empty if bad else x["depth"], x["intrinsics"], x["extrinsic"],
                                             x["workspace"], top=args.top)
                kind, info = ("unexpected ok" if bad else "ok"), doc["info"]
            except IGDError as e:
                kind, info = ("rejected" if bad and "no valid reading" in str(e) else "error"), {}
            except Exception:  # noqa: BLE001 - a 5xx or a broken connection: counted
                kind, info = "error", {}
            out.append((kind, time.perf_counter() - tic, info))


def run_load(url: str, x: dict, args) -> tuple[list, float]:
    results: list = []
    threads = [threading.Thread(target=client_loop, args=(url, x, args, results)) for _ in range(args.clients)]
    tic = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, time.perf_counter() - tic


def summary(results: list, wall: float, args, planner: str) -> dict:
    ok = [(s, info) for kind, s, info in results if kind == "ok"]
    lat = np.array([s for s, _ in ok]) if ok else np.zeros(0)

    def pct(values, q):
        return float(np.percentile(values, q)) if len(values) else float("nan")

    def med(key):
        return pct([info[key] for _, info in ok if key in info], 50)

    return {"planner": planner, "clients": args.clients, "requests": len(results), "ok": len(ok),
            "rejected_as_expected": sum(kind == "rejected" for kind, _, _ in results),
            "errors": sum(kind in ("error", "unexpected ok") for kind, _, _ in results),
            "p50_s": pct(lat, 50), "p95_s": pct(lat, 95), "max_s": float(lat.max()) if len(lat) else float("nan"),
            "wait_p50_s": med("wait_time"), "integration_p50_s": med("integration_time"),
            "planning_p50_s": med("planning_time"), "throughput_per_s": len(results) / wall, "wall_s": wall,
            "load_average_1min": os.getloadavg()[0], "cpus": os.cpu_count()}


def table(row: dict) -> str:
    head = ("| planner | clients x requests | ok | rejected (bad, expected) | errors | p50 ms | p95 ms | max ms "
            "| wait p50 ms | fusion p50 ms | planning p50 ms | req/s |")
    ms = {k: f"{1e3 * row[k]:.0f}" for k in ("p50_s", "p95_s", "max_s", "wait_p50_s", "integration_p50_s",
                                              "planning_p50_s")}
    return "\n".join([head, "|" + "---|" * 12,
                      f"| {row['planner']} | {row['clients']} x {row['requests'] // row['clients']} | {row['ok']} | "
                      f"{row['rejected_as_expected']} | {row['errors']} | {ms['p50_s']} | {ms['p95_s']} | "
                      f"{ms['max_s']} | {ms['wait_p50_s']} | {ms['integration_p50_s']} | {ms['planning_p50_s']} | "
                      f"{row['throughput_per_s']:.2f} |"])


def main(argv=None) -> int:
    args = parse_args(argv)
    from igd.cli._common import parse_assignments
    from igd.errors import IGDError
    from igd.serve.client import GraspClient

    try:
        x = scene(args.example)
        if args.url:
            return report(args.url, x, args, GraspClient(args.url).info()["planner"])
        from igd.api import load
        from igd.released import resolve_planner
        from igd.serve.app import GraspService, ServerThread, create_app

        detector = load(args.planner, weights=args.weights, threads=args.threads,
                        **parse_assignments(args.planner_set))
        service = GraspService(detector, weights=resolve_planner(args.planner, args.weights).weights)
        with ServerThread(create_app(service)) as server:
            code = report(server.url, x, args, detector.name)
            health = GraspClient(server.url).health()
        print(f"server after the run: {health['served']} answered, {health['rejected']} rejected, "
              f"{health['failed']} failed")
        return code
    except IGDError as e:
        print(f"bench_serve: {e}", file=sys.stderr)
        return 2


def report(url: str, x: dict, args, planner: str) -> int:
    from igd.serve.client import GraspClient

    with GraspClient(url) as client:  # one warm-up request, not counted
        client.detect_document(x["depth"], x["intrinsics"], x["extrinsic"], x["workspace"], top=args.top)
    load_before = os.getloadavg()[0]
    results, wall = run_load(url, x, args)
    row = summary(results, wall, args, planner)
    print(f"{args.clients} clients x {args.requests} requests against {url}, {time.strftime('%Y-%m-%d %H:%M')}, "
          f"{os.cpu_count()} CPUs, load average {load_before:.1f} before / {row['load_average_1min']:.1f} after")
    print(table(row))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "summary": row}, indent=1) + "\n")
    return 0 if row["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
