"""Every config: built from a dict through :func:`igd.configs.config_from_dict`, so an unknown key is one
line naming the config, the key and the valid fields; the planners' shared fields
(:mod:`igd.planners.common.config`) are checked with messages naming the field and the allowed values."""

from __future__ import annotations

import dataclasses
import json

import pytest

from igd.bench.config import BenchConfig
from igd.configs import config_from_dict
from igd.data.generate import GenerateConfig
from igd.data.process import ProcessConfig
from igd.errors import IGDError
from igd.planners.base import build_config
from igd.planners.baselines import TopDownConfig
from igd.planners.common.config import ImplicitConfig, PlannerConfig
from igd.planners.giga import GIGAConfig
from igd.planners.igd import IGDConfig
from igd.planners.postprocess import PostprocessConfig
from igd.planners.vgn import VGNConfig
from igd.train.config import TrainConfig

PLANNER_CONFIGS = (VGNConfig, GIGAConfig, IGDConfig, TopDownConfig)


def _run_configs(tmp_path) -> dict:
    """Each non-planner config's class, a valid dict of it, and how it is read from a dict."""
    return {
        "PostprocessConfig": ({}, lambda d: PostprocessConfig.preset("vgn", **d)),
        "GenerateConfig": ({"out": str(tmp_path / "raw"), "workers": 1}, GenerateConfig.from_dict),
        "ProcessConfig": ({"raw": str(tmp_path / "raw"), "out": str(tmp_path / "out")}, ProcessConfig.from_dict),
        "BenchConfig": ({"planner": "vgn", "out": str(tmp_path / "run"), "workers": 1}, BenchConfig.from_dict),
        "TrainConfig": ({"data": [str(tmp_path / "p")], "out": str(tmp_path / "run")}, TrainConfig.from_dict),
    }


def _reader(name: str, tmp_path):
    """``(valid values, read)`` of the config called ``name``: planners through ``build_config`` (checkpoints,
    ``--set``), the others through their own entry point."""
    planners = {cls.__name__: cls for cls in PLANNER_CONFIGS}
    if name in planners:
        return {}, lambda d: build_config(planners[name], d)
    return _run_configs(tmp_path)[name]


ALL_CONFIGS = [cls.__name__ for cls in PLANNER_CONFIGS] + [
    "PostprocessConfig", "GenerateConfig", "ProcessConfig", "BenchConfig", "TrainConfig"]


def _one_line(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------------------------------
# unknown keys, wherever a config is read from a dict
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL_CONFIGS)
def test_an_unknown_key_is_one_line_naming_it_and_the_valid_fields(name, tmp_path):
    values, read = _reader(name, tmp_path)
    config = read(values)
    assert type(config).__name__ == name
    with pytest.raises(IGDError) as excinfo:
        read({**values, "no_such_key": 1, "another_one": 2})
    message = _one_line(excinfo)
    valid = sorted(f.name for f in dataclasses.fields(config))
    assert message == f"{name}: unknown field(s) ['another_one', 'no_such_key']; valid fields: {valid}"


@pytest.mark.parametrize("name", ALL_CONFIGS)
def test_a_config_round_trips_through_json(name, tmp_path):
    values, read = _reader(name, tmp_path)
    config = read(values)
    again = config_from_dict(type(config), json.loads(json.dumps(dataclasses.asdict(config))))
    assert again == config


def test_stored_run_files_with_their_derived_values_are_read(tmp_path):
    """``config.json`` and ``.generate.json`` store identity values beside the fields: they are no unknown keys."""
    bench = BenchConfig("topdown", objects="blocks", out=str(tmp_path / "run"), workers=1)
    assert BenchConfig.from_dict({**bench.to_dict(), **bench.identity()}) == bench
    generate = GenerateConfig(out=str(tmp_path / "raw"), workers=1)
    assert GenerateConfig.from_dict({**generate.to_dict(), **generate.identity()}) == generate
    with pytest.raises(IGDError, match=r"BenchConfig: unknown field\(s\) \['format'\]"):
        BenchConfig.from_dict({**bench.to_dict(), "format": "x"})


def test_a_config_that_is_not_a_dict_is_one_line():
    with pytest.raises(IGDError) as excinfo:
        config_from_dict(VGNConfig, ["threshold", 0.5])
    assert _one_line(excinfo) == "VGNConfig: expected a dict of fields, got list"


