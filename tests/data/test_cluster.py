"""``igd generate --address`` on a real two-node Ray cluster on this machine (slow).

A head and a second node are started with ``ray start``, each with one CPU, advertised on loopback
addresses only (``127.0.0.2`` and ``127.0.0.3``: Ray rewrites ``127.0.0.1`` and ``localhost`` to the
machine's network address) and with a token of their own. The second node's raylet is SIGKILLed
while it runs a scene; the run must finish on the head with exactly the rows and part files of an
uninterrupted serial run. Then a driver killed mid-run resumes on the cluster to the same rows.

Every process of the cluster is ended by its id at teardown (``ray stop`` would end every Ray
process of this user on the machine, other runs' included).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from igd_cli import igd_command, kill_when

from igd.data import generate, layout
from igd.data.generate import GenerateConfig, run_generate

pytestmark = pytest.mark.slow

RAY = Path(sys.executable).with_name("ray")
HEAD_IP, NODE_IP = "127.0.0.2", "127.0.0.3"
SETTINGS = dict(scene="pile", scenes=6, grasps_per_scene=3, objects="blocks", seed=7, protocol="fast")
SCENE_TASK = "ray::scene_task"

if not RAY.exists() or not Path("/proc/self/cmdline").exists():
    pytest.skip("needs the 'ray' command line beside this Python and /proc", allow_module_level=True)


# --------------------------------------------------------------------------------------------------
# processes, by /proc
# --------------------------------------------------------------------------------------------------
def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def children(pid: int) -> list[int]:
    return [p for p in pids() if parent(p) == pid]


def cluster_processes(temp_dir: str) -> set[int]:
    """The processes of the cluster in ``temp_dir``: those naming it and all their descendants
    (workers rename themselves ``ray::...``)."""
    found = {p for p in pids() if temp_dir in cmdline(p) and p != os.getpid()}
    frontier = list(found)
    while frontier:
        for child in children(frontier.pop()):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def node_raylet(temp_dir: str, ip: str) -> int:
    """The pid of the raylet of the node advertised at ``ip``."""
    found = [p for p in pids() if temp_dir in cmdline(p) and "/raylet/raylet " in cmdline(p)
             and f"--node_ip_address={ip} " in cmdline(p)]
    assert len(found) == 1, found
    return found[0]


def running_a_scene(raylet: int) -> bool:
    return any(cmdline(p).startswith(SCENE_TASK) for p in children(raylet))


# --------------------------------------------------------------------------------------------------
# the cluster
# --------------------------------------------------------------------------------------------------
class Cluster:
    def __init__(self):
        self.temp_dir = tempfile.mkdtemp(prefix="igd-ray-", dir="/tmp")  # short: Ray's socket paths
        token = Path(self.temp_dir) / "token"
        token.write_text(secrets.token_hex(32))
        self.env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token),
                    "RAY_USAGE_STATS_ENABLED": "0"}
        with socket.socket() as s:
            s.bind((HEAD_IP, 0))
            self.port = s.getsockname()[1]
        self.address = f"{HEAD_IP}:{self.port}"
        self.known: set[int] = set()  # every process of the cluster seen so far, orphans-to-be included

    def remember(self) -> None:
        self.known |= cluster_processes(self.temp_dir)

    def ray(self, *args, timeout: float = 180) -> str:
        done = subprocess.run(["nice", "-n", "10", str(RAY), *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        assert done.returncode == 0, f"ray {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def start_head(self) -> None:
        self.ray("start", "--head", "--node-ip-address", HEAD_IP, "--port", str(self.port), "--num-cpus", "1",
                 "--include-dashboard", "false", "--object-store-memory", str(10 ** 8), "--disable-usage-stats",
                 "--temp-dir", self.temp_dir)

    def start_node(self) -> int:
        """Start the second node; returns its raylet's pid."""
        self.ray("start", "--address", self.address, "--node-ip-address", NODE_IP, "--num-cpus", "1",
                 "--object-store-memory", str(10 ** 8))
        self.wait_for_nodes(2)
        self.remember()
        return node_raylet(self.temp_dir, NODE_IP)

    def alive_nodes(self) -> int:
        """Alive nodes as ``ray status`` lists them (the lines of its 'Active:' block)."""
        lines = self.ray("status", "--address", self.address, timeout=60).splitlines()
        start = lines.index("Active:") + 1
        end = next(i for i in range(start, len(lines)) if not lines[i].startswith(" "))
        return sum("node_" in line for line in lines[start:end])

    def wait_for_nodes(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.alive_nodes() != count:
            assert time.monotonic() < deadline, f"the cluster did not reach {count} alive nodes"
            time.sleep(2)

    def stop(self) -> None:
        for _ in range(20):
            alive = cluster_processes(self.temp_dir) | {
                p for p in self.known if cmdline(p).startswith("ray::") or self.temp_dir in cmdline(p)}
            if not alive:
                break
            for pid in alive:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.5)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster():
    c = Cluster()
    try:
        c.start_head()
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "raw"
    run_generate(GenerateConfig(out=str(out), workers=1, **SETTINGS), progress=False)
    return out


