"""The grasp server: one loaded planner behind one lock, over HTTP with FastAPI and uvicorn (docs/serving.md).

======================  ==========================================================================
endpoint                what
======================  ==========================================================================
``POST /detect``        :class:`DetectRequest` -> the grasps.json document of ``igd detect --out``
                        (world frame, best first) and ``info`` (timings); 4xx/5xx: ``{"error": line}``
``GET /health``         ``{"status": "ok", "queued", "served", "rejected", "failed", "uptime_s"}``
``GET /info``           the planner's name, type, weights file and config, the seed, the version
``GET /docs``           the OpenAPI page (``/openapi.json``: the schema)
======================  ==========================================================================

A request goes the way of ``igd detect``: the intrinsics, extrinsic and workspace are read by the
same functions as K.json, T.json and WS.json (:mod:`igd.inputs`), then
:meth:`igd.api.GraspDetector.detect` (the one observation path, its checks, the planner), so the
grasps are those of ``igd detect`` on the same inputs and a bad input gets the same one line (without
the file name), with status 400. Planning is CPU-bound and a planner is not thread-safe: the whole
``detect`` runs under one lock, requests wait their turn, and every request reseeds the planner (its
own ``seed`` or the server's) so that its grasps do not depend on the requests before it. An
unexpected error is a 500 with one line; the traceback goes to the server's log and the server stays up.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Literal, Optional

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

import igd
from igd.api import GraspDetector, Workspace, as_extrinsic, as_intrinsic
from igd.cli._common import USER_ERRORS, error_line
from igd.errors import IGDError
from igd.inputs import grasps_document
from igd.serve.codec import decode_depth

__all__ = ["DetectRequest", "GraspService", "ServerThread", "bind", "create_app", "run_server"]

log = logging.getLogger("igd.serve")

#: The endpoints, for ``igd serve``'s banner and the 404 message.
ENDPOINTS = ("POST /detect", "GET /health", "GET /info", "GET /docs")


# --------------------------------------------------------------------------------------------------
# the schema
# --------------------------------------------------------------------------------------------------
class DepthImage(BaseModel):
    """One depth image as the raw pixels of ``sensor_msgs/Image`` (:mod:`igd.serve.codec`)."""

    model_config = ConfigDict(extra="forbid")
    encoding: Literal["32FC1", "16UC1"] = Field(
        "32FC1", description="32FC1: float32 metres; 16UC1: uint16 millimetres (both little-endian)")
    data: str = Field(description="base64 of the row-major pixels, height x width of the intrinsics; 0 = no reading")
    depth_scale: Optional[float] = Field(
        None, description="metres per stored unit, overriding the encoding's (32FC1: 1, 16UC1: 0.001)")


class DetectRequest(BaseModel):
    """What ``igd detect`` reads from its four files, in one JSON object."""

    model_config = ConfigDict(extra="forbid")
    depth: DepthImage
    intrinsics: Dict[str, Any] = Field(
        description='K.json: {"width", "height", "fx", "fy", "cx", "cy"} or {"width", "height", "K": 3x3}, pixels')
    extrinsic: Dict[str, Any] = Field(
        description='T.json: T_cam_world (world -> OpenCV camera), {"matrix": 4x4} or {"translation", '
                    '"quaternion": [x, y, z, w]}; "convention": "T_world_cam" gives the camera pose instead')
    workspace: Dict[str, Any] = Field(
        description='WS.json: the pose T_world_ws of the 0.3 m cube\'s corner (keys as the extrinsic), "size": 0.3')
    top: Optional[int] = Field(10, description="at most this many grasps, best first; null: all")
    seed: Optional[int] = Field(None, description="the planner's seed for this request (default: the server's)")


class Grasp(BaseModel):
    pose: List[List[float]] = Field(description="T_world_grasp, 4x4 row-major (z = approach, y = closing)")
    position: List[float] = Field(description="[x, y, z], metres, world frame")
    quaternion: List[float] = Field(description="[x, y, z, w], world frame")
    width: float = Field(description="opening, metres")
    score: float = Field(description="[0, 1]")


class DetectResponse(BaseModel):
    """The grasps.json document of ``igd detect --out``, and ``info``."""

    format: str
    planner: str
    frame: Literal["world"]
    units: Dict[str, str]
    pose: str
    workspace: Dict[str, Any]
    info: Dict[str, Any] = Field(description="seconds: decode_time, wait_time (for the lock), integration_time, planning_time, server_time")
    grasps: List[Grasp]


class ErrorResponse(BaseModel):
    error: str = Field(description="one line: what was wrong and what is expected")


# --------------------------------------------------------------------------------------------------
# the service: a detector behind one lock
# --------------------------------------------------------------------------------------------------
class GraspService:
    """A :class:`~igd.api.GraspDetector` that many threads may call: planning runs one request at a time.

    detector: the loaded planner with its perception; weights: its weights file (for ``/info``);
    seed: what every request without its own ``seed`` reseeds the planner with.
    """

    def __init__(self, detector: GraspDetector, weights: str | Path | None = None, seed: int = 0):
        self.detector = detector
        self.weights = None if weights is None else str(weights)
        self.seed = int(seed)
        self._plan_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._counts = {"queued": 0, "served": 0, "rejected": 0, "failed": 0}
        self._started = time.monotonic()

    def detect(self, request: DetectRequest) -> dict:
        """The response document for one request; :class:`IGDError` (one line) for a bad one."""
        tic = time.perf_counter()
        intrinsic = as_intrinsic(request.intrinsics)  # as igd.inputs reads K.json, T.json, WS.json
        T_cam_world = as_extrinsic(request.extrinsic, "extrinsic")
        workspace = Workspace.create(request.workspace)
        d = request.depth
        depth = decode_depth(d.encoding, d.data, intrinsic.height, intrinsic.width, d.depth_scale)
        decoded = time.perf_counter()
        with self._counted("queued"), self._plan_lock:
            started = time.perf_counter()
            self.detector.planner.reseed(self.seed if request.seed is None else request.seed)
            detections = self.detector.detect(depth, intrinsic, T_cam_world, workspace, top=request.top)
        info = {key: _json_value(value) for key, value in detections.info.items()}
        info.update(decode_time=decoded - tic, wait_time=started - decoded, server_time=time.perf_counter() - tic)
        return grasps_document(detections, workspace, {"info": info})

    def respond(self, request: DetectRequest) -> tuple[int, dict]:
        """``(HTTP status, body)``: 200 and the grasps, 400 and the one line of a bad input, or 500."""
        try:
            body = self.detect(request)
        except USER_ERRORS as e:
            self._add("rejected")
            return 400, {"error": error_line(e)}
        except Exception as e:  # noqa: BLE001 - one request's failure must not take the server down
            self._add("failed")
            log.exception("POST /detect failed")
            return 500, {"error": f"internal error ({type(e).__name__}: {error_line(e)}); the server is up, "
                                  "its log has the traceback"}
        self._add("served")
        return 200, body

    def health(self) -> dict:
        with self._count_lock:
            counts = dict(self._counts)
        return {"status": "ok", "planner": self.detector.name, **counts,
                "uptime_s": round(time.monotonic() - self._started, 3)}

    def info(self) -> dict:
        planner = self.detector.planner
        return {"planner": self.detector.name, "type": planner.name, "learned": planner.learned,
                "weights": self.weights, "config": _config_dict(planner.config), "seed": self.seed,
                "igd": igd.__version__, "concurrency": "one request plans at a time; the others wait"}

    def _add(self, key: str, n: int = 1) -> None:
        with self._count_lock:
            self._counts[key] += n

    @contextmanager
    def _counted(self, key: str) -> Iterator[None]:
        self._add(key)
        try:
            yield
        finally:
            self._add(key, -1)


def _json_value(value: Any) -> Any:
    """A number or text of ``Detections.info`` as plain JSON."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _config_dict(config: Any) -> dict:
    """A planner config dataclass as JSON (paths and other objects as text)."""
    return json.loads(json.dumps(dataclasses.asdict(config), default=str))


