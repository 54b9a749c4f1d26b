"""The true objects of a simulated scene (:mod:`igd.viz.simulated`): decimation and posing."""

from __future__ import annotations

import numpy as np

from igd.viz.simulated import SceneObject, decimate, scene_objects


def sphere(subdivisions: int = 5):
    import trimesh

    mesh = trimesh.creation.icosphere(subdivisions=subdivisions, radius=0.03)
    return np.asarray(mesh.vertices), np.asarray(mesh.faces)


def test_small_mesh_is_kept():
    v, f = sphere(1)
    dv, df = decimate(v, f, max_faces=len(f))
    assert dv.dtype == np.float32 and df.dtype == np.int32
    np.testing.assert_allclose(dv, v, atol=1e-7) and np.testing.assert_array_equal(df, f)


def test_decimate_fits_and_keeps_the_shape():
    v, f = sphere(5)  # 20 480 faces
    dv, df = decimate(v, f, max_faces=2000)
    assert 200 < len(df) <= 2000 and df.max() < len(dv) and len(np.unique(df)) == len(dv)
    assert np.all(df[:, 0] != df[:, 1]) and np.all(df[:, 1] != df[:, 2]) and np.all(df[:, 0] != df[:, 2])
    np.testing.assert_allclose(np.linalg.norm(dv, axis=1), 0.03, atol=0.002)  # still the sphere
    tri = dv[df]
    outward = np.einsum("ij,ij->i", np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), tri.mean(axis=1))
    assert (outward > 0).mean() > 0.98  # orientation kept


class FakeSim:
    """What :func:`scene_objects` reads of a simulation: ``mesh_pose_list``."""

    def __init__(self, items):
        self.items = items

    def mesh_pose_list(self):
        return self.items


def test_scene_objects_are_scaled_and_posed(tmp_path):
    import trimesh

    from igd.sim.objects import ObjectAsset

    path = tmp_path / "mesh.obj"
    trimesh.creation.box(extents=(0.02, 0.04, 0.06)).export(path)
    asset = ObjectAsset(name="gen/box", urdf=path, mesh=path, mass=0.1, extents=(0.02, 0.04, 0.06))
    pose = np.eye(4)
    pose[:3, :3] = [[0, -1, 0], [1, 0, 0], [0, 0, 1]]  # 90 degrees about z
    pose[:3, 3] = [0.1, 0.2, 0.08]
    (obj,) = scene_objects(FakeSim([(asset, 0.5, pose)]))
    assert isinstance(obj, SceneObject) and obj.name == "gen/box" and len(obj.faces) == 12
    np.testing.assert_allclose(obj.vertices.min(axis=0), [0.09, 0.195, 0.065], atol=1e-6)
    np.testing.assert_allclose(obj.vertices.max(axis=0), [0.11, 0.205, 0.095], atol=1e-6)

