"""The ``igd`` command line: help with examples, and one-line errors for bad input."""

from pathlib import Path

import pytest
from igd_cli import run_igd

import igd
from igd.cli.main import COMMANDS, main

ROOT = Path(__file__).resolve().parents[2]
VGN_WEIGHTS = ROOT / "weights" / "vgn_conv.pth"


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"igd {igd.__version__}"


def test_every_command_is_registered(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)


def test_bench_help_shows_examples():
    result = run_igd("bench", "--help")
    assert result.returncode == 0, result.stderr
    assert "examples:" in result.stdout
    assert "igd bench --planner vgn --weights weights/vgn_conv.pth --scene packed" in result.stdout
    assert "--resume" in result.stdout and "--address" in result.stdout


@pytest.fixture
def truncated_weights(tmp_path):
    path = tmp_path / "truncated.pth"
    path.write_bytes(VGN_WEIGHTS.read_bytes()[:4000])
    return path


BAD_INPUTS = {
    "unknown planner": (["--planner", "nope", "--objects", "blocks"], "unknown planner 'nope'"),
    "missing weights": (["--planner", "vgn", "--weights", "missing.pth", "--objects", "blocks"], "missing.pth"),
    "unknown object set": (["--planner", "vgn", "--weights", VGN_WEIGHTS, "--objects", "pots"], "object set"),
    "unknown noise": (["--planner", "vgn", "--weights", VGN_WEIGHTS, "--objects", "blocks", "--noise", "pink"],
                      "noise"),
    "unknown scene": (["--planner", "vgn", "--scene", "shelf"], "--scene"),
    "bad rounds": (["--planner", "vgn", "--rounds", "0", "--objects", "blocks"], "rounds"),
    "sampler for a planner without one": (["--planner", "vgn", "--weights", VGN_WEIGHTS, "--objects", "blocks",
                                           "--sampler", "ddpm"], "sampler"),
    "bad planner option": (["--planner", "vgn", "--weights", VGN_WEIGHTS, "--objects", "blocks",
                            "--protocol", "fast"], "protocol"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_line(case, tmp_path):
    if not VGN_WEIGHTS.exists():
        pytest.skip("weights/vgn_conv.pth is missing")
    args, expected = BAD_INPUTS[case]
    out = tmp_path / "out"
    # one short round should the error not fire; a case's own --rounds comes later and wins
    result = run_igd("bench", "--rounds", 1, "--seeds", 0, *args, "--out", out, "--no-progress", cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("igd: error:"), result.stderr
    assert expected in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not (out / "config.json").exists()  # nothing written: a corrected command can use the same --out


def test_bench_sampler_options_reach_the_planner_config():
    from igd.cli._common import ArgumentParser
    from igd.cli.bench import add_arguments, config_from_args

    parser = ArgumentParser(prog="igd bench")
    add_arguments(parser)
    args = parser.parse_args(["--planner", "igd-packed", "--sampler", "ddpm", "--steps", "100", "--rounds-n", "4"])
    cfg = config_from_args(args)
    assert cfg.overrides == {"sampler": "ddpm", "steps": 100, "rounds_n": 4}
    assert cfg.planner == "igd" and cfg.weights.endswith("igd-packed.pt")  # the released name's type and file
    assert config_from_args(parser.parse_args(["--planner", "igd-packed"])).overrides == {}


def test_truncated_weights_is_one_line(truncated_weights, tmp_path):
    result = run_igd("bench", "--planner", "vgn", "--weights", truncated_weights, "--objects", "blocks",
                     "--rounds", 1, "--out", tmp_path / "out", "--no-progress")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2
    assert len(lines) == 1 and lines[0].startswith("igd: error:") and "truncated.pth" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(monkeypatch, capsys):
    monkeypatch.setenv("IGD_DEBUG", "1")
    with pytest.raises(igd.errors.IGDError):
        main(["bench", "--planner", "nope", "--objects", "blocks", "--out", "unused"])


def test_in_process_errors_return_2(capsys, tmp_path):
    assert main(["bench", "--planner", "nope", "--objects", "blocks", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("igd: error: unknown planner 'nope'") and err.count("\n") == 1


@pytest.mark.parametrize("planner, weights_file, message", [
    ("vgn", "giga-packed-authors.pt", "GIGA"),  # a GIGA file as VGN weights ...
    ("giga", "vgn-pile-authors.pt", "VGN"),  # ... and the reverse
    ("giga", "igd-packed.pt", "igd"),  # an IGD checkpoint given to GIGA
])
@pytest.mark.parametrize("renamed", [False, True], ids=["released-file", "renamed-copy"])
def test_weights_of_another_planner_are_one_line(tmp_path, capsys, planner, weights_file, message, renamed):
    """Under its released file name the table catches it; under another name the file's own contents do."""
    weights = ROOT / "weights" / weights_file
    if renamed:
        copy = tmp_path / "mine.pt"
        copy.write_bytes(weights.read_bytes())
        weights = copy
    code = main(["bench", "--planner", planner, "--weights", str(weights), "--objects", "blocks", "--rounds", "1",
                 "--workers", "1", "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not (tmp_path / "out").exists()
    assert err.startswith("igd: error:") and "\n" not in err and f"--planner {message.lower()}" in err.lower()


def test_weights_of_another_planner_message(tmp_path, capsys):
    copy = tmp_path / "mine.pt"
    copy.write_bytes((ROOT / "weights" / "giga-pile-authors.pt").read_bytes())
    assert main(["bench", "--planner", "vgn", "--weights", str(copy), "--objects", "blocks",
                 "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("igd: error:") and "\n" not in err and "GIGA" in err and "--planner giga" in err


def test_a_released_name_runs_a_round_of_the_authors_giga(tmp_path):
    """`igd bench --planner giga-packed-authors` loads the authors' file as it is and grasps."""
    import json

    code = main(["bench", "--planner", "giga-packed-authors", "--scene", "packed", "--objects", "blocks",
                 "--rounds", "1", "--seeds", "0", "--noise", "none", "--workers", "1",
                 "--out", str(tmp_path / "out"), "--no-progress"])
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert code == 0 and summary["planner"] == "giga" and summary["attempts"] >= 1 and summary["successes"] >= 1
