"""Composite generated shapes: the test-only kinds (hammers, pliers, shoes, bowls, mugs, ...).

Each shape is a union of convex pieces that touch face to face but never share a vertex (adjacent
pieces are ``GAP`` apart), like pybullet_data's random_urdfs: every piece is a closed convex
solid, so the mesh is watertight, its volume and centre of mass are exact, ray parity tells inside
from outside, and the collision shape is the pieces themselves (no V-HACD). Parameters come from
the generator :func:`igd.sim.assets.generate_shape` hands in; the sizes are raw sizes, before the
unit scale (middle extent at most 7 cm) is applied. docs/objects.md describes each kind.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Sequence

import numpy as np
import trimesh

GAP = 2e-5  # m between touching pieces, so that no loader welds their vertices together
SECTIONS = 24  # corners of a round cross-section


def hull(points) -> trimesh.Trimesh:
    """The convex hull of (N, 3) points as a closed, outward-facing mesh."""
    return trimesh.Trimesh(np.asarray(points, dtype=float)).convex_hull


def union(parts: Sequence[trimesh.Trimesh]) -> trimesh.Trimesh:
    return trimesh.util.concatenate(list(parts))


def box(lo, hi) -> trimesh.Trimesh:
    """An axis-aligned box between corners ``lo`` and ``hi``."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    return trimesh.creation.box(extents=hi - lo).apply_translation((lo + hi) / 2)


def circle(radius: float, z: float, n: int = SECTIONS, phase: float = 0.0) -> np.ndarray:
    """(n, 3) points of a horizontal circle."""
    a = phase + 2 * np.pi * np.arange(n) / n
    return np.stack([radius * np.cos(a), radius * np.sin(a), np.full(n, z)], axis=1)


def stack(rings: Sequence[tuple]) -> List[trimesh.Trimesh]:
    """Round convex pieces stacked along z: ``(z0, z1, r0, r1)`` each (a frustum from r0 to r1)."""
    return [hull(np.concatenate([circle(r0, z0 + GAP), circle(r1, z1)])) for z0, z1, r0, r1 in rings]


def wedge_ring(section: np.ndarray, n: int) -> List[trimesh.Trimesh]:
    """A convex ``(r, z)`` cross-section revolved about z in ``n`` convex wedges, ``GAP`` apart.

    The first wedge is centred on the +x axis, so its outer face is flat and faces +x.
    """
    section = np.asarray(section, dtype=float)
    half = np.pi / n
    wedges = []
    for k in range(n):
        mid = 2 * half * k
        points = []
        for a in (mid - half, mid + half):
            inner = GAP / 2 / np.maximum(section[:, 0], 1e-3)  # angular margin for a GAP-wide slit
            for (r, z), margin in zip(section, inner):
                b = a + margin if a < mid else a - margin
                points.append([r * np.cos(b), r * np.sin(b), z])
        wedges.append(hull(points))
    return wedges


# --------------------------------------------------------------------------------------------------
# the kinds
# --------------------------------------------------------------------------------------------------
def hammer(u: Callable) -> trimesh.Trimesh:
    """A round handle along x with a square-ended head across it (along y) at one end."""
    length, r_handle = u(0.18, 0.28), u(0.011, 0.016)
    head, hx, hz = u(0.08, 0.12), u(0.022, 0.032), r_handle * u(1.15, 1.5)
    a = 2 * np.pi * np.arange(16) / 16
    ring = np.stack([np.zeros(16), r_handle * np.cos(a), r_handle * np.sin(a)], axis=1)
    handle = hull(np.concatenate([ring, ring + [length, 0, 0]]))
    return union([handle, box([length + GAP, -head / 2, -hz], [length + GAP + hx, head / 2, hz])])


