"""Simulator costs: grasp trials per core-second (full and early-aborted), render time, and the load of
the hand with and without its visual meshes (the fast labeller loads the latter).

Runs in one process on one core (PyBullet is single-threaded). A "full" trial runs every phase of
the trial in docs/simulator.md (spawn, approach, close, lift) on a top-down grasp of a lone object;
an "aborted" one stops at the first check (the hand spawned in contact, as data generation does for
colliding candidates) or on the approach (``allow_contact=False``). Each trial restores the saved
scene first.

    .venv/bin/python benchmarks/bench_sim.py --trials 100 --seed 0
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from igd.constants import FINGER_DEPTH, TABLE_HEIGHT
from igd.geometry import Rotation, Transform
from igd.perception.camera import DEFAULT_INTRINSIC, side_view_extrinsic
from igd.sim.gripper import hand_urdf_path
from igd.sim.simulation import ClutterRemovalSim

DOWN = Rotation.from_euler("x", np.pi)


def candidate(sim, rng, kind: str) -> Transform:
    uid = list(sim.objects)[int(rng.integers(sim.num_objects))]
    lower, upper = sim.world.get_aabb(uid)
    c = (lower + upper) / 2
    yaw = Rotation.from_rotvec([0, 0, rng.uniform(0, np.pi)])
    if kind == "full":  # fingertips 2 cm below the top of the object
        return Transform(DOWN * yaw, [c[0], c[1], upper[2] - 0.02 + FINGER_DEPTH])
    # aborted: the pre-grasp pose already puts the fingers inside the object
    return Transform(DOWN * yaw, [c[0], c[1], TABLE_HEIGHT + 0.01])


def time_trials(sim, kind: str, n: int, seed: int) -> tuple[float, dict]:
    rng = np.random.default_rng(seed)
    causes: dict = {}
    total = 0.0
    for i in range(n):
        sim.reset(1 if kind == "full" else 5, seed=seed + i)  # alone, a full trial runs to the end
        state = sim.save_state()
        pose = candidate(sim, rng, kind)
        sim.restore_state(state)
        tic = time.process_time()
        out = sim.execute_grasp(pose, remove=False, allow_contact=False)
        total += time.process_time() - tic
        causes[out.cause] = causes.get(out.cause, 0) + 1
    return total, causes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--renders", type=int, default=20)
    ap.add_argument("--loads", type=int, default=100, help="hand loads timed per URDF")
    ap.add_argument("--objects", default="packed/test")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    sim = ClutterRemovalSim("packed", args.objects)
    print(f"{'what':<28}{'n':>6}{'core-s':>10}{'per second':>12}  outcomes")
    for kind in ("full", "aborted"):
        cpu, causes = time_trials(sim, kind, args.trials, args.seed)
        print(f"{'trials (' + kind + ')':<28}{args.trials:>6}{cpu:>10.2f}{args.trials / cpu:>12.1f}  {causes}")
    sim.reset(5, seed=args.seed)
    ext = side_view_extrinsic()
    tic = time.process_time()
    for _ in range(args.renders):
        sim.render(ext, DEFAULT_INTRINSIC)
    cpu = time.process_time() - tic
    print(f"{'render 640x480 (tiny)':<28}{args.renders:>6}{cpu:>10.2f}{args.renders / cpu:>12.1f}  "
          f"{1000 * cpu / args.renders:.1f} ms each")
    for visual in (True, False):
        urdf, pose = hand_urdf_path(visual=visual), Transform(Rotation.identity(), [0.15, 0.15, 0.5])
        tic = time.process_time()
        for _ in range(args.loads):
            sim.world.remove_body(sim.world.load_urdf(urdf, pose, name="hand"))
        cpu = time.process_time() - tic
        what = "hand load + remove" + ("" if visual else " (no visual)")
        print(f"{what:<28}{args.loads:>6}{cpu:>10.2f}{args.loads / cpu:>12.1f}  {1000 * cpu / args.loads:.2f} ms each")
    sim.close()


if __name__ == "__main__":
    main()
