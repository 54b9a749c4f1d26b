"""Depth images in a JSON request: the raw pixels, base64-encoded, named by their ROS 2 encoding.

A request's ``depth`` is ``{"encoding": "32FC1" | "16UC1", "data": base64, "depth_scale": null}``
(docs/serving.md, "The request"):

==========  ============================  ======================================================
encoding    pixels                        unit (``depth_scale``: metres per stored unit)
==========  ============================  ======================================================
``32FC1``   float32, little-endian        metres (``depth_scale`` 1), as a ``.npy`` for ``igd detect``
``16UC1``   uint16, little-endian         millimetres (``depth_scale`` 0.001), as a 16-bit PNG
==========  ============================  ======================================================

The pixels are row-major, ``height x width`` of the request's intrinsics, 0 = no reading: exactly
``sensor_msgs/Image.data`` of those encodings (``is_bigendian`` false, ``step`` = width x bytes).
Decoding scales as :func:`igd.inputs.read_depth` does (float64 counts x scale, then float32), so the
same image sent here or read from a file by ``igd detect`` is the same array; the checks of values and
units are the API's (:func:`igd.perception.observe.observe_depth`). Numpy only.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np

from igd.errors import IGDError

__all__ = ["DEFAULT_SCALE", "ENCODINGS", "decode_depth", "encode_depth"]

#: ROS 2 depth encodings -> little-endian numpy dtype.
ENCODINGS = {"32FC1": "<f4", "16UC1": "<u2"}
#: Metres per stored unit when a request gives no ``depth_scale``.
DEFAULT_SCALE = {"32FC1": 1.0, "16UC1": 0.001}


def encode_depth(depth: Any, depth_scale: float | None = None) -> dict:
    """The request's ``depth`` for an ``(H, W)`` image: float -> ``32FC1`` (metres), uint16 -> ``16UC1``
    (millimetres unless ``depth_scale`` says otherwise)."""
    arr = np.asarray(depth)
    if arr.ndim != 2:
        raise IGDError(f"depth must be one 2-D (H, W) image, got shape {arr.shape}")
    if arr.dtype == np.uint16:
        encoding = "16UC1"
    elif arr.dtype.kind == "f":
        encoding = "32FC1"
    else:
        raise IGDError(f"depth has dtype {arr.dtype}: expected float metres (sent as 32FC1) or uint16 "
                       "millimetres (sent as 16UC1)")
    raw = np.ascontiguousarray(arr, dtype=ENCODINGS[encoding]).tobytes()
    return {"encoding": encoding, "data": base64.b64encode(raw).decode("ascii"), "depth_scale": depth_scale}


def decode_depth(encoding: str, data: str, height: int, width: int, depth_scale: float | None = None) -> np.ndarray:
    """``(height, width)`` float32 metres from a request's ``depth``; :class:`IGDError` on a bad one."""
    if encoding not in ENCODINGS:
        raise IGDError(f"depth.encoding must be one of {list(ENCODINGS)}, got {encoding!r}")
    if depth_scale is not None and not (np.isfinite(depth_scale) and depth_scale > 0):
        raise IGDError(f"depth_scale must be a positive number of metres per stored unit, got {depth_scale}")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as e:
        raise IGDError(f"depth.data is not valid base64 ({e})") from e
    dtype = np.dtype(ENCODINGS[encoding])
    expected = height * width * dtype.itemsize
    if len(raw) != expected:
        raise IGDError(f"depth.data holds {len(raw)} bytes, but a {width}x{height} (W x H, from the intrinsics) "
                       f"{encoding} image is {expected} bytes ({width} x {height} x {dtype.itemsize}, row-major)")
    scale = DEFAULT_SCALE[encoding] if depth_scale is None else float(depth_scale)
    counts = np.frombuffer(raw, dtype=dtype).reshape(height, width)
    return (counts.astype(np.float64) * scale).astype(np.float32)