def pliers(u: Callable) -> trimesh.Trimesh:
    """A flat hub with two short jaws on one side and two long, spread handles on the other."""
    t, hub, w = u(0.008, 0.013), u(0.018, 0.026), u(0.008, 0.012)
    jaw, handle = u(0.03, 0.05), u(0.09, 0.14)
    jaw_spread, handle_spread = u(0.0, 0.12), u(0.12, 0.3)  # radians between an arm and the x axis
    parts = [box([-hub / 2, -hub / 2, 0], [hub / 2, hub / 2, t])]
    for sign_x, length, spread in ((1, jaw, jaw_spread), (-1, handle, handle_spread)):
        for sign_y in (1, -1):
            x0 = sign_x * (hub / 2 + GAP)
            y_near = (sign_y * GAP, sign_y * hub / 2)
            dx, dy = sign_x * length * np.cos(spread), sign_y * length * np.sin(spread)
            tip = (x0 + dx, sign_y * (w / 2 + GAP) + dy)
            near = [[x0, y, z] for y in y_near for z in (0, t)]
            far = [[tip[0], tip[1] + s * w / 2, z] for s in (-1, 1) for z in (0, t)]
            parts.append(hull(near + far))
    return union(parts)


def shoe(u: Callable) -> trimesh.Trimesh:
    """A long, low sole with a raised toe and a dome over its back two thirds."""
    length, width, sole = u(0.22, 0.3), u(0.08, 0.1), u(0.012, 0.02)
    height, spring = u(0.06, 0.09), u(0.01, 0.025)
    a = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    x, y = length / 2 * np.cos(a), width / 2 * np.sin(a) * (1 - 0.25 * (np.cos(a) < 0) * np.cos(a) ** 2)
    back = x < length * 0.25
    base = [[xi, yi, z] for xi, yi in zip(x[back], y[back]) for z in (0, sole)]
    toe_x = np.concatenate([[length * 0.25 + GAP] * 2, x[~back] + GAP])
    toe_y = np.concatenate([[-width / 2 * 0.95, width / 2 * 0.95], y[~back]])
    lift = spring * np.clip((toe_x - length * 0.25) / (length * 0.25), 0, 1)
    toe = [[xi, yi, z + li] for xi, yi, li in zip(toe_x, toe_y, lift) for z in (0, sole)]
    ea = np.linspace(0, np.pi / 2, 7)
    dome = [[-length * 0.12 + 0.36 * length * np.cos(p) * np.cos(q), 0.45 * width * np.cos(p) * np.sin(q),
             sole + GAP + (height - sole) * np.sin(p)] for p in ea for q in np.linspace(0, 2 * np.pi, 24)]
    return union([hull(base), hull(toe), hull(dome)])


def donut(u: Callable) -> trimesh.Trimesh:
    """A fat ring lying flat (a torus of 16 convex wedges)."""
    major, minor = u(0.025, 0.035), u(0.011, 0.017)
    a = 2 * np.pi * np.arange(12) / 12
    return union(wedge_ring(np.stack([major + minor * np.cos(a), minor * np.sin(a)], axis=1), 16))


def bulb(u: Callable) -> trimesh.Trimesh:
    """A glass sphere on a narrow neck and a screw base (base down)."""
    r_base, base = u(0.011, 0.014), u(0.02, 0.03)
    r_glass, neck = u(0.026, 0.035), u(0.012, 0.02)
    r_neck = r_base * u(1.0, 1.2)
    z_cut = -np.sqrt(r_glass ** 2 - (r_neck * 1.05) ** 2)  # where the sphere is as wide as the neck's top
    z0 = base + neck + GAP - z_cut
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=r_glass).vertices
    glass = hull(np.concatenate([sphere[sphere[:, 2] > z_cut + 1e-4], circle(r_neck * 1.05, z_cut)]) + [0, 0, z0])
    return union(stack([(0.0, base, r_base, r_base), (base, base + neck, r_base, r_neck * 1.05)]) + [glass])


