"""``igd serve``: the real server on 127.0.0.1 (a free port), driven over loopback by the client and raw HTTP.

The example scene is ``igd detect --example``'s packed scene of the cheap ``blocks`` set (seed 0).
What is checked: the same grasps as ``igd detect`` on the same inputs (``topdown`` exactly, and the
released ``vgn``), bad requests answered with ``igd detect``'s one line and a 4xx while the server
stays up, an internal error as a 500, planning serialised under concurrent clients, and the CLI
itself (started, asked, stopped with Ctrl-C; one line when the extra is missing).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from igd_cli import igd_command
from PIL import Image

import igd
from igd.cli.main import main
from igd.inputs import EXAMPLE_FILES, write_example
from igd.serve.app import GraspService, ServerThread, create_app
from igd.serve.client import GraspClient, detect_request

ROOT = Path(__file__).resolve().parents[2]
VGN_WEIGHTS = ROOT / "weights" / "vgn_conv.pth"


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    paths = write_example(tmp_path_factory.mktemp("example"), objects="blocks")
    assert set(paths) == set(EXAMPLE_FILES)
    return paths


def _inputs(example) -> dict:
    """The example's K.json, T.json, WS.json as dicts and its depth as float32 metres."""
    read = {role: json.loads(example[role].read_text()) for role in ("intrinsics", "extrinsic", "workspace")}
    return {**read, "depth": np.load(example["depth_npy"])}


@pytest.fixture(scope="module")
def topdown():
    """A topdown server and a client of it."""
    service = GraspService(igd.load("topdown"))
    with ServerThread(create_app(service)) as server, GraspClient(server.url) as client:
        yield {"server": server, "client": client, "service": service}


def _detect_cli(example, out: Path, planner: str, depth: str = "depth_npy", top: int = 5) -> dict:
    args = ["detect", "--depth", example[depth], "--intrinsics", example["intrinsics"], "--extrinsic",
            example["extrinsic"], "--workspace", example["workspace"], "--planner", planner, "--top", top, "--out", out]
    assert main([str(a) for a in args]) == 0
    return json.loads(out.read_text())