# --------------------------------------------------------------------------------------------------
# the planners' shared fields
# --------------------------------------------------------------------------------------------------
DEVICES = "'cpu', 'cuda', 'cuda:N' or 'mps'"
SHARED_BAD = [  # field, bad value, the message after "<Config>."
    ("threshold", 1.5, "threshold must be a number in [0, 1], got 1.5"),
    ("threshold", "0.5", "threshold must be a number in [0, 1], got '0.5'"),
    ("threshold", True, "threshold must be a number in [0, 1], got True"),
    ("force", "yes", "force must be a bool, got 'yes'"),
    ("device", "gpu", f"device must be {DEVICES}, got 'gpu'"),
    ("device", 0, f"device must be {DEVICES}, got 0"),
]
IMPLICIT_BAD = [
    ("chunk_size", 0, "chunk_size must be an int in [1, 64000], got 0"),
    ("chunk_size", True, "chunk_size must be an int in [1, 64000], got True"),
    ("precision", "float16", "precision must be one of ['float32', 'bfloat16'], got 'float16'"),
    ("plane_mapping", "giga", "plane_mapping must be one of ['ours', 'reference'], got 'giga'"),
    ("width_unit", "voxel", "width_unit must be one of ['workspace'], got 'voxel'"),
]


def _shared_cases():
    for cls in (VGNConfig, GIGAConfig, IGDConfig):
        for field, value, message in SHARED_BAD:
            if cls is VGNConfig and field == "threshold":
                message = message.replace("a number", "None or a number")
            yield pytest.param(cls, field, value, message, id=f"{cls.__name__}-{field}-{value!r}")
        if issubclass(cls, ImplicitConfig):
            for field, value, message in IMPLICIT_BAD:
                yield pytest.param(cls, field, value, message, id=f"{cls.__name__}-{field}-{value!r}")


@pytest.mark.parametrize("cls, field, value, message", list(_shared_cases()))
def test_each_shared_field_is_checked_with_a_message_naming_it(cls, field, value, message):
    with pytest.raises(IGDError) as excinfo:
        cls(**{field: value})
    assert _one_line(excinfo) == f"{cls.__name__}.{message}"


def test_the_shared_fields_are_declared_once():
    shared = {f.name for f in dataclasses.fields(PlannerConfig)}
    implicit = {f.name for f in dataclasses.fields(ImplicitConfig)} - shared
    assert shared == {"threshold", "force", "device"}
    assert implicit == {"chunk_size", "precision", "plane_mapping", "width_unit"}
    for cls in (VGNConfig, GIGAConfig, IGDConfig):
        assert issubclass(cls, PlannerConfig)
        assert (shared | (implicit if issubclass(cls, ImplicitConfig) else set())) <= {
            f.name for f in dataclasses.fields(cls)}
    assert not issubclass(VGNConfig, ImplicitConfig)


def test_only_vgn_threshold_may_be_none():
    assert VGNConfig(threshold=None).postprocess().threshold == 0.5  # the 'giga' protocol's
    assert VGNConfig(protocol="vgn").postprocess().threshold == 0.9
    assert VGNConfig(protocol="vgn", threshold=0.7).postprocess().threshold == 0.7
    for cls in (GIGAConfig, IGDConfig):
        with pytest.raises(IGDError, match=rf"{cls.__name__}.threshold must be a number in \[0, 1\], got None"):
            cls(threshold=None)


@pytest.mark.parametrize("cls", [GIGAConfig, IGDConfig])
def test_postprocess_is_the_giga_preset_with_threshold_and_force(cls):
    assert cls(threshold=0.7, force=True).postprocess() == PostprocessConfig.preset("giga", threshold=0.7, force=True)


# --------------------------------------------------------------------------------------------------
# IGD's loss reads its settings from the config
# --------------------------------------------------------------------------------------------------
def test_the_loss_settings_are_a_copy_of_the_config():
    pytest.importorskip("torch")
    from igd.planners.igd.loss import LossSettings

    config = IGDConfig(neg_rounds=3, jitter=0, focal_alpha=1, focal_gamma=3, renoise_tries=5)
    settings = config.model_kwargs()["loss_settings"]
    assert isinstance(settings, LossSettings) and settings is not config
    assert (settings.neg_rounds, settings.jitter, settings.focal_alpha, settings.focal_gamma,
            settings.renoise_tries) == (3, 0.0, 1.0, 3.0, 5)
    assert all(isinstance(v, float) for v in (settings.jitter, settings.focal_alpha, settings.focal_gamma))
    assert settings.num_negatives == 16 + 8 * 3 and LossSettings().num_negatives == 96
