"""igd: 6-DoF grasp detection in clutter from a single depth image.

The API: :func:`load` gives a detector whose ``detect`` returns world-frame grasps; :mod:`igd.inputs`
reads (and writes) the files of ``igd detect``: ``read_depth``, ``read_intrinsics``, ``read_extrinsic``,
``read_workspace``, ``write_example``, ``write_grasps`` (README, docs/frames.md).

Importing ``igd`` is cheap: it does not import pybullet, ray or torch. Sub-packages pull in what they need.
"""

__version__ = "0.1.0"


def load(name_or_path, planner=None, **overrides):
    """A grasp detector for a released name (``vgn``, ``igd-packed``, ...) or a checkpoint path.

    ``detector.detect(depth, intrinsics, T_cam_world, workspace, top=10)`` returns grasps in the
    world frame, best first; see :func:`igd.api.load` and docs/frames.md. Imports torch only now.
    """
    from igd.api import load as _load

    return _load(name_or_path, planner=planner, **overrides)
