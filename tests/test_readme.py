"""The README's examples, and those of the pages a newcomer reads first, run as written.

Every fenced ``bash`` and ``python`` block of :data:`PAGES` runs verbatim, in page order, in a scratch
copy of a fresh clone after the set-up (``make``): a temporary folder with a link to each top-level
entry of the repository but ``.git`` and the git-ignored ones (``.venv`` excepted), so outputs land
in the scratch folder and the pages' own ``runs/`` paths stay out of the checkout. A python block is
fed to ``.venv/bin/python``; a bash block runs under ``bash -e -o pipefail`` with ``.venv/bin`` first
on ``PATH``. Afterwards the scratch folder holds nothing new but ``runs/`` (git-ignored) and the
checkout has no new untracked file.

An HTML comment on the line before a block's fence changes how it runs:

- ``<!-- readme-test: slow -->``: only under ``-m slow`` (minutes: ``make demo``), on its own in a
  fresh scratch folder; ``make test`` is left out of it, as it is the suite that runs this test.
- ``<!-- readme-test: serve -->``: run while the page's first ``igd serve`` command serves on
  127.0.0.1:8000 (stopped with Ctrl-C afterwards, which must exit 0).
- ``<!-- readme-test: manual: WHY -->``: not run (hours of compute, data to generate, a server that
  runs until stopped); WHY says so.

Whatever the marker, every ``igd`` command in a bash block of any Markdown page must parse
(options that exist, values of the right kind), every ``igd bench`` of :data:`PAGES` names its
``--seeds`` and ``--rounds`` (the defaults are the papers' 500 rounds), and every output path of
:data:`PAGES` (``--out``, ``--png``, ``--example``) is git-ignored.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The pages whose blocks run: the README and the first pages a newcomer follows.
PAGES = ("README.md", "docs/frames.md", "docs/viewer.md", "docs/serving.md", "docs/benchmark.md")
KINDS = ("run", "slow", "serve", "manual")
MARKER = re.compile(r"^<!--\s*readme-test:\s*(\w+)\s*(?::\s*(.*?))?\s*-->$")
#: Command lines a slow block does not run: the suite that runs this very test.
SELF = (["make", "test"],)
SERVER = ("127.0.0.1", 8000)
OUTPUT_OPTIONS = ("--out", "--png", "--example")
VENV_BIN = ROOT / ".venv" / "bin"
TIMEOUT = 900  # seconds per block


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # of the opening fence, 1-based
    lang: str
    text: str
    kind: str = "run"
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.page}:{self.line} ({self.lang}, {self.kind})"


def fenced_blocks(page: str, langs: tuple[str, ...] = ("bash", "python")) -> list[Block]:
    """The fenced blocks of ``page`` in ``langs``, with the marker on the line before each (if any)."""
    lines = (ROOT / page).read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        opening = re.match(r"^(```|~~~)\s*([\w+-]*)\s*$", lines[i])
        if not opening:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == opening.group(1)), len(lines))
        lang = opening.group(2)
        if lang in langs:
            before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            marker = MARKER.match(before)
            kind, reason = (marker.group(1), marker.group(2) or "") if marker else ("run", "")
            found.append(Block(page, i + 1, lang, "\n".join(lines[i + 1:end]) + "\n", kind, reason))
        i = end + 1
    return found


def markdown_pages() -> list[str]:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "src").rglob("README.md")),
             *sorted((ROOT / "weights").glob("*.md"))]
    return [p.relative_to(ROOT).as_posix() for p in pages if p.is_file()]


def command_lines(script: str) -> list[list[str]]:
    """The simple commands of a bash block as argument lists: continuation lines joined, comments
    dropped, split at ``&&``, ``||``, ``;`` and ``|``, leading ``VAR=value`` and ``nice -n N`` dropped."""
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            continue
        current: list[str] = []
        for token in tokens + [";"]:
            if token in ("&&", "||", ";", "|"):
                while current and re.match(r"^[A-Za-z_]\w*=", current[0]):
                    current.pop(0)
                if current[:1] == ["nice"]:
                    current = current[3:] if current[1:2] == ["-n"] else current[1:]
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(token)
    return commands


def igd_commands(script: str) -> list[list[str]]:
    """The ``igd`` commands of a bash block (``igd`` or ``.venv/bin/igd``), but placeholders
    (``...``, ``[--option]``, shell variables), which are not meant to run."""
    return [c for c in command_lines(script) if len(c) > 1 and (c[0] == "igd" or c[0].endswith("/igd"))
            and not any("..." in t or t.startswith("[") or "$" in t for t in c)]


def all_blocks() -> list[Block]:
    return [b for page in PAGES for b in fenced_blocks(page)]


# --------------------------------------------------------------------------------------------------
# the pages, read
# --------------------------------------------------------------------------------------------------
def test_every_page_has_blocks_with_known_markers():
    for page in PAGES:
        blocks = fenced_blocks(page)
        assert blocks, f"{page} has no bash or python block"
        for block in blocks:
            assert block.kind in KINDS, f"{block}: unknown marker kind {block.kind!r}; expected one of {KINDS}"
            if block.kind == "manual":
                assert block.reason, f"{block}: a manual block says why it is not run"
    readme = fenced_blocks("README.md")
    assert {b.lang for b in readme if b.kind == "run"} == {"bash", "python"}  # the two examples run


def test_igd_commands_of_every_page_parse():
    from igd.cli.main import build_parser

    parser = build_parser()
    checked = 0
    for page in markdown_pages():
        for block in fenced_blocks(page, ("bash",)):
            for command in igd_commands(block.text):
                err = io.StringIO()
                try:
                    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                        parser.parse_args(command[1:])
                except SystemExit as e:
                    assert not e.code, f"{block}: `{shlex.join(command)}` does not parse: {err.getvalue().strip()}"
                checked += 1
    assert checked > 30


def test_benchmarks_name_their_rounds_and_outputs_are_ignored():
    outputs = []
    for block in all_blocks():
        if block.lang != "bash":
            continue
        for command in igd_commands(block.text):
            if command[1] == "bench":
                assert "--seeds" in command and "--rounds" in command, (
                    f"{block}: `{shlex.join(command)}` plays the default seeds 0-4 x 100 rounds; name --seeds and --rounds")
            outputs += [(block, command[i + 1]) for i, t in enumerate(command[:-1]) if t in OUTPUT_OPTIONS]
    assert len(outputs) > 10
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    paths = sorted({path for _, path in outputs})
    result = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "--no-index", "--stdin"], input="\n".join(paths),
                            capture_output=True, text=True)
    ignored = set(result.stdout.split())
    for block, path in outputs:
        assert path in ignored, f"{block}: output {path} is not git-ignored (.gitignore)"


# --------------------------------------------------------------------------------------------------
# the blocks, run
# --------------------------------------------------------------------------------------------------
def untracked() -> set[str]:
    result = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True)
    return {line[3:] for line in result.stdout.splitlines() if line.startswith("??")}


def scratch_clone(folder: Path) -> Path:
    """A fresh clone as the set-up leaves it, by links: every top-level entry but .git and the ignored ones."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--others", "--ignored", "--exclude-standard",
                             "--directory"], capture_output=True, text=True).stdout.split()
    ignored = {entry.rstrip("/") for entry in listed if "/" not in entry.rstrip("/")}
    clone = folder / "clone"
    clone.mkdir()
    for entry in ROOT.iterdir():
        if entry.name == ".git" or (entry.name in ignored and entry.name != ".venv"):
            continue
        (clone / entry.name).symlink_to(entry)
    return clone


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("VIRTUAL_ENV", None)
    return env


