"""Depth images in a request (:mod:`igd.serve.codec`): exact round trips, and one line for a bad one."""

import base64

import numpy as np
import pytest

from igd.errors import IGDError
from igd.serve.codec import decode_depth, encode_depth


def test_float_metres_round_trip_exactly():
    depth = np.random.default_rng(0).uniform(0.2, 1.5, (4, 6)).astype(np.float32)
    depth[0, 0] = 0.0
    payload = encode_depth(depth)
    assert payload["encoding"] == "32FC1" and payload["depth_scale"] is None
    np.testing.assert_array_equal(decode_depth(payload["encoding"], payload["data"], 4, 6), depth)


def test_uint16_millimetres_are_scaled_as_igd_detect_reads_a_png():
    counts = np.array([[0, 500, 1234], [65535, 1, 700]], dtype=np.uint16)
    payload = encode_depth(counts)
    assert payload["encoding"] == "16UC1"
    decoded = decode_depth(payload["encoding"], payload["data"], 2, 3)
    np.testing.assert_array_equal(decoded, (counts.astype(np.float64) * 0.001).astype(np.float32))
    np.testing.assert_array_equal(decode_depth("16UC1", payload["data"], 2, 3, depth_scale=0.0001),
                                  (counts.astype(np.float64) * 0.0001).astype(np.float32))


def test_big_endian_and_float64_are_sent_little_endian_float32():
    depth = np.array([[0.5, 0.75]], dtype=">f8")
    payload = encode_depth(depth)
    assert base64.b64decode(payload["data"]) == np.array([[0.5, 0.75]], dtype="<f4").tobytes()


@pytest.mark.parametrize("args, expected", [
    (("16UC1", "%%%", 2, 3), "not valid base64"),
    (("32FC1", base64.b64encode(b"\0" * 8).decode(), 2, 3), "holds 8 bytes"),
    (("8UC1", "", 2, 3), "depth.encoding must be one of"),
    (("32FC1", "", 0, 0, float("nan")), "depth_scale must be a positive number"),
])
def test_bad_payloads_are_one_line(args, expected):
    with pytest.raises(IGDError, match=expected) as e:
        decode_depth(*args)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("depth", [np.zeros((2, 2, 2), np.float32), np.zeros((2, 2), np.int32)])
def test_encode_rejects_what_is_not_one_depth_image(depth):
    with pytest.raises(IGDError, match="depth"):
        encode_depth(depth)
