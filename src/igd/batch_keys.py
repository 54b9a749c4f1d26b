"""The keys of training batches: one place for every dataset, loss and training loop.

Units are those of the data files: metres, quaternions ``(x, y, z, w)``, world (workspace) frame.
Normalised coordinates (``p / 0.3 - 0.5``) and voxel units are a model's business, not the data's.

Per-grasp batches (:class:`igd.data.datasets.GraspDataset`, batch of B grasps)::

    grid        (B, 1, 40, 40, 40) float32   TSDF grid of the grasp's scene (docs/perception.md)
    pos         (B, 3)             float32   grasp (TCP) position, metres
    quat        (B, 4)             float32   grasp orientation, unit quaternion (x, y, z, w)
    width       (B,)               float32   opening width, metres (0.08 for failures)
    label       (B,)               float32   1 = some yaw succeeded at this point, 0 = none did
    occ_points  (B, P, 3)          float32   occupancy query points, metres
    occ         (B, P)             float32   1 = inside an object, 0 = outside
    certain     (B,)               float32   optional: 1 = a certain negative over the volume (label 0,
                                             any orientation fails: only quality / affordance learn
                                             from it), 0 = a labelled row (igd.data.negatives)

Scene-batched batches (:class:`igd.data.datasets.SceneBatchedGraspDataset`, S scenes × K grasps)::

    grid        (S, 1, 40, 40, 40)
    pos (S, K, 3), quat (S, K, 4), width (S, K), label (S, K), certain (S, K) (optional)
    occ_points  (S, P, 3), occ (S, P)

VGN's loss (:mod:`igd.planners.vgn.loss`) reads ``grid, pos, quat, width, label`` of a per-grasp
batch; :func:`igd.data.datasets.flatten_grasps` turns a scene batch into one.
"""

GRID = "grid"
POS = "pos"
QUAT = "quat"
WIDTH = "width"
LABEL = "label"
OCC_POINTS = "occ_points"
OCC = "occ"
CERTAIN = "certain"

#: Keys of one grasp (per-grasp batches: a leading B; scene batches: leading (S, K)).
GRASP_KEYS = (POS, QUAT, WIDTH, LABEL)
#: Optional keys of one grasp, present only when the dataset adds certain negatives.
OPTIONAL_GRASP_KEYS = (CERTAIN,)
#: Keys of one scene (a leading B or S).
SCENE_KEYS = (GRID, OCC_POINTS, OCC)
ALL_KEYS = (GRID,) + GRASP_KEYS + (OCC_POINTS, OCC)
