"""A small Python client of ``igd serve``: :meth:`GraspClient.detect` reads like
:meth:`igd.api.GraspDetector.detect` and returns the same :class:`~igd.api.Detections` (docs/serving.md).

    from igd.serve.client import GraspClient

    with GraspClient("http://127.0.0.1:8000") as client:
        grasps = client.detect(depth, K, T_cam_world, workspace, top=10)   # metres; world frame, best first
        grasps.poses[0], grasps.widths[0], grasps.scores[0]

A bad input comes back as the server's one line in an :class:`~igd.errors.IGDError`, as the local API
raises it. One client holds one keep-alive connection pool and may be shared by threads. Needs httpx
(``pip install 'igd[serve]'``); no torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from igd.api import Detections, Workspace
from igd.errors import IGDError, require
from igd.geometry import Transform
from igd.perception.camera import CameraIntrinsic
from igd.serve import EXTRA
from igd.serve.codec import encode_depth

__all__ = ["GraspClient", "ServerError", "detect_request"]


class ServerError(RuntimeError):
    """The server failed on a request that was not at fault (HTTP 5xx), or answered something else than JSON."""


def detect_request(depth: Any, intrinsics: Any, T_cam_world: Any, workspace: Any, top: int | None = 10,
                   seed: int | None = None, depth_scale: float | None = None) -> dict:
    """The JSON body of ``POST /detect``.

    Args:
        depth: ``(H, W)`` float metres (sent as ``32FC1``) or uint16 millimetres (``16UC1``), 0 = no reading.
        intrinsics: a K.json dict or a :class:`~igd.perception.camera.CameraIntrinsic`.
        T_cam_world: world -> camera (OpenCV): a T.json dict, a Transform or a 4x4.
        workspace: the corner pose ``T_world_ws``: a WS.json dict, a :class:`~igd.api.Workspace`, a Transform
            or a 4x4.
        top, seed: as the request's fields; depth_scale: metres per stored unit, overriding the encoding's.
    """
    if isinstance(intrinsics, CameraIntrinsic):
        intrinsics = intrinsics.to_dict()
    if isinstance(workspace, Workspace):
        workspace = workspace.to_dict()
    return {"depth": encode_depth(depth, depth_scale), "intrinsics": intrinsics,
            "extrinsic": _pose_dict(T_cam_world), "workspace": _pose_dict(workspace), "top": top, "seed": seed}


def _pose_dict(x: Any) -> dict:
    if isinstance(x, dict):
        return x
    matrix = x.as_matrix() if isinstance(x, Transform) else np.asarray(x, dtype=np.float64)
    return {"matrix": np.asarray(matrix, dtype=np.float64).tolist()}


class GraspClient:
    """HTTP client of one grasp server at ``url``; ``timeout``: seconds for one request (queueing included)."""

    def __init__(self, url: str = "http://127.0.0.1:8000", timeout: float = 120.0):
        httpx = require("httpx", EXTRA)
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout)
        self._httpx = httpx

    def __enter__(self) -> GraspClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def health(self) -> dict:
        """``GET /health``: status, queue and counts."""
        return self._call("GET", "/health")

    def info(self) -> dict:
        """``GET /info``: the planner's name, type, weights and config."""
        return self._call("GET", "/info")

    def detect_document(self, depth: Any, intrinsics: Any, T_cam_world: Any, workspace: Any,
                        top: int | None = 10, seed: int | None = None, depth_scale: float | None = None) -> dict:
        """``POST /detect``: the response document (grasps.json and ``info``); arguments as :func:`detect_request`."""
        return self._call("POST", "/detect", json=detect_request(depth, intrinsics, T_cam_world, workspace, top,
                                                                 seed, depth_scale))

    def detect(self, depth: Any, intrinsics: Any, T_cam_world: Any, workspace: Any, top: int | None = 10,
               seed: int | None = None, depth_scale: float | None = None) -> Detections:
        """Grasps in the world frame, best first, as :meth:`igd.api.GraspDetector.detect` returns them."""
        return detections_from_document(self.detect_document(depth, intrinsics, T_cam_world, workspace, top, seed,
                                                             depth_scale))

    def _call(self, method: str, path: str, **kwargs) -> dict:
        try:
            response = self._http.request(method, path, **kwargs)
        except self._httpx.TransportError as e:
            raise IGDError(f"cannot reach the grasp server at {self.url}: {e or type(e).__name__}") from e
        try:
            body = response.json()
        except ValueError as e:
            raise ServerError(f"{method} {self.url}{path}: HTTP {response.status_code}, not JSON") from e
        if response.status_code >= 500:
            raise ServerError(f"{method} {self.url}{path}: HTTP {response.status_code}: {body.get('error', body)}")
        if response.status_code >= 400:
            raise IGDError(body.get("error", f"HTTP {response.status_code}: {body}"))
        return body


def detections_from_document(doc: dict) -> Detections:
    """:class:`~igd.api.Detections` of a ``POST /detect`` response (or a grasps.json document)."""
    grasps = doc["grasps"]
    poses = np.array([g["pose"] for g in grasps], dtype=np.float64).reshape(-1, 4, 4)
    widths = np.array([g["width"] for g in grasps], dtype=np.float64)
    scores = np.array([g["score"] for g in grasps], dtype=np.float64)
    return Detections(poses, widths, scores, doc.get("planner", ""), dict(doc.get("info", {})))