def test_import_igd_imports_no_server_library():
    code = ("import sys, igd, igd.serve, igd.serve.codec, igd.cli.main; igd.cli.main.build_parser(); "
            "print(sorted({'fastapi', 'uvicorn', 'httpx', 'starlette'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_serve_without_the_extra_is_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "fastapi", None)  # import fastapi now raises ImportError
    assert main(["serve", "--planner", "topdown"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("igd: error:")
    assert "pip install 'igd[serve]'" in lines[0]


def test_health_info_and_schema(topdown):
    client = topdown["client"]
    health = client.health()
    assert health["status"] == "ok" and health["planner"] == "topdown" and health["queued"] == 0
    info = client.info()
    assert info["planner"] == "topdown" and info["type"] == "topdown" and info["weights"] is None
    assert info["config"]["width"] > 0 and info["seed"] == 0
    schema = client._http.get("/openapi.json").json()
    assert "/detect" in schema["paths"] and "DetectRequest" in schema["components"]["schemas"]


@pytest.mark.parametrize("depth", ["depth_npy", "depth_png"])
def test_same_grasps_as_igd_detect(topdown, example, tmp_path, depth):
    """32FC1 metres as the .npy, 16UC1 millimetres as the PNG: the grasps of ``igd detect``, to the bit."""
    expected = _detect_cli(example, tmp_path / "grasps.json", "topdown", depth)
    x = _inputs(example)
    image = np.load(example[depth]) if depth == "depth_npy" else np.asarray(Image.open(example[depth]))
    assert image.dtype == (np.float32 if depth == "depth_npy" else np.uint16)
    doc = topdown["client"].detect_document(image, x["intrinsics"], x["extrinsic"], x["workspace"], top=5)
    assert len(doc["grasps"]) > 0
    assert doc["grasps"] == expected["grasps"]
    for key in ("format", "planner", "frame", "units", "workspace"):
        assert doc[key] == expected[key]
    assert doc["info"]["planning_time"] >= 0 and doc["info"]["server_time"] >= doc["info"]["planning_time"]
    grasps = topdown["client"].detect(image, x["intrinsics"], x["extrinsic"], x["workspace"], top=5)
    np.testing.assert_array_equal(grasps.poses, [g["pose"] for g in expected["grasps"]])


@pytest.mark.skipif(not VGN_WEIGHTS.exists(), reason="weights/vgn_conv.pth is missing")
def test_a_learned_planner_gives_the_grasps_of_igd_detect(example, tmp_path, one_thread):
    expected = _detect_cli(example, tmp_path / "grasps.json", "vgn")
    x = _inputs(example)
    service = GraspService(igd.load("vgn"), weights=VGN_WEIGHTS)
    with ServerThread(create_app(service)) as server, GraspClient(server.url) as client:
        assert client.info()["learned"] and client.info()["weights"] == str(VGN_WEIGHTS)
        docs = [client.detect_document(x["depth"], x["intrinsics"], x["extrinsic"], x["workspace"], top=5)
                for _ in range(2)]
    assert len(expected["grasps"]) > 0
    for doc in docs:  # the second request as the first: every request reseeds the planner
        assert [g["score"] for g in doc["grasps"]] == pytest.approx([g["score"] for g in expected["grasps"]], abs=1e-6)
        np.testing.assert_allclose([g["pose"] for g in doc["grasps"]], [g["pose"] for g in expected["grasps"]],
                                   atol=1e-6)


# --------------------------------------------------------------------------------------------------
# bad requests: igd detect's one line, a 4xx, and the server stays up
# --------------------------------------------------------------------------------------------------
def _bad_inputs(x: dict) -> dict:
    """Bad inputs by case: a function of the good ones to ``(K, T, WS, depth)``."""
    T = np.asarray(x["extrinsic"]["matrix"])
    scaled, row = T.copy(), T.copy()
    scaled[:3, :3] *= 2.0
    row[3, :3] = 0.2
    nan = x["depth"].copy()
    nan[0, :] = np.nan
    ws = {"quaternion": [0, 0, 0, 1]}
    return {
        "scaled extrinsic": {"extrinsic": {"matrix": scaled.tolist()}},
        "mirrored extrinsic": {"extrinsic": {"matrix": (T @ np.diag([-1.0, 1, 1, 1])).tolist()}},
        "bad last row": {"extrinsic": {"matrix": row.tolist()}},
        "camera pose as extrinsic": {"extrinsic": {"matrix": np.linalg.inv(T).tolist()}},
        "bad convention": {"extrinsic": {"matrix": T.tolist(), "convention": "T_cam_robot"}},
        "workspace behind": {"workspace": {"translation": [0, -1.39, 0.75], **ws}},
        "workspace far away": {"workspace": {"translation": [5, 0, 0], **ws}},
        "workspace in free space": {"workspace": {"translation": [0, -0.26, 0.1], **ws}},
        "workspace size": {"workspace": {**x["workspace"], "size": 0.4}},
        "no pose keys": {"workspace": {"size": 0.3}},
        "missing intrinsics keys": {"intrinsics": {"width": 640, "height": 480, "fx": 540}},
        "negative focal length": {"intrinsics": {**x["intrinsics"], "fx": -540}},
        "all-zero depth": {"depth": np.zeros_like(x["depth"])},
        "nan depth": {"depth": nan},
        "negative depth": {"depth": -x["depth"]},
    }


def test_bad_requests_get_the_line_of_igd_detect(topdown, example, tmp_path, capsys):
    x = _inputs(example)
    for case, change in _bad_inputs(x).items():
        bad = {**x, **change}
        folder = tmp_path / case.replace(" ", "_")
        folder.mkdir()
        files = {"intrinsics": "K.json", "extrinsic": "T.json", "workspace": "WS.json"}
        for role, name in files.items():
            (folder / name).write_text(json.dumps(bad[role]))
        np.save(folder / "depth.npy", bad["depth"])
        code = main(["detect", "--depth", str(folder / "depth.npy")]
                    + [a for role, name in files.items() for a in (f"--{role}", str(folder / name))]
                    + ["--planner", "topdown"])
        cli = capsys.readouterr().err.strip()
        assert code == 2 and cli.startswith("igd: error: "), (case, cli)
        cli = cli.removeprefix("igd: error: ").replace(str(folder / "depth.npy"), "depth")
        for name in files.values():  # igd detect names the file that holds the bad value
            cli = cli.removeprefix(f"{folder / name}: ")
        response = topdown["client"]._http.post("/detect", json=detect_request(
            bad["depth"], bad["intrinsics"], bad["extrinsic"], bad["workspace"]))
        assert response.status_code == 400, (case, response.text)
        assert response.json() == {"error": cli}, case
    assert topdown["client"].health()["status"] == "ok"


def test_malformed_requests_are_4xx_and_one_line(topdown, example):
    client = topdown["client"]
    x = _inputs(example)
    good = detect_request(x["depth"], x["intrinsics"], x["extrinsic"], x["workspace"], top=3)
    cases = {
        "not JSON": ({"content": b'{"depth": ', "headers": {"content-type": "application/json"}}, 422,
                     "not valid JSON"),
        "not an object": ({"json": [1, 2]}, 422, "request body"),
        "missing field": ({"json": {k: v for k, v in good.items() if k != "extrinsic"}}, 422,
                          "request field 'extrinsic': Field required"),
        "unknown field": ({"json": {**good, "extrinsics": {}}}, 422, "request field 'extrinsics'"),
        "bad encoding": ({"json": {**good, "depth": {**good["depth"], "encoding": "8UC1"}}}, 422,
                         "request field 'depth.encoding'"),
        "bad base64": ({"json": {**good, "depth": {**good["depth"], "data": "%%%"}}}, 400, "not valid base64"),
        "wrong size": ({"json": {**good, "depth": {**good["depth"], "data": good["depth"]["data"][:400]}}}, 400,
                       "from the intrinsics"),
        "bad depth scale": ({"json": {**good, "depth": {**good["depth"], "depth_scale": -1}}}, 400, "depth_scale"),
        "millimetres as metres": ({"json": detect_request(x["depth"] * 1000, x["intrinsics"], x["extrinsic"],
                                                          x["workspace"])}, 400, "looks like millimetres"),
        "zero top": ({"json": {**good, "top": 0}}, 400, "top must be a positive integer"),
    }
    for case, (kwargs, status, expected) in cases.items():
        response = client._http.post("/detect", **kwargs)
        assert response.status_code == status, (case, response.text)
        body = response.json()
        assert list(body) == ["error"] and "\n" not in body["error"] and expected in body["error"], (case, body)
    assert client._http.get("/nope").status_code == 404 and "POST /detect" in client._http.get("/nope").json()["error"]
    with pytest.raises(igd.errors.IGDError, match="from the intrinsics"):
        client.detect(x["depth"][:100], x["intrinsics"], x["extrinsic"], x["workspace"])
    assert len(client.detect(x["depth"], x["intrinsics"], x["extrinsic"], x["workspace"], top=3)) > 0  # still up
    assert client.health()["rejected"] >= len(cases)


def test_an_internal_error_is_a_500_and_the_server_stays_up(topdown, example, monkeypatch):
    from igd.serve.client import ServerError

    x = _inputs(example)
    planner = topdown["service"].detector.planner

    def broken(observation):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(planner, "plan", broken)
    response = topdown["client"]._http.post("/detect", json=detect_request(x["depth"], x["intrinsics"],
                                                                           x["extrinsic"], x["workspace"]))
    assert response.status_code == 500
    assert response.json()["error"].startswith("internal error (RuntimeError: boom second line)")
    with pytest.raises(ServerError, match="HTTP 500"):
        topdown["client"].detect(x["depth"], x["intrinsics"], x["extrinsic"], x["workspace"])
    monkeypatch.undo()
    assert len(topdown["client"].detect(x["depth"], x["intrinsics"], x["extrinsic"], x["workspace"])) > 0


def test_concurrent_clients_plan_one_at_a_time(topdown, example, monkeypatch):
    x = _inputs(example)
    planner = topdown["service"].detector.planner
    plan, active, peak, lock = planner.plan, [0], [0], threading.Lock()

    def counted(observation):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            return plan(observation)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(planner, "plan", counted)
    expected = topdown["client"].detect_document(x["depth"], x["intrinsics"], x["extrinsic"], x["workspace"])
    results, errors = [], []

    def worker():
        with GraspClient(topdown["server"].url) as client:
            for _ in range(2):
                try:
                    results.append(client.detect_document(x["depth"], x["intrinsics"], x["extrinsic"],
                                                          x["workspace"]))
                except Exception as e:  # noqa: BLE001 - counted, then asserted
                    errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(results) == 8
    assert peak[0] == 1
    assert len(expected["grasps"]) > 0 and all(r["grasps"] == expected["grasps"] for r in results)
    assert max(r["info"]["wait_time"] for r in results) > 0


# --------------------------------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------------------------------
def test_igd_serve_starts_answers_and_stops_on_ctrl_c(example):
    x = _inputs(example)
    proc = subprocess.Popen(igd_command("serve", "--planner", "topdown", "--port", "0", "--log-level", "warning"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
        assert banner.startswith("igd serve: topdown on http://127.0.0.1:"), banner + proc.stderr.read()
        url = banner.split(" on ")[1].split()[0]
        with GraspClient(url) as client:
            assert client.health()["status"] == "ok"
            assert len(client.detect(x["depth"], x["intrinsics"], x["extrinsic"], x["workspace"])) > 0
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "stopped after 1 answered, 0 rejected and 0 failed request(s)" in out and "Traceback" not in err
    finally:
        proc.kill()
        proc.wait()


def test_igd_serve_bad_start_is_one_line(capsys):
    from igd.serve.app import bind

    taken = bind("127.0.0.1", 0)
    try:
        cases = {("--planner", "vgm"): "unknown planner 'vgm'",
                 ("--planner", "topdown", "--port", str(taken.getsockname()[1])): "cannot listen on 127.0.0.1:",
                 ("--planner", "topdown", "--port", "70000"): "--port must be"}
        for args, expected in cases.items():
            assert main(["serve", *args]) == 2
            lines = capsys.readouterr().err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("igd: error:") and expected in lines[0], lines
    finally:
        taken.close()
