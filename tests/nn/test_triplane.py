"""The tri-plane encoder and the sampling of its planes: shapes, the one plane mapping, bilinear reads."""

from __future__ import annotations

import pytest
import torch

from igd.constants import RESOLUTION, SIZE, VOXEL_SIZE
from igd.errors import IGDError
from igd.nn import PLANE_AXES, PLANES, TriplaneEncoder, UNet2D, normalise, pool_planes, sample_planes


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