def run_block(block: Block, clone: Path) -> None:
    if block.lang == "python":
        argv, stdin = [str(clone / ".venv" / "bin" / "python"), "-"], block.text
    else:
        lines = [line for line in block.text.replace("\\\n", " ").splitlines()
                 if shlex.split(line, comments=True) not in SELF]
        argv, stdin = ["bash", "-e", "-o", "pipefail", "-x", "-c", "\n".join(lines) + "\n"], None
    tic = time.perf_counter()
    result = subprocess.run(argv, input=stdin, cwd=clone, env=environment(), capture_output=True, text=True,
                            timeout=TIMEOUT)
    print(f"{block}: {time.perf_counter() - tic:.1f} s")
    assert result.returncode == 0, (f"{block} failed (exit {result.returncode}):\n{block.text}\n"
                                    f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}")


@contextlib.contextmanager
def serving(page: str, clone: Path):
    """The page's first ``igd serve`` command, running until the block is done; Ctrl-C must exit 0."""
    commands = [c for b in fenced_blocks(page, ("bash",)) for c in igd_commands(b.text) if c[1] == "serve"]
    assert commands, f"{page} has a serve block but no igd serve command"
    with socket.socket() as probe:
        try:
            probe.bind(SERVER)
        except OSError:
            pytest.skip(f"{SERVER[0]}:{SERVER[1]} is taken: the page's client needs it")
    process = subprocess.Popen(commands[0], cwd=clone, env=environment(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    ready = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C stops" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 300
        while not ready.wait(0.2):
            assert process.poll() is None and time.monotonic() < deadline, (
                f"`{shlex.join(commands[0])}` did not start serving:\n{''.join(lines)}")
        yield
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, f"igd serve did not exit 0 on Ctrl-C:\n{''.join(lines)}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=5)


def run_page(page: str, kinds: tuple[str, ...], tmp_path: Path) -> None:
    blocks = [b for b in fenced_blocks(page) if b.kind in kinds]
    if not (VENV_BIN / "igd").exists():
        pytest.skip("no .venv/bin/igd: run the set-up (make) first")
    before = untracked()
    clone = scratch_clone(tmp_path)
    links = {p.name for p in clone.iterdir()}
    for block in blocks:
        with serving(page, clone) if block.kind == "serve" else contextlib.nullcontext():
            run_block(block, clone)
    new = sorted(p.name for p in clone.iterdir() if p.name not in links)
    assert set(new) <= {"runs"}, f"{page}'s examples wrote {new} outside runs/ (the git-ignored output folder)"
    assert not (untracked() - before), f"{page}'s examples left untracked files in the checkout: {untracked() - before}"


def pages_with(*kinds: str) -> list[str]:
    return [page for page in PAGES if any(b.kind in kinds for b in fenced_blocks(page))]


@pytest.mark.parametrize("page", pages_with("run", "serve"))
def test_page_examples_run(page, tmp_path):
    run_page(page, ("run", "serve"), tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("page", pages_with("slow"))
def test_page_slow_examples_run(page, tmp_path):
    blocks = [b for b in fenced_blocks(page) if b.kind == "slow"]
    if any(c[:1] == ["make"] for b in blocks for c in command_lines(b.text)):
        stale = subprocess.run(["make", "-q", ".venv/.installed"], cwd=ROOT, capture_output=True)
        if stale.returncode != 0:
            pytest.skip("the set-up is out of date (pyproject.toml is newer than .venv/.installed): run make first")
    run_page(page, ("slow",), tmp_path)
