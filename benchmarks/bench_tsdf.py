"""Time TSDF fusion of one depth image at 40³ and 120³; compare with Open3D when it is installed.

The input is a cluttered synthetic scene rendered analytically (random boxes on the table, seen from
the benchmark's side view, with ``dex`` depth noise), so no simulator is needed. Open3D's
``UniformTSDFVolume`` (the optional extra ``pip install 'igd[open3d]'``) gets the very same image; its
voxel length is ``size / resolution`` and its origin is ``(0, 0, 0)``, so voxel ``(i, j, k)`` is the same
cube in both and the arrays compare index by index.

Examples:
    python benchmarks/bench_tsdf.py
    python benchmarks/bench_tsdf.py --repeat 20 --seed 1 --views circle6
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from igd.constants import HIGH_RES, HIGH_RES_TRUNCATION, RESOLUTION, SIZE, TABLE_HEIGHT, TRUNCATION
from igd.perception.camera import DEFAULT_INTRINSIC, views
from igd.perception.depth import render_boxes
from igd.perception.noise import apply_noise
from igd.perception.tsdf import TSDFVolume

TRUNC = {RESOLUTION: TRUNCATION, HIGH_RES: HIGH_RES_TRUNCATION}


def random_boxes(rng: np.random.Generator, n: int = 6) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` axis-aligned boxes, 3–8 cm wide, 2–12 cm tall, standing on the table inside the workspace."""
    boxes = []
    for _ in range(n):
        half = rng.uniform(0.015, 0.04, size=2)
        centre = rng.uniform(0.05 + half, SIZE - 0.05 - half)
        height = rng.uniform(0.02, 0.12)
        boxes.append((np.r_[centre - half, TABLE_HEIGHT], np.r_[centre + half, TABLE_HEIGHT + height]))
    return boxes


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def ours(depths, extrinsics, resolution: int, repeat: int) -> tuple[TSDFVolume, dict]:
    """Fuse all views into a fresh volume ``repeat`` times; also time the grid and cloud read-outs."""
    def fuse():
        vol = TSDFVolume(SIZE, resolution, TRUNC[resolution])
        for d, e in zip(depths, extrinsics):
            vol.integrate(d, DEFAULT_INTRINSIC, e)
        return vol

    vol = fuse()  # warm-up: caches, page faults
    t = dict(integrate=median_ms(fuse, repeat) / len(depths),
             grid=median_ms(vol.get_grid, repeat), cloud=median_ms(vol.get_cloud, max(1, repeat // 4)))
    return vol, t


def open3d_reference(o3d, depths, extrinsics, resolution: int, repeat: int):
    """Open3D's UniformTSDFVolume on the same images: ``(tsdf (R,R,R), weight (R,R,R), timings)``."""
    k = DEFAULT_INTRINSIC
    intr = o3d.camera.PinholeCameraIntrinsic(k.width, k.height, k.fx, k.fy, k.cx, k.cy)
    rgbds = [o3d.geometry.RGBDImage.create_from_color_and_depth(
        o3d.geometry.Image(np.zeros_like(d)), o3d.geometry.Image(d), depth_scale=1.0, depth_trunc=2.0,
        convert_rgb_to_intensity=False) for d in depths]

    def fuse():
        vol = o3d.pipelines.integration.UniformTSDFVolume(
            length=SIZE, resolution=resolution, sdf_trunc=TRUNC[resolution],
            color_type=o3d.pipelines.integration.TSDFVolumeColorType.NoColor)
        for rgbd, e in zip(rgbds, extrinsics):
            vol.integrate(rgbd, intr, e.as_matrix())
        return vol

    vol = fuse()
    t = dict(integrate=median_ms(fuse, repeat) / len(depths),
             grid=median_ms(lambda: vgn_grid(vol, resolution), max(1, repeat // 4)),
             cloud=median_ms(vol.extract_point_cloud, max(1, repeat // 4)))
    tw = np.asarray(vol.extract_volume_tsdf()).reshape((resolution,) * 3 + (2,))
    return tw[..., 0], tw[..., 1], t


def vgn_grid(vol, resolution: int) -> np.ndarray:
    """VGN/GIGA's read-out of the network grid from Open3D (a Python loop over voxels)."""
    grid = np.zeros((1,) + (resolution,) * 3, np.float32)
    for voxel in vol.extract_voxel_grid().get_voxels():
        i, j, k = voxel.grid_index
        grid[0, i, j, k] = voxel.color[0]
    return grid


def compare(vol: TSDFVolume, tsdf: np.ndarray, weight: np.ndarray) -> dict:
    """Agreement at voxels both observed: correlation, fraction within 1e-3 (Open3D steps its float32
    camera coordinates incrementally, ~2e-4 of rounding), count off by > 0.01 (pixel-boundary flips)."""
    both = (vol.weight > 0) & (weight > 0)
    diff = np.abs(vol.tsdf - tsdf)[both]
    return dict(corr=float(np.corrcoef(vol.tsdf[both], tsdf[both])[0, 1]),
                same_observed=float(((vol.weight > 0) == (weight > 0)).mean()),
                frac_equal=float((diff < 1e-3).mean()), n_off=int((diff > 0.01).sum()), n_both=int(both.sum()))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=10, help="timed repetitions (median reported)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the scene and of the depth noise")
    parser.add_argument("--views", default="side", choices=["side", "circle6"], help="camera set")
    parser.add_argument("--noise", default="dex", help="depth noise model applied to the images")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    extrinsics = views(args.views)
    boxes = random_boxes(rng)
    depths = [apply_noise(render_boxes(DEFAULT_INTRINSIC, e, boxes), args.noise, rng) for e in extrinsics]
    try:
        import open3d as o3d
    except ImportError:
        o3d = None
        print("open3d not importable: timing the NumPy fusion only (pip install 'igd[open3d]')")

    print(f"{len(depths)} view(s) '{args.views}', 640x480, noise '{args.noise}', seed {args.seed}, "
          f"median of {args.repeat}; times in ms (integrate: per view)")
    print(f"{'impl':8} {'res':>4} {'integrate':>10} {'get_grid':>9} {'get_cloud':>10} {'corr':>7} "
          f"{'same obs':>9} {'eq@1e-3':>8} {'off>0.01':>12}")
    for res in (RESOLUTION, HIGH_RES):
        vol, t = ours(depths, extrinsics, res, args.repeat)
        print(f"{'numpy':8} {res:>4} {t['integrate']:>10.1f} {t['grid']:>9.2f} {t['cloud']:>10.1f}")
        if o3d is not None:
            tsdf, weight, t3 = open3d_reference(o3d, depths, extrinsics, res, args.repeat)
            c = compare(vol, tsdf, weight)
            print(f"{'open3d':8} {res:>4} {t3['integrate']:>10.1f} {t3['grid']:>9.2f} {t3['cloud']:>10.1f} "
                  f"{c['corr']:>7.4f} {c['same_observed']:>9.5f} {c['frac_equal']:>8.5f} "
                  f"{c['n_off']:>4}/{c['n_both']:<7}")


if __name__ == "__main__":
    main()
