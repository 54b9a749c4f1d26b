"""The numbers of igd evaluate (igd.eval.metrics) against brute force and known rotations."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from igd.errors import IGDError
from igd.eval import metrics


def brute_auc(scores, labels):
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = (pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()
    return wins / (len(pos) * len(neg))


def test_roc_auc_is_the_pairwise_probability_with_ties():
    rng = np.random.default_rng(0)
    scores = np.round(rng.random(300), 1)  # many ties
    labels = (rng.random(300) < 0.3).astype(int)
    assert metrics.roc_auc(scores, labels) == pytest.approx(brute_auc(scores, labels), abs=1e-12)
    assert metrics.roc_auc([0.1, 0.2, 0.9], [0, 0, 1]) == 1.0
    assert metrics.roc_auc([0.9, 0.2, 0.1], [0, 0, 1]) == 0.0
    assert metrics.roc_auc([0.3, 0.4], [1, 1]) is None  # one class: undefined


def test_accuracy_and_bad_labels():
    assert metrics.accuracy([0.2, 0.6, 0.5, 0.1], [0, 1, 0, 0], threshold=0.5) == 0.75
    assert metrics.accuracy([], []) is None
    with pytest.raises(IGDError, match="0 or 1"):
        metrics.accuracy([0.2], [2])
    with pytest.raises(IGDError, match="same length"):
        metrics.roc_auc([0.2, 0.3], [1])


def test_rotation_error_is_pi_symmetric_about_the_approach_axis():
    rng = np.random.default_rng(1)
    r = Rotation.random(50, random_state=rng)
    labelled = r.as_quat()
    turned = (r * Rotation.from_euler("z", np.pi)).as_quat()  # the same parallel-jaw grasp
    assert np.allclose(metrics.rotation_error_deg(turned, labelled), 0.0, atol=1e-6)
    assert np.allclose(metrics.rotation_error_deg(-labelled, labelled), 0.0, atol=1e-6)  # q and -q
    tilted = (r * Rotation.from_euler("x", 30, degrees=True)).as_quat()
    assert np.allclose(metrics.rotation_error_deg(tilted, labelled), 30.0, atol=1e-6)
    yawed = (r * Rotation.from_euler("z", 150, degrees=True)).as_quat()  # 150 deg = 30 deg from the twin
    assert np.allclose(metrics.rotation_error_deg(yawed, labelled), 30.0, atol=1e-6)
    with pytest.raises(IGDError, match=r"\(N, 4\)"):
        metrics.rotation_error_deg(np.zeros((3, 3)), labelled[:3])


def test_quantiles():
    q = metrics.quantiles(np.arange(101))
    assert q == {"mean": 50.0, "p50": 50.0, "p90": 90.0, "p99": 99.0}
    assert metrics.quantiles([])["mean"] is None
