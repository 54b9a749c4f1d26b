"""The local implicit decoder: shapes, the zero-initialised residual blocks, the paper's recursion."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from igd.nn import LocalDecoder, ResBlock


def reference_forward(dec: LocalDecoder, p: torch.Tensor, feature: torch.Tensor) -> torch.Tensor:
    """nn/README.md written out: net = fc_p(p); 5×: net += fc_c[n](c); net = ResBlock(net); fc_out(relu(net))."""
    net = dec.fc_p(p)
    for fc_c, block in zip(dec.fc_c, dec.blocks):
        net = net + fc_c(feature)
        net = net + block.fc_1(F.relu(block.fc_0(F.relu(net))))
    return dec.fc_out(F.relu(net))


@pytest.mark.parametrize("out_dim", [1, 4])
def test_local_decoder_shape(out_dim):
    dec = LocalDecoder(out_dim)
    assert dec(torch.rand(2, 9, 3), torch.randn(2, 9, 96)).shape == (2, 9, out_dim)
    assert len(dec.blocks) == 5 and dec.fc_p.out_features == 32 and dec.fc_c[0].in_features == 96


def test_local_decoder_matches_the_recursion():
    torch.manual_seed(0)
    dec = LocalDecoder(3, feature_dim=12, hidden=8, blocks=4)
    for block in dec.blocks:  # leave the zero init so that every block contributes
        torch.nn.init.normal_(block.fc_1.weight)
    p, c = torch.rand(2, 5, 3), torch.randn(2, 5, 12)
    torch.testing.assert_close(dec(p, c), reference_forward(dec, p, c))


def test_resblock_starts_as_identity_plus_bias():
    block = ResBlock(6)
    assert torch.count_nonzero(block.fc_1.weight) == 0
    x = torch.randn(4, 6)
    torch.testing.assert_close(block(x), x + block.fc_1.bias)


def test_local_decoder_learns():
    torch.manual_seed(0)
    dec = LocalDecoder(1, feature_dim=4, hidden=8)
    p, c = torch.rand(1, 16, 3), torch.randn(1, 16, 4)
    target = c[..., :1] * 2.0
    opt = torch.optim.Adam(dec.parameters(), lr=1e-2)
    first = None
    for _ in range(30):
        loss = ((dec(p, c) - target) ** 2).mean()
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.5 * first
    assert all(fc.weight.grad is not None for fc in dec.fc_c)
