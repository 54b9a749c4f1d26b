"""The tri-plane encoder and the sampling of its planes: shapes, both plane mappings, bilinear reads.

The reference mapping is checked against ConvONet's ``normalize_coordinate``, ``coordinate2index`` /
``scatter_mean`` and ``sample_plane_feature``, written out below as GIGA's code calls them.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from igd.constants import RESOLUTION, SIZE, VOXEL_SIZE
from igd.errors import IGDError
from igd.nn import (
                    PLANE_AXES,
                    PLANES,
                    TriplaneEncoder,
                    UNet2D,
                    normalise,
                    pool_planes,
                    reference_cells,
                    sample_planes,
)


def voxel_centre(i: int, j: int, k: int) -> torch.Tensor:
    """Normalised coordinates (1, 1, 3) of the centre of voxel (i, j, k)."""
    return torch.tensor([[[(i + 0.5) / RESOLUTION - 0.5, (j + 0.5) / RESOLUTION - 0.5, (k + 0.5) / RESOLUTION - 0.5]]])


@pytest.fixture(scope="module")
def encoder() -> TriplaneEncoder:
    torch.manual_seed(0)
    return TriplaneEncoder().eval()


@pytest.mark.parametrize("shape", [(2, 40, 40, 40), (2, 1, 40, 40, 40)])
def test_encoder_output_shape(encoder, shape):
    with torch.no_grad():
        planes = encoder(torch.rand(shape))
    assert planes.shape == (2, 3, 32, 40, 40)
    assert encoder.feature_dim == 96


@pytest.mark.parametrize("shape", [(2, 40, 40, 39), (2, 2, 40, 40, 40), (40, 40, 40), (1, 1, 20, 20, 20)])
def test_encoder_rejects_wrong_grids(encoder, shape):
    with pytest.raises(IGDError, match=r"\(B, 40, 40, 40\)"):
        encoder(torch.rand(shape))


def test_encoder_items_are_independent(encoder):
    grids = torch.rand(3, 1, 40, 40, 40)
    with torch.no_grad():
        together = encoder(grids)
        alone = encoder(grids[1:2])
    torch.testing.assert_close(together[1:2], alone, rtol=1e-5, atol=1e-5)


def test_sample_planes_shape_and_order():
    planes = torch.zeros(2, 3, 4, 40, 40)
    for n in range(3):
        planes[:, n] = n + 1.0  # constant planes: xz = 1, xy = 2, yz = 3
    feature = sample_planes(planes, torch.rand(2, 7, 3) - 0.5)
    assert feature.shape == (2, 7, 12)
    expected = torch.tensor([1.0] * 4 + [2.0] * 4 + [3.0] * 4)
    torch.testing.assert_close(feature, expected.expand(2, 7, 12))
    assert PLANES == ("xz", "xy", "yz")


@pytest.mark.parametrize("index", [(0, 0, 0), (3, 17, 29), (39, 5, 12), (39, 39, 39)])
def test_pooling_and_sampling_agree_at_voxel_centres(index):
    """The feature read at a voxel centre is exactly the one pooled from that voxel's column (one mapping)."""
    torch.manual_seed(1)
    features = torch.randn(1, 5, 40, 40, 40)
    read = sample_planes(pool_planes(features), voxel_centre(*index))[0, 0].reshape(3, 5)
    i, j, k = index
    torch.testing.assert_close(read[0], features[0, :, i, :, k].mean(-1))  # xz: mean over y
    torch.testing.assert_close(read[1], features[0, :, i, j, :].mean(-1))  # xy: mean over z
    torch.testing.assert_close(read[2], features[0, :, :, j, k].mean(-1))  # yz: mean over x


def test_plane_axes_are_documented_mapping():
    assert PLANE_AXES == {"xz": (0, 2), "xy": (0, 1), "yz": (1, 2)}
    features = torch.zeros(1, 1, 40, 40, 40)
    features[0, 0, 7, :, :] = 1.0  # the slab x = voxel 7
    planes = pool_planes(features)[0, :, 0]  # (3, 40, 40), each [v, u]
    assert torch.all(planes[0][:, 7] == 1) and planes[0].sum() == 40  # xz: u = x is the column
    assert torch.all(planes[1][:, 7] == 1) and planes[1].sum() == 40  # xy: u = x is the column
    assert torch.allclose(planes[2], torch.full((40, 40), 1 / 40))  # yz: mean over x


def test_bilinear_between_voxel_centres():
    torch.manual_seed(2)
    planes = torch.randn(1, 3, 2, 40, 40)
    a, b = voxel_centre(10, 20, 30), voxel_centre(11, 20, 30)
    mid = (a + b) / 2  # half a voxel further along x
    torch.testing.assert_close(sample_planes(planes, mid), (sample_planes(planes, a) + sample_planes(planes, b)) / 2)