# --------------------------------------------------------------------------------------------------
# the application
# --------------------------------------------------------------------------------------------------
def create_app(service: GraspService) -> FastAPI:
    """The FastAPI application of ``service``: the endpoints of the module's table, errors as ``{"error"}``."""
    app = FastAPI(title="igd grasp server", version=igd.__version__,
                  description="6-DoF grasps in the world frame from one depth image (docs/serving.md).")
    app.state.service = service
    errors = {400: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 500: {"model": ErrorResponse}}

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc: RequestValidationError):
        service._add("rejected")
        return JSONResponse({"error": validation_line(exc.errors())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, exc: StarletteHTTPException):
        return JSONResponse({"error": f"{exc.detail}: {request.method} {request.url.path} (this server has "
                                      f"{', '.join(ENDPOINTS)})"}, status_code=exc.status_code)

    @app.post("/detect", response_model=DetectResponse, responses=errors)
    def detect(request: DetectRequest):  # a plain def: FastAPI runs it on a worker thread
        status, body = service.respond(request)
        return JSONResponse(body, status_code=status)

    @app.get("/health")
    async def health():  # on the event loop: answers while a request plans
        return service.health()

    @app.get("/info")
    async def info():
        return service.info()

    return app


def validation_line(errors: list) -> str:
    """One line for pydantic's errors of a request body: the first, where it is, and how many more."""
    if not errors:
        return "invalid request"
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ())]
    if first.get("type") == "json_invalid":
        reason = (first.get("ctx") or {}).get("error", "")
        return f"the request body is not valid JSON ({reason})" if reason else "the request body is not valid JSON"
    field = ".".join(loc[1:] if loc[:1] == ["body"] else loc)
    where = f"request field '{field}'" if field else "request body"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    text = " ".join(str(first.get("msg", "invalid")).split())
    return f"{where}: {text}{more}; expected a DetectRequest (GET /docs shows the schema)"


# --------------------------------------------------------------------------------------------------
# running it
# --------------------------------------------------------------------------------------------------
def bind(host: str, port: int) -> socket.socket:
    """A TCP socket listening on ``host:port`` (port 0: a free one, ``sock.getsockname()[1]``); connections
    wait in its backlog until the server accepts them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as e:
        sock.close()
        raise IGDError(f"cannot listen on {host}:{port}: {e.strerror or e}") from e
    return sock


def _uvicorn_server(app: FastAPI, log_level: str):
    import uvicorn

    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5))


def run_server(app: FastAPI, sock: socket.socket, log_level: str = "info") -> None:
    """Serve ``app`` on the bound ``sock`` until Ctrl-C / SIGTERM (uvicorn stops gracefully)."""
    _uvicorn_server(app, log_level).run(sockets=[sock])


class ServerThread:
    """uvicorn serving ``app`` on ``host:port`` in a background thread, as a context manager (tests,
    benchmarks, embedding in a program of one's own); port 0 takes a free port, :attr:`url` says which.

        with ServerThread(create_app(service)) as server:
            GraspClient(server.url).health()
    """

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning",
                 start_timeout: float = 30.0):
        self.sock = bind(host, port)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.server = _uvicorn_server(app, log_level)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True,
                                       name=f"igd-serve-{self.port}")
        self.start_timeout = start_timeout

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the grasp server on {self.url} did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=30)
        self.sock.close()
