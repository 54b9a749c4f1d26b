"""Depth noise models for the robustness experiments (docs/perception.md).

Every model is a pure function ``(depth, rng) -> noisy`` on an ``(H, W)`` float32 depth image in
metres: it never changes its input, draws every random number from the passed
``numpy.random.Generator`` (same generator state -> same output), and keeps ``0`` ("no reading")
at 0 — a pixel with no reading in the input has none in the output; a model may also *remove*
readings (``stereo`` invalidates pixels, a value pushed below 0 becomes 0).

=========  =================================================================================
name       what it does
=========  =================================================================================
none       a float32 copy
dex        × one Gamma(k=1000, θ=0.001) scalar; with prob. 0.5 + a Gaussian field (σ = 5 mm)
           drawn on an (H/4, W/4) grid and bilinearly upsampled (DexNet / GIGA)
lateral    per-pixel index jitter (σ = 1 px in x and y), nearest re-indexing
depth      per-pixel Gaussian depth noise (σ = 5 mm)
blur       Gaussian blur, 5×5 kernel, σ = 1.5 px, normalised over valid pixels
stereo     structured-light stereo simulation, see :func:`stereo_noise`
dex_scale  only dex's multiplicative Gamma scalar (ablation)
dex_field  only dex's additive smooth field (ablation)
=========  =================================================================================
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np
from scipy import ndimage

from igd.errors import IGDError
from igd.perception.depth import check_depth_layout, check_finite_nonnegative

__all__ = ["NOISE_MODELS", "apply_noise", "none_noise", "dex_noise", "dex_scale_noise", "dex_field_noise", "lateral_noise", "depth_noise",
           "blur_noise", "stereo_noise", "dot_pattern"]

NoiseFn = Callable[[np.ndarray, np.random.Generator], np.ndarray]

# --- dex ---
DEX_GAMMA_SHAPE, DEX_GAMMA_SCALE = 1000.0, 0.001
DEX_FIELD_SIGMA, DEX_FIELD_DOWNSCALE, DEX_FIELD_PROB = 0.005, 4, 0.5
# --- lateral, depth, blur ---
LATERAL_SIGMA_PX = 1.0
DEPTH_SIGMA = 0.005
BLUR_SIGMA_PX, BLUR_RADIUS_PX = 1.5, 2  # 5x5 kernel
# --- stereo ---
STEREO_SHIFT_SIGMA_PX = 0.5
STEREO_FOCAL_PX = 386.4
STEREO_BASELINE = 0.05  # m
STEREO_SUBPIXEL = 8  # disparity quantised to 1/8 px
STEREO_WINDOW = 9  # consistency window, px
STEREO_INLIER_DISP = 0.1  # px, at radius 1 (grows with radius^2 * 1.2^2)
STEREO_MIN_DOT_FRACTION = 1.0 / 1.2  # of the window's dots that must be valid and consistent
STEREO_FILL_RADIUS_SQ = 9  # an accepted dot fills pixels within radius 3 px
DOT_DENSITY = 0.25


def _as_depth(depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(H, W)`` float32 view of ``depth`` and its validity mask ``depth > 0``."""
    d = check_depth_layout(depth)
    return d, d > 0