def test_points_outside_read_the_border():
    planes = torch.randn(1, 3, 2, 40, 40)
    inside = voxel_centre(0, 39, 0)
    outside = inside + torch.tensor([-0.2, 0.3, -0.1])
    torch.testing.assert_close(sample_planes(planes, outside), sample_planes(planes, inside))


def test_sampling_is_differentiable_in_points_and_planes():
    planes = torch.randn(1, 3, 2, 40, 40, requires_grad=True)
    p = (torch.rand(1, 5, 3) - 0.5).requires_grad_()
    sample_planes(planes, p).sum().backward()
    assert planes.grad.abs().sum() > 0 and p.grad.abs().sum() > 0


def test_sample_planes_checks_points():
    with pytest.raises(ValueError, match=r"\(B=2, N, 3\)"):
        sample_planes(torch.zeros(2, 3, 1, 40, 40), torch.zeros(1, 4, 3))


def test_normalise():
    p = torch.tensor([0.0, SIZE / 2, SIZE])
    torch.testing.assert_close(normalise(p), torch.tensor([-0.5, 0.0, 0.5]))
    assert abs(float(normalise(torch.tensor(VOXEL_SIZE)) + 0.5) - 1 / 40) < 1e-7


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_unet_shapes(depth):
    unet = UNet2D(in_channels=6, out_channels=5, depth=depth, start_filters=4)
    assert unet(torch.randn(2, 6, 40, 40)).shape == (2, 5, 40, 40)
    assert len(unet.down) == depth and len(unet.up) == depth - 1


def test_unet_is_giga_sized():
    """Depth 3, 32 filters: 32 → 64 → 128 down, transposed convolutions up, concatenated skips."""
    unet = UNet2D(32, 32, depth=3, start_filters=32)
    assert [d.conv1.out_channels for d in unet.down] == [32, 64, 128]
    assert [(u.upconv.in_channels, u.upconv.out_channels, u.conv1.in_channels) for u in unet.up] == \
        [(128, 64, 128), (64, 32, 64)]
    assert isinstance(unet.up[0].upconv, torch.nn.ConvTranspose2d)
    assert unet.conv_final.kernel_size == (1, 1)


def test_unet_rejects_indivisible_planes():
    with pytest.raises(ValueError, match="divisible by 4"):
        UNet2D(1, 1, depth=3, start_filters=2)(torch.zeros(1, 1, 42, 42))


# --------------------------------------------------------------------------------------------------
# the reference's plane mapping (GIGA's code), written out here from ConvONet's functions
# --------------------------------------------------------------------------------------------------
def convonet_normalize_coordinate(p: torch.Tensor, plane: str, padding: float = 0.0) -> torch.Tensor:
    """ConvONet's ``normalize_coordinate``, as GIGA calls it (padding 0): ``p (B, N, 3)`` → ``(B, N, 2)`` in [0, 1)."""
    xy = p[:, :, {"xz": [0, 2], "xy": [0, 1], "yz": [1, 2]}[plane]]
    xy_new = xy / (1 + padding + 10e-6) + 0.5
    if xy_new.max() >= 1:
        xy_new[xy_new >= 1] = 1 - 10e-6
    if xy_new.min() < 0:
        xy_new[xy_new < 0] = 0.0
    return xy_new


def convonet_pool(features: torch.Tensor) -> torch.Tensor:
    """GIGA's ``LocalVoxelEncoder`` pooling: voxels at ``linspace(−0.5, 0.5, R)``, ``scatter_mean`` into cells."""
    b, c, r = features.shape[:3]
    line = torch.linspace(-0.5, 0.5, r)
    p = torch.stack(torch.meshgrid(line, line, line, indexing="ij"), dim=-1).reshape(1, -1, 3).expand(b, -1, -1)
    flat = features.reshape(b, c, -1)
    planes = []
    for plane in PLANES:
        xy = (convonet_normalize_coordinate(p.clone(), plane) * r).long()
        index = xy[:, :, 0] + r * xy[:, :, 1]  # coordinate2index
        total = torch.zeros(b, c, r * r).index_add_(2, index[0], flat)
        count = torch.zeros(r * r).index_add_(0, index[0], torch.ones(index.shape[1]))
        planes.append((total / count.clamp(min=1)).reshape(b, c, r, r))
    return torch.stack(planes, dim=1)


