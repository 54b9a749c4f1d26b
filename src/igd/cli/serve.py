"""Keep a planner loaded and answer grasp requests over HTTP: depth image in, world-frame grasps out.

examples:
  # the authors' GIGA on this machine only, port 8000; then POST /detect, GET /health, GET /info, GET /docs
  igd serve --planner giga-packed-authors

  # for the robot's network, a stricter threshold; a free port (printed) with --port 0
  igd serve --planner vgn --host 0.0.0.0 --port 8000 --set threshold=0.8

  # ask it from Python (igd.serve.client) or any HTTP client; a ROS 2 node: docs/serving.md
  python -c "from igd.serve.client import GraspClient; print(GraspClient('http://127.0.0.1:8000').info())"

requests (POST /detect, JSON): the four files of 'igd detect' in one object:
  {"depth": {"encoding": "32FC1" | "16UC1", "data": base64 of the row-major little-endian pixels},
   "intrinsics": K.json, "extrinsic": T.json, "workspace": WS.json, "top": 10, "seed": null}
  the answer is grasps.json of 'igd detect --out' with "info" (timings); a bad request is HTTP 4xx
  with {"error": "<one line>"}. One request plans at a time; the others wait their turn.

needs the serve extra: pip install 'igd[serve]' (FastAPI, uvicorn, httpx).
"""

from __future__ import annotations

import argparse

from igd.cli._common import PLANNER_HELP, WEIGHTS_HELP, add_threads_option, parse_assignments
from igd.errors import IGDError, require


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``igd serve``."""
    p = parser.add_argument
    p("--planner", default="vgn", help=PLANNER_HELP + " (default: vgn)")
    p("--weights", help=WEIGHTS_HELP)
    p("--set", dest="planner_set", action="append", metavar="KEY=VALUE",
      help="a planner config field, e.g. --set threshold=0.8 or --set device=cuda (repeatable)")
    p("--seed", type=int, default=0,
      help="the planner's seed for every request that gives none (default: 0, as igd detect)")
    p("--host", default="127.0.0.1",
      help="address to listen on (default: 127.0.0.1, this machine only; 0.0.0.0 for every interface)")
    p("--port", type=int, default=8000, help="TCP port (default: 8000; 0: a free port, printed)")
    p("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"),
      help="uvicorn's log level; 'info' logs every request (default: info)")
    add_threads_option(parser)


def run(args: argparse.Namespace) -> int:
    """Load the planner, bind the port, print where it listens, serve until Ctrl-C."""
    from igd.serve import EXTRA
    from igd.threads import configure_threads

    configure_threads(args.threads)  # before torch loads: its thread pool starts at this size

    for module in ("fastapi", "uvicorn"):
        require(module, EXTRA)
    if not 0 <= args.port <= 65535:
        raise IGDError(f"--port must be 0 (a free port) or 1-65535, got {args.port}")
    from igd.api import load
    from igd.released import resolve_planner
    from igd.serve.app import ENDPOINTS, GraspService, bind, create_app, run_server

    weights = resolve_planner(args.planner, args.weights).weights
    detector = load(args.planner, weights=args.weights, threads=args.threads, **parse_assignments(args.planner_set))
    service = GraspService(detector, weights=weights, seed=args.seed)
    sock = bind(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"igd serve: {detector.name} on http://{host}:{sock.getsockname()[1]} ({', '.join(ENDPOINTS)}); "
          "Ctrl-C stops", flush=True)
    try:
        run_server(create_app(service), sock, log_level=args.log_level)
    except KeyboardInterrupt:  # uvicorn has shut down gracefully and re-raises the Ctrl-C
        pass
    health = service.health()
    print(f"igd serve: stopped after {health['served']} answered, {health['rejected']} rejected and "
          f"{health['failed']} failed request(s)")
    return 0