def generate_args(out: Path, address: str) -> list:
    s = SETTINGS
    return ["generate", "--scene", s["scene"], "--scenes", s["scenes"], "--grasps-per-scene", s["grasps_per_scene"],
            "--objects", s["objects"], "--seed", s["seed"], "--protocol", s["protocol"], "--address", address,
            "--out", out, "--no-progress"]


def part_files(out: Path) -> list:
    return sorted(p.name for p in (out / generate.PARTS_DIR).glob("*.json"))


def assert_same_run(out: Path, serial: Path) -> None:
    assert len(part_files(serial)) == SETTINGS["scenes"]
    assert part_files(out) == part_files(serial)
    assert (out / layout.GRASPS_FILE).read_bytes() == (serial / layout.GRASPS_FILE).read_bytes()
    for folder in (layout.SCENES_DIR, layout.MESH_POSE_DIR):
        assert sorted(p.name for p in (out / folder).iterdir()) == sorted(p.name for p in (serial / folder).iterdir())


# --------------------------------------------------------------------------------------------------
# the tests
# --------------------------------------------------------------------------------------------------
def test_a_node_killed_mid_run_loses_nothing(cluster, serial_run, tmp_path):
    raylet = cluster.start_node()
    out = tmp_path / "node-killed"
    parts = out / generate.PARTS_DIR
    run = subprocess.Popen(["nice", "-n", "10", *igd_command(*generate_args(out, cluster.address))], env=cluster.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not (running_a_scene(raylet) and list(parts.glob("*.json"))) and run.poll() is None:
            assert time.monotonic() < deadline, "the second node never ran a scene after the first commit"
            time.sleep(0.05)
        assert run.poll() is None, "the run ended before the second node could be killed"
        cluster.remember()
        os.kill(raylet, signal.SIGKILL)  # the second node dies, with the scene it was running
        committed_at_kill = len(part_files(out))
        cluster.wait_for_nodes(1)
        stdout, stderr = run.communicate(timeout=600)
    finally:
        run.kill()
        run.wait()
    assert run.returncode == 0, stderr
    assert committed_at_kill < SETTINGS["scenes"]
    assert "grasp points" in stdout
    assert_same_run(out, serial_run)


def test_a_killed_driver_resumes_on_the_cluster(cluster, serial_run, tmp_path):
    if cluster.alive_nodes() < 2:
        cluster.start_node()
    out = tmp_path / "driver-killed"
    parts = out / generate.PARTS_DIR
    args = generate_args(out, cluster.address)
    kill_when(args, lambda: bool(list(parts.glob("*.json"))), poll=0.02, env=cluster.env)
    at_kill = part_files(out)
    assert 1 <= len(at_kill) < SETTINGS["scenes"], at_kill
    done = subprocess.run(["nice", "-n", "10", *igd_command(*args, "--resume")], env=cluster.env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert_same_run(out, serial_run)
    assert cluster.alive_nodes() == 2  # a dead driver takes no node with it