def convonet_sample(planes: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """GIGA's ``LocalDecoder.sample_plane_feature`` per plane, concatenated: ``(B, N, 3C)``."""
    feats = []
    for n, plane in enumerate(PLANES):
        vgrid = 2.0 * convonet_normalize_coordinate(p.clone(), plane)[:, :, None].float() - 1.0
        feats.append(F.grid_sample(planes[:, n], vgrid, padding_mode="border", align_corners=True,
                                   mode="bilinear").squeeze(-1))
    return torch.cat(feats, dim=1).transpose(1, 2)


def test_reference_cells_are_the_voxel_indices():
    assert torch.equal(reference_cells(RESOLUTION), torch.arange(RESOLUTION))
    assert torch.equal(reference_cells(7), torch.arange(7))


def test_reference_pooling_is_convonets_scatter_mean():
    torch.manual_seed(3)
    features = torch.randn(2, 4, 40, 40, 40)
    ours = pool_planes(features, "reference")
    torch.testing.assert_close(ours, convonet_pool(features))
    torch.testing.assert_close(ours, pool_planes(features, "ours"))  # at 40 cells both pool voxel i into cell i


def test_reference_sampling_is_convonets():
    torch.manual_seed(4)
    planes = torch.randn(2, 3, 5, 40, 40)
    p = torch.rand(2, 300, 3) * 1.2 - 0.6  # some outside the workspace: the clamps matter
    p[0, 0] = torch.tensor([0.5, -0.5, 0.49999])  # on the faces
    torch.testing.assert_close(sample_planes(planes, p, "reference"), convonet_sample(planes, p))


def test_where_the_two_mappings_read():
    """On a plane holding its column index, a point at m metres reads cell 40·m/0.3 − 0.5 ("ours") or
    39·m/0.3 ("reference"): equal at the centre, half a cell apart at the faces (module docstring)."""
    column = torch.arange(40.0).expand(40, 40)  # plane[v, u] = u
    planes = column.expand(1, 3, 1, 40, 40).contiguous()
    m = torch.tensor([0.0075 * 0.5, 0.15, 0.3 - 0.0075 * 0.5, 0.0, 0.3])
    p = torch.stack([normalise(m)] * 3, dim=-1)[None]  # (1, 5, 3): x = y = z = m
    ours = sample_planes(planes, p, "ours")[0, :, 0]  # the xz plane's u = x
    reference = sample_planes(planes, p, "reference")[0, :, 0]
    torch.testing.assert_close(ours, (40 * m / SIZE - 0.5).clamp(0, 39), atol=1e-4, rtol=0)
    torch.testing.assert_close(reference, 39 * m / SIZE, atol=1e-3, rtol=0)
    # the gap is m/0.3 − 0.5 cells: none at the centre, 0.4875 at the last voxel's centre
    assert abs(float(ours[1] - reference[1])) < 1e-4 and abs(float(ours[2] - reference[2]) - 0.4875) < 1e-3


def test_reference_mapping_reads_voxels_at_their_reference_positions():
    """Under "reference" the voxel at linspace(−0.5, 0.5, 40)[i] reads what was pooled from it (cell i, up to
    the 10⁻⁵ of ``normalize_coordinate``: a few 10⁻⁴ of a cell)."""
    torch.manual_seed(5)
    features = torch.randn(1, 3, 40, 40, 40)
    line = torch.linspace(-0.5, 0.5, 40)
    i, j, k = 2, 21, 38
    read = sample_planes(pool_planes(features, "reference"), torch.stack([line[i], line[j], line[k]])[None, None],
                         "reference")[0, 0].reshape(3, 3)
    torch.testing.assert_close(read[0], features[0, :, i, :, k].mean(-1), atol=2e-3, rtol=0)
    torch.testing.assert_close(read[1], features[0, :, i, j, :].mean(-1), atol=2e-3, rtol=0)
    torch.testing.assert_close(read[2], features[0, :, :, j, k].mean(-1), atol=2e-3, rtol=0)


def test_the_encoder_pools_and_samples_with_its_mapping():
    torch.manual_seed(6)
    encoder = TriplaneEncoder(features=4, unet_filters=4, plane_mapping="reference").eval()
    p = torch.rand(1, 20, 3) - 0.5
    with torch.no_grad():
        planes = encoder(torch.rand(1, 40, 40, 40))
    torch.testing.assert_close(encoder.sample(planes, p), sample_planes(planes, p, "reference"))
    assert not torch.allclose(encoder.sample(planes, p), sample_planes(planes, p, "ours"))


@pytest.mark.parametrize("call", [lambda: TriplaneEncoder(plane_mapping="giga"),
                                  lambda: sample_planes(torch.zeros(1, 3, 1, 40, 40), torch.zeros(1, 1, 3), "giga"),
                                  lambda: pool_planes(torch.zeros(1, 1, 40, 40, 40), "giga")])
def test_unknown_mappings_are_refused(call):
    with pytest.raises(IGDError, match=r"plane_mapping must be one of \['ours', 'reference'\], got 'giga'"):
        call()