def bowl(u: Callable) -> trimesh.Trimesh:
    """An open bowl: a disc and a sloped wall of 20 wedges (a concave revolved shell)."""
    r_bottom, r_top, height, t = u(0.015, 0.022), u(0.03, 0.036), u(0.025, 0.04), u(0.003, 0.004)
    wall = np.array([[r_bottom - t, t + GAP], [r_bottom, t + GAP], [r_top, height], [r_top - t, height]])
    return union(stack([(-GAP, t, r_bottom, r_bottom)]) + wedge_ring(wall, 20))


def mug(u: Callable) -> trimesh.Trimesh:
    """An open cylinder with a bottom and a box handle on +x."""
    r, height, t = u(0.03, 0.042), u(0.07, 0.11), u(0.004, 0.006)
    n = 20
    wall = np.array([[r - t, t + GAP], [r, t + GAP], [r, height], [r - t, height]])
    parts = stack([(-GAP, t, r, r)]) + wedge_ring(wall, n)
    x0 = r * np.cos(np.pi / n) + GAP
    w, s, reach = min(0.012, 0.8 * r * np.sin(np.pi / n)), u(0.007, 0.01), u(0.02, 0.03)
    z1, z2 = height * u(0.15, 0.3), height * u(0.75, 0.9)
    for z in (z1, z2 - s):
        parts.append(box([x0, -w / 2, z], [x0 + reach, w / 2, z + s]))
    parts.append(box([x0 + reach + GAP, -w / 2, z1], [x0 + reach + GAP + s, w / 2, z2]))
    return union(parts)


def spraycan(u: Callable) -> trimesh.Trimesh:
    """A tall can with a shoulder, a cap and a nozzle."""
    r, height = u(0.022, 0.032), u(0.14, 0.2)
    shoulder, r_cap, cap = u(0.01, 0.02), u(0.6, 0.9), u(0.02, 0.04)
    r_cap *= r
    z1, z2 = height, height + shoulder
    parts = stack([(0.0, z1, r, r), (z1, z2, r, r_cap), (z2, z2 + cap, r_cap, r_cap)])
    n = u(0.004, 0.007)
    parts.append(box([-n, -n, z2 + cap + GAP], [n, n, z2 + cap + 2 * n]))
    return union(parts)


def wrench(u: Callable) -> trimesh.Trimesh:
    """A flat bar with an open jaw (two prongs on a head block) at each end."""
    length, w, t = u(0.14, 0.22), u(0.012, 0.018), u(0.005, 0.008)
    parts = [box([-length / 2, -w / 2, 0], [length / 2, w / 2, t])]
    for sign in (1, -1):
        head, gap_, prong = u(1.8, 2.6) * w, u(0.6, 1.0) * w, u(0.012, 0.02)
        x0 = sign * (length / 2 + GAP)
        x1 = x0 + sign * head * 0.6
        parts.append(box([min(x0, x1), -head, 0], [max(x0, x1), head, t]))
        for side in (1, -1):
            y = sorted((side * gap_ / 2, side * head))
            xa = x1 + sign * GAP
            parts.append(box([min(xa, xa + sign * prong), y[0], 0], [max(xa, xa + sign * prong), y[1], t]))
    return union(parts)


def jar(u: Callable) -> trimesh.Trimesh:
    """A wide round jar with a lid that overhangs it."""
    r, height, lid = u(0.035, 0.05), u(0.06, 0.12), u(0.01, 0.02)
    return union(stack([(0.0, height, r, r), (height, height + lid, r * 1.06, r * 1.06)]))


def bigbox(u: Callable) -> trimesh.Trimesh:
    """A box whose two smaller sides are both near the gripper's opening once scaled."""
    side = u(0.065, 0.075)
    return trimesh.creation.box(extents=[side, side * u(1.0, 1.1), u(0.1, 0.16)])


KINDS: Dict[str, Callable] = {"hammer": hammer, "pliers": pliers, "shoe": shoe, "donut": donut, "bulb": bulb,
                              "bowl": bowl, "mug": mug, "spraycan": spraycan, "wrench": wrench, "jar": jar,
                              "bigbox": bigbox}
