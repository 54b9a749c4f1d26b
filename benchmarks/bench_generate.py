"""Fast vs reference labelling protocol: label agreement and grasp points per core-second, side by side.

Scenes are those of ``igd generate --seed SEED`` (same ids, same objects, same sampled grasp points:
the harness draws the points exactly as generation does). Each scene is built once; then the same
points are labelled by the reference protocol (every yaw fully simulated as in docs/simulator.md,
with ``allow_contact=False``) and by the fast one, each from the scene's saved state. Costs are CPU
seconds of this process (``time.process_time``), so other load on the machine does not count;
PyBullet is single-threaded, so a CPU second is a core-second.

    nice -n 5 .venv/bin/python benchmarks/bench_generate.py --scene pile --objects pile/train \
        --points 2000 --points-per-scene 40 --seed 0 --json runs/bench_generate_pile.json

Reported: point-label agreement (and the confusion counts), per-yaw outcome agreement, agreement of
the stored orientation and width on points both call positive, positive rates, labelling cost per
point and points per core-second for both protocols and their ratio; and the end-to-end ratio with
the scene's own cost (building, 7 renders, the 120³ cloud) spread over 120 points per scene.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from igd.data.generate import GenerateConfig, build_scene, scene_id, scene_seed_sequence, side_view
from igd.data.sampling import FAST_V1, FastOptions, make_labeller, sample_grasp_point
from igd.geometry import quat_angle_sym
from igd.sim.simulation import ClutterRemovalSim


def label_all(sim, protocol: str, candidates, **options):
    labeller = make_labeller(protocol, **options)
    tic = time.process_time()
    labeller.begin(sim)
    try:
        points = [labeller.label(position, normal) for position, normal in candidates]
    finally:
        labeller.end()
    return points, time.process_time() - tic, labeller.counts


def run(args) -> dict:
    cfg = GenerateConfig(out="/nonexistent", scene=args.scene, objects=args.objects, seed=args.seed, workers=1)
    sim = ClutterRemovalSim(cfg.scene, cfg.object_set)
    options = {k: v for k, v in vars(args).items() if k in FastOptions.__dataclass_fields__}
    records, scene_cpu, cpu = [], [], {"reference": 0.0, "fast": 0.0}
    if args.baseline:
        cpu["baseline"] = 0.0
    index = 0
    while len(records) < args.points:
        rng = np.random.default_rng(scene_seed_sequence(cfg.seed, index))
        tic = time.process_time()
        _, points, normals = build_scene(sim, rng)  # as generate_scene does, same random stream
        if len(points):
            side_view(sim)
        scene_cpu.append(time.process_time() - tic)
        n = min(args.points_per_scene, args.points - len(records))
        if len(points) == 0:
            index += 1
            continue
        candidates = [sample_grasp_point(points, normals, rng) for _ in range(n)]
        ref, t_ref, _ = label_all(sim, "reference", candidates)
        fast, t_fast, counts = label_all(sim, "fast", candidates, **options)
        if args.baseline:  # the fast protocol as first released, on the same points
            base, t_base, _ = label_all(sim, "fast", candidates, **asdict(FAST_V1))
            cpu["baseline"] += t_base
        else:
            base = fast
        again = label_all(sim, "reference", candidates)[0] if args.reference_twice else ref
        cpu["reference"] += t_ref
        cpu["fast"] += t_fast
        for a, b, c, d in zip(ref, fast, again, base):
            records.append({"scene": index, "scene_id": scene_id(cfg, index), "ref": a.label, "fast": b.label,
                            "baseline": d.label,
                            "ref_again": c.label, "ref_again_yaws": list(c.successes),
                            "ref_yaws": list(a.successes), "fast_yaws": list(b.successes),
                            "ref_causes": list(a.causes), "fast_causes": list(b.causes),
                            "ref_quat": a.quat.tolist(), "fast_quat": b.quat.tolist(),
                            "ref_width": a.width, "fast_width": b.width})
        agree = np.mean([r["ref"] == r["fast"] for r in records])
        print(f"scene {index}: {len(records)}/{args.points} points, agreement {100 * agree:.2f}%, "
              f"reference {cpu['reference'] / len(records):.3f} s/pt, fast {cpu['fast'] / len(records):.3f} s/pt, "
              f"fast simulated {counts.simulated}/{counts.trials} yaws", file=sys.stderr, flush=True)
        index += 1
        if args.json:  # what is measured so far survives an interruption
            write_json(args.json, summarise(args, records, cpu, scene_cpu))
    sim.close()
    return summarise(args, records, cpu, scene_cpu)


def write_json(path: str, result: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(f"{path}.tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(path)


def summarise(args, records, cpu, scene_cpu) -> dict:
    n = len(records)
    ref = np.array([r["ref"] for r in records])
    fast = np.array([r["fast"] for r in records])
    yaws_ref = np.array([r["ref_yaws"] for r in records])
    yaws_fast = np.array([r["fast_yaws"] for r in records])
    both = (ref == 1) & (fast == 1)
    angle = quat_angle_sym(np.array([r["ref_quat"] for r in records])[both],
                           np.array([r["fast_quat"] for r in records])[both]) if both.any() else np.zeros(0)
    width_diff = np.abs(np.array([r["ref_width"] for r in records]) - np.array([r["fast_width"] for r in records]))[both]
    scene_per_point = float(np.mean(scene_cpu)) / 120.0  # a scene's own cost spread over 120 points
    pps = {k: n / v for k, v in cpu.items()}
    positives = {"reference": int(ref.sum()), "fast": int(fast.sum())}
    if "baseline" in cpu:
        positives["baseline"] = int(sum(r["baseline"] for r in records))
    # positives per core-second of a whole generation: labelling plus the scene's own cost, 120 points a scene
    positives_pcs = {k: positives[k] / (cpu[k] + n * scene_per_point) for k in positives}
    return {
        "command": " ".join(sys.argv), "scene": args.scene, "objects": args.objects, "seed": args.seed,
        "points": n, "scenes": len(scene_cpu),
        "label_agreement": float(np.mean(ref == fast)),
        "confusion": {"both_positive": int(both.sum()), "both_negative": int(((ref == 0) & (fast == 0)).sum()),
                      "reference_only_positive": int(((ref == 1) & (fast == 0)).sum()),
                      "fast_only_positive": int(((ref == 0) & (fast == 1)).sum())},
        "yaw_agreement": float(np.mean(yaws_ref == yaws_fast)),
        # the reference against itself, run again after other trials (PyBullet's restoreState does
        # not restore every cache, so a marginal trial can go either way): the floor of any agreement
        "reference_self_agreement": float(np.mean(ref == np.array([r["ref_again"] for r in records])))
                                    if args.reference_twice else None,
        "reference_self_yaw_agreement": float(np.mean(yaws_ref == np.array([r["ref_again_yaws"] for r in records])))
                                        if args.reference_twice else None,
        "positive_rate": {"reference": float(ref.mean()), "fast": float(fast.mean())},
        "same_orientation_on_common_positives": float(np.mean(angle < 1e-3)) if both.any() else None,
        "width_abs_diff_on_common_positives_max": float(width_diff.max()) if both.any() else None,
        "cpu_seconds_per_point": {k: v / n for k, v in cpu.items()},
        "points_per_core_second": pps,
        "speedup": pps["fast"] / pps["reference"],
        "fast_options": asdict(FastOptions(**{k: v for k, v in vars(args).items() if k in FastOptions.__dataclass_fields__})),
        "positives": positives,
        "positives_per_core_second_end_to_end": positives_pcs,
        "positives_gain_over_baseline": (positives_pcs["fast"] / positives_pcs["baseline"]
                                         if "baseline" in positives_pcs else None),
        "baseline_agreement_with_reference": (float(np.mean(ref == np.array([r["baseline"] for r in records])))
                                              if "baseline" in cpu else None),
        "scene_cpu_seconds_mean": float(np.mean(scene_cpu)),
        "speedup_end_to_end_120_points_per_scene": (cpu["reference"] / n + scene_per_point)
                                                   / (cpu["fast"] / n + scene_per_point),
        "records": records,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scene", choices=("pile", "packed"), default="pile")
    ap.add_argument("--objects", default="pile/train", help="object set (default: pile/train)")
    ap.add_argument("--points", type=int, default=2000, help="grasp points labelled by both protocols")
    ap.add_argument("--points-per-scene", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the summary and every point's labels here")
    ap.add_argument("--reference-twice", action="store_true",
                    help="label every point with the reference a second time (after the fast protocol) to "
                         "measure the reference's own repeatability")
    ap.add_argument("--baseline", action="store_true",
                    help="also label every point with the fast protocol as first released (150 solver "
                         "iterations, the full lift) and report the gain in positives per core-second over it")
    for name, f in FastOptions.__dataclass_fields__.items():  # ablations: --no-short-lift, --early-close, ...
        flag = name.replace("_", "-")
        if f.type in (int, "int"):
            ap.add_argument(f"--{flag}", dest=name, type=int, default=f.default,
                            help=f"fast protocol's {name} (default: {f.default})")
        elif f.default:
            ap.add_argument(f"--no-{flag}", dest=name, action="store_false", help=f"fast protocol without {name}")
        else:
            ap.add_argument(f"--{flag}", dest=name, action="store_true", help=f"fast protocol with {name}")
    args = ap.parse_args()
    result = run(args)
    if args.json:
        write_json(args.json, result)
    print(json.dumps({k: v for k, v in result.items() if k != "records"}, indent=1))


if __name__ == "__main__":
    main()