def _finish(noisy: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Zero where the input had no reading; a value pushed below 0 becomes 0. Returns float32."""
    out = np.where(valid, noisy, 0.0).astype(np.float32, copy=False)
    np.maximum(out, 0.0, out=out)
    return out


def none_noise(depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """No noise: a float32 copy of ``depth`` (H, W)."""
    return np.array(check_depth_layout(depth), dtype=np.float32, copy=True)


def _dex_field(shape: tuple, rng: np.random.Generator) -> np.ndarray:
    """N(0, 0.005 m) samples on an ``(H//4, W//4)`` grid, bilinearly upsampled to ``shape`` (H, W)
    (pixel-centre aligned, like ``cv2.resize``)."""
    h, w = shape
    gh, gw = max(1, h // DEX_FIELD_DOWNSCALE), max(1, w // DEX_FIELD_DOWNSCALE)
    field = rng.normal(0.0, DEX_FIELD_SIGMA, size=(gh, gw))
    up = ndimage.zoom(field, (h / gh, w / gw), order=1, mode="nearest", grid_mode=True)
    return up[:h, :w].astype(np.float32)


def dex_noise(depth: np.ndarray, rng: np.random.Generator, scale: bool = True, field: bool = True) -> np.ndarray:
    """DexNet noise: ``depth * s`` with ``s ~ Gamma(1000, 0.001)`` (mean 1, std 0.0316), then with
    probability 0.5 a smooth additive field (:func:`_dex_field`).

    Draw order: the gamma scalar, one uniform for the coin, then the field if the coin says so. The
    two components can be switched off (``dex_scale`` / ``dex_field`` models) for ablations; the
    draws stay the same, so each component sees exactly the numbers it sees inside ``dex``.
    """
    d, valid = _as_depth(depth)
    s = np.float32(rng.gamma(DEX_GAMMA_SHAPE, DEX_GAMMA_SCALE))
    out = d * s if scale else d.copy()
    if rng.random() < DEX_FIELD_PROB:
        up = _dex_field(d.shape, rng)
        if field:
            out = out + up
    return _finish(out, valid)


def dex_scale_noise(depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Only the multiplicative Gamma term of ``dex`` (a global depth-scale error)."""
    return dex_noise(depth, rng, field=False)


def dex_field_noise(depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Only the additive smooth field of ``dex``."""
    return dex_noise(depth, rng, scale=False)


def lateral_noise(depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each pixel takes the value of the pixel at ``round(row + N(0, 1)), round(col + N(0, 1))``
    (clipped to the image): the output's values are a subset of the input's."""
    d, valid = _as_depth(depth)
    h, w = d.shape
    jitter = rng.normal(0.0, LATERAL_SIGMA_PX, size=(2, h, w))
    rows = np.clip(np.rint(np.arange(h)[:, None] + jitter[0]), 0, h - 1).astype(np.intp)
    cols = np.clip(np.rint(np.arange(w)[None, :] + jitter[1]), 0, w - 1).astype(np.intp)
    return _finish(d[rows, cols], valid)


def depth_noise(depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Independent N(0, 0.005 m) on every valid pixel."""
    d, valid = _as_depth(depth)
    return _finish(d + rng.normal(0.0, DEPTH_SIGMA, size=d.shape).astype(np.float32), valid)


def _masked_gaussian(values: np.ndarray, valid: np.ndarray, sigma: float, radius: int) -> np.ndarray:
    """Gaussian blur of ``values`` over the ``valid`` pixels only (normalised convolution)."""
    num = ndimage.gaussian_filter(np.where(valid, values, 0.0).astype(np.float64), sigma, mode="nearest",
                                  radius=radius)
    den = ndimage.gaussian_filter(valid.astype(np.float64), sigma, mode="nearest", radius=radius)
    return np.where(den > 1e-12, num / np.maximum(den, 1e-12), 0.0)


def blur_noise(depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur, 5×5 kernel (radius 2), σ = 1.5 px, borders replicated. Holes do not bleed in:
    the blur is normalised by the blurred validity mask. Deterministic (``rng`` unused)."""
    d, valid = _as_depth(depth)
    return _finish(_masked_gaussian(d, valid, BLUR_SIGMA_PX, BLUR_RADIUS_PX), valid)


# ----------------------------------------------------------------------------------------------
# stereo
# ----------------------------------------------------------------------------------------------

def dot_pattern(height: int, width: int) -> np.ndarray:
    """The projector's dot pattern, ``(height, width)`` bool, ~25 % dots.

    Deterministic and independent of the image size: pixel ``(r, c)`` is a dot when a 32-bit integer
    hash of ``(r, c)`` (multiply–xorshift, constants of MurmurHash3's finaliser) falls below
    ``0.25 · 2^32``. Our own pattern; it replaces the Kinect pattern image of the reference.
    """
    return _dot_pattern_cached(int(height), int(width)).copy()


@lru_cache(maxsize=8)
def _dot_pattern_cached(height: int, width: int) -> np.ndarray:
    r = np.arange(height, dtype=np.uint32)[:, None]
    c = np.arange(width, dtype=np.uint32)[None, :]
    h = (r * np.uint32(0x9E3779B1)) ^ (c * np.uint32(0x85EBCA77)) ^ np.uint32(0x1CD0)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h < np.uint32(int(DOT_DENSITY * 2**32))


def _shift_bilinear(d: np.ndarray, valid: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    """Resample ``d`` at ``(row + N(0, σ), col + N(0, σ))``, bilinear over valid neighbours only."""
    h, w = d.shape
    shift = rng.normal(0.0, sigma, size=(2, h, w))
    coords = np.stack([np.clip(np.arange(h)[:, None] + shift[0], 0, h - 1),
                       np.clip(np.arange(w)[None, :] + shift[1], 0, w - 1)])
    num = ndimage.map_coordinates(np.where(valid, d, 0.0).astype(np.float64), coords, order=1)
    den = ndimage.map_coordinates(valid.astype(np.float64), coords, order=1)
    return np.where(den > 0.5, num / np.maximum(den, 1e-12), 0.0)


def _window_offsets(radius: int) -> list[tuple[int, int]]:
    return [(dy, dx) for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)]


def _consistent_dots(disp: np.ndarray, valid: np.ndarray, dots: np.ndarray) -> np.ndarray:
    """Local consistency filter: which dot pixels keep their disparity, ``(H, W)`` bool.

    A valid dot pixel ``c`` is accepted when, over the 9×9 window around it, (a) more than 1/1.2 of
    the window's dots are valid, and (b) more than 1/1.2 of the window's dots are valid *and*
    consistent: ``|disp(p) − mean| · w(p) < 0.1 px`` with ``mean`` the mean valid disparity of the
    window and ``w(p) = 1 / (1.44 ‖p − c‖²)`` (``w = 1`` at ``c``).
    """
    h, w = disp.shape
    r = STEREO_WINDOW // 2
    pad = lambda a: np.pad(a, r)  # noqa: E731 - zero/False padding: outside = no dot, invalid
    disp_p, valid_p, dots_p = pad(np.where(valid, disp, 0.0)), pad(valid), pad(dots)
    vdots_p = valid_p & dots_p
    offsets = _window_offsets(r)
    win = lambda a, dy, dx: a[r + dy:r + dy + h, r + dx:r + dx + w]  # noqa: E731
    n_dots = sum(win(dots_p, dy, dx).astype(np.int16) for dy, dx in offsets)
    n_valid = sum(win(vdots_p, dy, dx).astype(np.int16) for dy, dx in offsets)
    n_pix = sum(win(valid_p, dy, dx).astype(np.float32) for dy, dx in offsets)
    mean = sum(win(disp_p, dy, dx) for dy, dx in offsets) / np.maximum(n_pix, 1.0)
    n_consistent = np.zeros((h, w), np.int16)
    for dy, dx in offsets:
        tol = STEREO_INLIER_DISP * 1.44 * max(dy * dy + dx * dx, 1)
        n_consistent += win(vdots_p, dy, dx) & (np.abs(win(disp_p, dy, dx) - mean) < tol)
    need = n_dots * STEREO_MIN_DOT_FRACTION
    return dots & valid & (n_valid > need) & (n_consistent > need)


def _fill_from_dots(disp: np.ndarray, accepted: np.ndarray) -> np.ndarray:
    """Every pixel takes the disparity of the nearest accepted dot within radius 3 px (0 if none).

    Ties are broken by the fixed offset order ``(r², dy, dx)``; an accepted dot keeps its own value.
    """
    h, w = disp.shape
    r = int(np.sqrt(STEREO_FILL_RADIUS_SQ))
    disp_p, acc_p = np.pad(np.where(accepted, disp, 0.0), r), np.pad(accepted, r)
    offsets = sorted(((dy * dy + dx * dx, dy, dx) for dy, dx in _window_offsets(r)
                      if dy * dy + dx * dx <= STEREO_FILL_RADIUS_SQ))
    out = np.zeros((h, w), np.float32)
    filled = np.zeros((h, w), bool)
    for _, dy, dx in offsets:  # pixel p takes the dot at p - (dy, dx)
        src = acc_p[r - dy:r - dy + h, r - dx:r - dx + w] & ~filled
        out[src] = disp_p[r - dy:r - dy + h, r - dx:r - dx + w][src]
        filled |= src
    return out


def stereo_noise(depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Structured-light stereo simulation (after SimKinect, Landau et al.), in five steps:

    1. **Lateral shifts**: resample the depth at ``(row + N(0, 0.5), col + N(0, 0.5))`` px,
       bilinearly over valid neighbours only (a pixel whose neighbours are mostly holes becomes 0).
    2. **Disparity**: ``disp = f·b / depth`` with ``f = 386.4`` px, ``b = 0.05`` m.
    3. **Quantisation** to 1/8 px: ``disp = round(8·disp) / 8``.
    4. **Local consistency filter** on the dots of :func:`dot_pattern` (see
       :func:`_consistent_dots`): a dot keeps its disparity only if its 9×9 window has enough valid,
       mutually consistent dots; then every pixel takes the disparity of the nearest accepted dot
       within 3 px (:func:`_fill_from_dots`); pixels with none get no reading.
    5. **Back to depth**: ``depth = f·b / disp``; 0 where no disparity; 0 where the input was 0.

    ``depth``: (H, W) float32 metres. Returns (H, W) float32. The only random draw is step 1's
    ``(2, H, W)`` normal array.
    """
    d, valid = _as_depth(depth)
    fb = STEREO_FOCAL_PX * STEREO_BASELINE
    shifted = _shift_bilinear(d, valid, rng, STEREO_SHIFT_SIGMA_PX)
    has = shifted > 0
    disp = np.where(has, fb / np.where(has, shifted, 1.0), 0.0).astype(np.float32)
    disp = np.round(disp * STEREO_SUBPIXEL) / STEREO_SUBPIXEL
    accepted = _consistent_dots(disp, has, dot_pattern(*d.shape))
    filled = _fill_from_dots(disp, accepted)
    back = np.where(filled > 0, fb / np.where(filled > 0, filled, 1.0), 0.0)
    return _finish(back, valid)


#: name -> noise function ``(depth (H, W) float32, rng) -> (H, W) float32``.
NOISE_MODELS: dict[str, NoiseFn] = {
    "none": none_noise,
    "dex": dex_noise,
    "lateral": lateral_noise,
    "depth": depth_noise,
    "blur": blur_noise,
    "stereo": stereo_noise,
    "dex_scale": dex_scale_noise,  # ablations: the two components of dex
    "dex_field": dex_field_noise,
}


def apply_noise(depth: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Apply the noise model ``kind`` (a key of :data:`NOISE_MODELS`) to ``depth`` (H, W) metres.

    Returns a new (H, W) float32 array; ``depth`` is not modified.
    """
    if kind not in NOISE_MODELS:
        raise IGDError(f"unknown depth noise model '{kind}': expected one of {', '.join(NOISE_MODELS)}")
    if not isinstance(rng, np.random.Generator):
        raise IGDError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                       f"got {type(rng).__name__}")
    d = check_depth_layout(depth)
    check_finite_nonnegative(d)
    return NOISE_MODELS[kind](d, rng)
