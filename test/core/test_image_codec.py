# Copyright 2026 The grasp_classifier_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
#
# SPDX-License-Identifier: Apache-2.0
"""Exact behaviour of image_codec: every encoding, layouts, containers, errors, compression."""

from __future__ import annotations

from array import array
import dataclasses
import tracemalloc

import cv2
from grasp_classifier_ros.core import image_codec
from grasp_classifier_ros.core.errors import ImageConversionError
from grasp_classifier_ros.core.image_codec import (
    decode_compressed,
    decode_image,
    DEFAULT_MAX_PIXELS,
    SUPPORTED_ENCODINGS,
    SUPPORTED_FORMATS,
    to_color_order,
)
import msg_factory as mf
from msg_factory import compressed_to_array, image_to_array
import numpy as np
import pytest

# cv_bridge's table (cv_bridge.cpp getConversionCodes): OpenCV names the Bayer
# pattern after the second row, hence rggb -> BayerBG.
CV_BRIDGE_CODES = {
    'bayer_rggb8': cv2.COLOR_BayerBG2BGR,
    'bayer_bggr8': cv2.COLOR_BayerRG2BGR,
    'bayer_gbrg8': cv2.COLOR_BayerGR2BGR,
    'bayer_grbg8': cv2.COLOR_BayerGB2BGR,
    'yuv422': cv2.COLOR_YUV2BGR_UYVY,
    'uyvy': cv2.COLOR_YUV2BGR_UYVY,
    'yuv422_yuy2': cv2.COLOR_YUV2BGR_YUYV,
    'yuyv': cv2.COLOR_YUV2BGR_YUYV,
}
COLOR_ENCODINGS = ('rgb8', 'bgr8', 'rgba8', 'bgra8')
BYTES_PER_PIXEL = {
    **dict.fromkeys(COLOR_ENCODINGS[:2], 3),
    **dict.fromkeys(COLOR_ENCODINGS[2:], 4),
    'mono8': 1,
    'mono16': 2,
    **dict.fromkeys(mf.BAYER_PATTERNS, 1),
    **dict.fromkeys(mf.YUV422_LAYOUTS, 2),
}


def random_rgb(height: int = 6, width: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def pixels_for(encoding: str, height: int = 6, width: int = 8, seed: int = 0) -> np.ndarray:
    """Return source pixels of the kind ``mf.encode_pixels`` expects for ``encoding``."""
    rng = np.random.default_rng(seed)
    if encoding == 'mono8':
        return rng.integers(0, 256, (height, width), dtype=np.uint8)
    if encoding == 'mono16':
        return rng.integers(0, 65536, (height, width), dtype=np.uint16)
    return random_rgb(height, width, seed)


def expected_rgb(encoding: str, pixels: np.ndarray) -> np.ndarray:
    """Compute the decoded RGB image independently of image_codec."""
    if encoding in COLOR_ENCODINGS:
        return pixels
    if encoding == 'mono8':
        return np.repeat(pixels[..., None], 3, axis=2)
    if encoding == 'mono16':
        gray = np.rint(pixels.astype(np.float64) * 255 / 65535).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    raw = np.frombuffer(mf.encode_pixels(pixels, encoding), np.uint8)
    height, width = pixels.shape[:2]
    src = (
        raw.reshape(height, width, 2) if encoding in mf.YUV422_LAYOUTS else raw.reshape(height, -1)
    )
    return cv2.cvtColor(src, CV_BRIDGE_CODES[encoding])[..., ::-1]


def test_supported_sets() -> None:
    assert SUPPORTED_ENCODINGS == set(BYTES_PER_PIXEL)
    assert SUPPORTED_FORMATS == {'jpeg', 'png'}
    assert DEFAULT_MAX_PIXELS == 4096 * 4096


@pytest.mark.parametrize('encoding', sorted(SUPPORTED_ENCODINGS))
def test_every_encoding_decodes_exactly(encoding: str) -> None:
    pixels = pixels_for(encoding)
    img = decode_image(mf.make_image(pixels, encoding))
    assert img.pixels.shape == (6, 8, 3) and img.pixels.dtype == np.uint8
    assert (img.height, img.width) == (6, 8)
    np.testing.assert_array_equal(to_color_order(img, 'rgb'), expected_rgb(encoding, pixels))


@pytest.mark.parametrize(
    ('encoding', 'order'),
    [('rgb8', 'rgb'), ('bgr8', 'bgr'), ('rgba8', 'rgb'), ('bgra8', 'bgr')],
)
def test_color_encodings_keep_their_channel_order(encoding: str, order: str) -> None:
    pixels = random_rgb()
    img = decode_image(mf.make_image(pixels, encoding, alpha=7))
    assert img.order == order
    np.testing.assert_array_equal(to_color_order(img, 'rgb'), pixels)
    np.testing.assert_array_equal(to_color_order(img, 'bgr'), pixels[..., ::-1])


def test_mono16_scaling_matches_cv_bridge_rounding() -> None:
    values = np.array([[0, 128, 129, 255, 385, 386, 0x8080, 65535]], dtype=np.uint16)
    out = image_to_array(mf.make_image(values, 'mono16'))
    # round(v * 255 / 65535): 128 -> 0, 129 -> 1, 385 -> 1, 386 -> 2.
    np.testing.assert_array_equal(out[0, :, 0], [0, 0, 1, 1, 1, 2, 128, 255])
    assert (out == out[..., :1]).all()


@pytest.mark.parametrize('is_bigendian', [0, 1])
@pytest.mark.parametrize('extra', [0, 1, 2])
def test_mono16_every_value(is_bigendian: int, extra: int) -> None:
    values = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    msg = mf.make_image(values, 'mono16', is_bigendian=is_bigendian, step=512 + extra)
    expected = np.rint(values.astype(np.float64) * 255 / 65535).astype(np.uint8)
    out = image_to_array(msg)
    for channel in range(3):
        np.testing.assert_array_equal(out[..., channel], expected)


@pytest.mark.parametrize('is_bigendian', [0, 1])
def test_mono16_honours_endianness(is_bigendian: int) -> None:
    values = np.array([[0x0100, 0xFF00, 0x00FF, 0x1234]], dtype=np.uint16)
    msg = mf.make_image(values, 'mono16', is_bigendian=is_bigendian)
    assert bytes(msg.data[:2]) == (b'\x01\x00' if is_bigendian else b'\x00\x01')
    np.testing.assert_array_equal(image_to_array(msg)[0, :, 0], [1, 254, 1, 18])


def test_mono16_reads_other_endianness_differently() -> None:
    values = np.array([[0x0100]], dtype=np.uint16)
    msg = mf.make_image(values, 'mono16', is_bigendian=0)
    msg.is_bigendian = 1  # bytes 00 01 read big-endian are 0x0001
    assert image_to_array(msg)[0, 0, 0] == 0


@pytest.mark.parametrize('encoding', sorted(mf.BAYER_PATTERNS))
def test_bayer_mapping_restores_a_flat_colour(encoding: str) -> None:
    # A wrong pattern mapping swaps red and blue or smears green; a flat colour shows it.
    flat = np.empty((8, 10, 3), np.uint8)
    flat[...] = (200, 30, 90)
    out = image_to_array(mf.make_image(flat, encoding))
    np.testing.assert_array_equal(out[2:-2, 2:-2], flat[2:-2, 2:-2])


@pytest.mark.parametrize('encoding', sorted(mf.BAYER_PATTERNS))
def test_bayer_odd_sizes(encoding: str) -> None:
    pixels = random_rgb(7, 9, seed=3)
    out = image_to_array(mf.make_image(pixels, encoding, step=13))
    np.testing.assert_array_equal(out, expected_rgb(encoding, pixels))


@pytest.mark.parametrize('encoding', sorted(mf.YUV422_LAYOUTS))
@pytest.mark.parametrize(
    'colour', [(128, 128, 128), (0, 0, 0), (255, 255, 255), (200, 30, 90), (10, 220, 40)]
)
def test_yuv422_restores_flat_colours(encoding: str, colour: tuple[int, int, int]) -> None:
    flat = np.empty((4, 6, 3), np.uint8)
    flat[...] = colour
    out = image_to_array(mf.make_image(flat, encoding)).astype(int)
    assert np.abs(out - flat).max() <= 2


def test_yuv422_byte_orders_differ() -> None:
    msg = mf.make_image(random_rgb(), 'yuv422')
    uyvy = image_to_array(msg)
    msg.encoding = 'yuv422_yuy2'
    assert not np.array_equal(image_to_array(msg), uyvy)


@pytest.mark.parametrize(('alias', 'name'), [('uyvy', 'yuv422'), ('yuyv', 'yuv422_yuy2')])
def test_yuv_aliases(alias: str, name: str) -> None:
    msg = mf.make_image(random_rgb(), name)
    expected = image_to_array(msg)
    msg.encoding = alias
    np.testing.assert_array_equal(image_to_array(msg), expected)


@pytest.mark.parametrize('encoding', sorted(SUPPORTED_ENCODINGS))
@pytest.mark.parametrize('extra', [1, 7, 64])
def test_step_padding_is_skipped(encoding: str, extra: int) -> None:
    pixels = pixels_for(encoding, seed=extra)
    step = 8 * BYTES_PER_PIXEL[encoding] + extra
    msg = mf.make_image(pixels, encoding, step=step, pad_byte=0xFF)
    assert msg.step == step and len(msg.data) == step * 6
    np.testing.assert_array_equal(image_to_array(msg), expected_rgb(encoding, pixels))


@pytest.mark.parametrize('data_type', mf.DATA_TYPES)
@pytest.mark.parametrize('encoding', ['bgr8', 'rgba8', 'mono16', 'bayer_gbrg8', 'yuv422'])
def test_every_data_container(data_type: str, encoding: str) -> None:
    pixels = pixels_for(encoding, seed=5)
    msg = mf.make_image(
        pixels, encoding, step=8 * BYTES_PER_PIXEL[encoding] + 3, data_type=data_type
    )
    np.testing.assert_array_equal(image_to_array(msg), expected_rgb(encoding, pixels))


def test_trailing_bytes_beyond_step_times_height_are_ignored() -> None:
    pixels = random_rgb()
    msg = mf.make_image(pixels, 'rgb8', data_type='bytes')
    msg.data = msg.data + b'\x00' * 5
    np.testing.assert_array_equal(image_to_array(msg), pixels)


def test_multidimensional_uint8_ndarray_data() -> None:
    pixels = random_rgb()
    msg = mf.make_image(pixels, 'rgb8')
    msg.data = msg.data.reshape(6, -1)
    np.testing.assert_array_equal(image_to_array(msg), pixels)


@pytest.mark.parametrize(
    ('encoding', 'extra'), [('bgr8', 0), ('bgr8', 16), ('rgb8', 4), ('rgba8', 4), ('bgra8', 0)]
)
def test_colour_decode_is_a_view_of_msg_data(encoding: str, extra: int) -> None:
    pixels = random_rgb()
    msg = mf.make_image(pixels, encoding, step=8 * BYTES_PER_PIXEL[encoding] + extra)
    img = decode_image(msg)
    assert np.shares_memory(img.pixels, msg.data)
    assert np.shares_memory(to_color_order(img, 'rgb'), msg.data)
    assert np.shares_memory(to_color_order(img, 'bgr'), msg.data)


def test_bytes_and_array_data_are_viewed_not_copied() -> None:
    pixels = random_rgb()
    msg = mf.make_image(pixels, 'bgr8', data_type='array')
    img = decode_image(msg)
    msg.data[0] = 255 - msg.data[0]  # mutate the message buffer in place
    assert img.pixels[0, 0, 0] == msg.data[0]


def test_to_color_order_same_order_returns_the_same_array() -> None:
    img = decode_image(mf.make_image(random_rgb(), 'rgb8'))
    assert to_color_order(img, 'rgb') is img.pixels


def test_decoded_image_is_frozen() -> None:
    img = decode_image(mf.make_image(random_rgb(), 'rgb8'))
    with pytest.raises(dataclasses.FrozenInstanceError):
        img.order = 'bgr'  # type: ignore[misc]


def test_image_to_array_defaults_to_rgb() -> None:
    pixels = random_rgb()
    np.testing.assert_array_equal(image_to_array(mf.make_image(pixels, 'bgr8')), pixels)
    np.testing.assert_array_equal(
        image_to_array(mf.make_image(pixels, 'rgb8'), 'bgr'), pixels[..., ::-1]
    )


# ---------------------------------------------------------------- Image errors


def bad_image(**overrides: object) -> object:
    fields: dict[str, object] = {
        'height': 2,
        'width': 3,
        'encoding': 'rgb8',
        'step': 9,
        'data': bytes(18),
        'is_bigendian': 0,
    }
    fields.update(overrides)
    return mf.raw_image(**fields)


@pytest.mark.parametrize(
    ('overrides', 'message'),
    [
        (
            {'encoding': 'foo'},
            "Image.encoding='foo' is not supported (supported: bayer_bggr8, bayer_gbrg8",
        ),
        ({'encoding': ''}, "Image.encoding='' is not supported"),
        ({'encoding': 'RGB8'}, "Image.encoding='RGB8' is not supported"),
        ({'encoding': '16UC1'}, "Image.encoding='16UC1' is not supported"),
        ({'encoding': None}, 'Image.encoding=None is not supported'),
        ({'height': 0}, 'Image.height=0 must be a positive integer'),
        ({'width': 0}, 'Image.width=0 must be a positive integer'),
        ({'height': -2}, 'Image.height=-2 must be a positive integer'),
        ({'width': 3.0}, 'Image.width=3.0 must be a positive integer'),
        ({'width': None}, 'Image.width=None must be a positive integer'),
        ({'height': True}, 'Image.height=True must be a positive integer'),
        ({'step': 8}, 'Image.step=8 < width*bytes_per_pixel=9 (3*3 for rgb8)'),
        ({'step': None}, 'Image.step=None < width*bytes_per_pixel=9'),
        ({'step': -1}, 'Image.step=-1 < width*bytes_per_pixel=9'),
        (
            {'encoding': 'rgba8', 'step': 11},
            'Image.step=11 < width*bytes_per_pixel=12 (3*4 for rgba8)',
        ),
        (
            {'data': bytes(17)},
            'Image.data has 17 bytes, fewer than step*height=9*2=18',
        ),
        ({'step': 100}, 'Image.data has 18 bytes, fewer than step*height=100*2=200'),
        ({'data': b''}, 'Image.data has 0 bytes, fewer than step*height=9*2=18'),
        ({'data': 'x' * 18}, 'Image.data has type str; expected bytes'),
        ({'data': None}, 'Image.data has type NoneType'),
        ({'data': 3}, 'Image.data has type int'),
        ({'data': {'a': 1}}, 'Image.data has type dict'),
        (
            {'data': np.zeros(18, np.float32)},
            'Image.data is a numpy array of dtype float32; expected uint8',
        ),
        ({'data': np.zeros(18, np.int8)}, 'Image.data is a numpy array of dtype int8'),
        ({'data': array('h', bytes(36))}, "Image.data is array('h'); expected array('B')"),
        (
            {'data': memoryview(array('h', bytes(36)))},
            "Image.data is a memoryview of format 'h'; expected bytes",
        ),
        ({'data': [0] * 17 + [256]}, 'Image.data holds 256, outside the byte range 0..255'),
        ({'data': [-1] + [0] * 17}, 'Image.data holds -1, outside the byte range 0..255'),
        (
            {'data': [0] * 17 + [2**70]},
            'Image.data holds 1180591620717411303424, outside the byte range 0..255',
        ),
        ({'data': [0.0] * 18}, 'Image.data is a list holding float 0.0; expected ints 0..255'),
        ({'data': [0] * 17 + ['a']}, "Image.data is a list holding str 'a'"),
        ({'data': [True] * 18}, 'Image.data is a list holding bool True'),
        ({'data': [[0]] * 18}, 'Image.data is a list holding list [0]'),
        (
            {'encoding': 'yuv422', 'step': 6, 'data': bytes(12)},
            'Image.width=3 is odd; yuv422 packs two pixels per 4 bytes, so width must be even',
        ),
        ({'encoding': 'yuyv', 'step': 6, 'data': bytes(12)}, 'Image.width=3 is odd; yuyv'),
    ],
)
def test_image_errors_name_field_value_and_fix(overrides: dict, message: str) -> None:
    with pytest.raises(ImageConversionError) as info:
        decode_image(bad_image(**overrides))
    assert message in str(info.value)


def test_pixel_limit() -> None:
    msg = mf.make_image(random_rgb(6, 8), 'rgb8')
    assert decode_image(msg, max_pixels=48).pixels.shape == (6, 8, 3)
    with pytest.raises(ImageConversionError) as info:
        decode_image(msg, max_pixels=47)
    assert str(info.value).startswith(
        'Image.height*width=6*8=48 exceeds max_pixels=47; raise max_pixels'
    )


def test_huge_declared_image_is_rejected_before_any_allocation() -> None:
    msg = bad_image(height=10**6, width=10**6, step=3 * 10**6, data=b'')
    tracemalloc.start()
    try:
        with pytest.raises(ImageConversionError, match='exceeds max_pixels=16777216'):
            decode_image(msg)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100_000


def test_short_list_data_is_rejected_before_conversion() -> None:
    # A list this short must not be converted (the error names its length).
    msg = bad_image(data=['not', 'ints'])
    with pytest.raises(ImageConversionError, match='Image.data has 2 bytes, fewer than'):
        decode_image(msg)


def test_invalid_color_order() -> None:
    img = decode_image(mf.make_image(random_rgb(), 'rgb8'))
    with pytest.raises(ImageConversionError, match="color_order='hsv' must be 'rgb' or 'bgr'"):
        to_color_order(img, 'hsv')  # type: ignore[arg-type]


# ---------------------------------------------------------------- compressed


@pytest.fixture(scope='module')
def scene_bgr() -> np.ndarray:
    """Return a smooth synthetic 480x640 scene (compresses like a camera frame, unlike noise)."""
    yy, xx = np.mgrid[0:480, 0:640].astype(np.float32)
    img = np.dstack([xx / 640 * 255, yy / 480 * 255, (xx + yy) % 256]).astype(np.uint8)
    cv2.circle(img, (320, 240), 100, (20, 200, 40), -1)
    return img


def test_jpeg_round_trip(scene_bgr: np.ndarray) -> None:
    msg = mf.make_compressed(scene_bgr, 'jpeg', quality=95)
    img = decode_compressed(msg)
    assert img.order == 'bgr' and img.pixels.shape == (480, 640, 3)
    np.testing.assert_array_equal(img.pixels, cv2.imdecode(msg.data, cv2.IMREAD_COLOR))
    assert np.abs(img.pixels.astype(int) - scene_bgr).mean() < 3


def test_png_round_trip_is_lossless(scene_bgr: np.ndarray) -> None:
    img = decode_compressed(mf.make_compressed(scene_bgr, 'png'))
    np.testing.assert_array_equal(img.pixels, scene_bgr)


def test_compressed_to_array_defaults_to_rgb(scene_bgr: np.ndarray) -> None:
    msg = mf.make_compressed(scene_bgr, 'png')
    np.testing.assert_array_equal(compressed_to_array(msg), scene_bgr[..., ::-1])
    np.testing.assert_array_equal(compressed_to_array(msg, 'bgr'), scene_bgr)


@pytest.mark.parametrize(
    ('fmt', 'field'),
    [
        ('jpeg', 'jpeg'),
        ('jpeg', 'jpg'),
        ('jpeg', 'JPEG'),
        ('jpeg', 'bgr8; jpeg compressed bgr8'),
        ('jpeg', 'rgb8; jpeg compressed bgr8'),
        ('png', 'png'),
        ('png', 'PNG'),
        ('png', 'bgr8; png compressed bgr8'),
        ('png', 'rgb8; png compressed bgr8'),
        ('png', 'mono8; png compressed '),
    ],
)
def test_accepted_format_strings(scene_bgr: np.ndarray, fmt: str, field: str) -> None:
    msg = mf.make_compressed(
        scene_bgr[:32, :48],
        fmt,
        format_field=field,  # type: ignore[arg-type]
    )
    assert decode_compressed(msg).pixels.shape == (32, 48, 3)


@pytest.mark.parametrize('data_type', mf.DATA_TYPES)
def test_compressed_data_containers(scene_bgr: np.ndarray, data_type: str) -> None:
    msg = mf.make_compressed(scene_bgr[:16, :24], 'png', data_type=data_type)
    np.testing.assert_array_equal(decode_compressed(msg).pixels, scene_bgr[:16, :24])


def test_png_gray_alpha_and_16_bit_become_8_bit_bgr(scene_bgr: np.ndarray) -> None:
    gray = scene_bgr[:20, :30, 0]
    out = decode_compressed(mf.compressed_msg(cv2.imencode('.png', gray)[1].tobytes(), 'png'))
    np.testing.assert_array_equal(out.pixels, np.repeat(gray[..., None], 3, axis=2))
    bgra = np.dstack([scene_bgr[:20, :30], np.full((20, 30), 9, np.uint8)])
    out = decode_compressed(mf.compressed_msg(cv2.imencode('.png', bgra)[1].tobytes(), 'png'))
    np.testing.assert_array_equal(out.pixels, scene_bgr[:20, :30])
    deep = scene_bgr[:20, :30].astype(np.uint16) * 257
    out = decode_compressed(mf.compressed_msg(cv2.imencode('.png', deep)[1].tobytes(), 'png'))
    np.testing.assert_array_equal(out.pixels, scene_bgr[:20, :30])


@pytest.mark.parametrize(
    ('min_size', 'shape'),
    [
        (None, (480, 640)),
        ((480, 640), (480, 640)),
        ((481, 640), (480, 640)),
        ((240, 320), (240, 320)),
        ((241, 320), (480, 640)),
        ((200, 300), (240, 320)),
        ((100, 100), (120, 160)),
        ((60, 80), (60, 80)),
        ((1, 1), (60, 80)),
        ((60, 81), (120, 160)),
    ],
)
def test_jpeg_reduced_decode_sizes(
    scene_bgr: np.ndarray, min_size: tuple[int, int] | None, shape: tuple[int, int]
) -> None:
    msg = mf.make_compressed(scene_bgr, 'jpeg')
    img = decode_compressed(msg, min_size=min_size)
    assert img.pixels.shape == (*shape, 3)


@pytest.mark.parametrize(
    ('min_size', 'shape'), [((39, 51), (39, 51)), ((10, 13), (10, 13)), ((10, 14), (20, 26))]
)
def test_jpeg_reduced_sizes_round_up(
    scene_bgr: np.ndarray, min_size: tuple[int, int], shape: tuple[int, int]
) -> None:
    odd = cv2.resize(scene_bgr, (101, 77))
    img = decode_compressed(mf.make_compressed(odd, 'jpeg'), min_size=min_size)
    assert img.pixels.shape == (*shape, 3)


def test_reduced_jpeg_approximates_the_downscaled_image(scene_bgr: np.ndarray) -> None:
    msg = mf.make_compressed(scene_bgr, 'jpeg')
    small = decode_compressed(msg, min_size=(120, 160)).pixels
    ref = cv2.resize(scene_bgr, (160, 120), interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(int) - ref).mean() < 6


def test_png_ignores_min_size(scene_bgr: np.ndarray) -> None:
    msg = mf.make_compressed(scene_bgr, 'png')
    assert decode_compressed(msg, min_size=(60, 80)).pixels.shape == (480, 640, 3)


@pytest.mark.parametrize('min_size', [(1,), 'ab', (1.5, 2), 3, (None, 3)])
def test_invalid_min_size(scene_bgr: np.ndarray, min_size: object) -> None:
    msg = mf.make_compressed(scene_bgr[:8, :8], 'jpeg')
    with pytest.raises(ImageConversionError, match=r'must be a \(height, width\) pair of ints'):
        decode_compressed(msg, min_size=min_size)  # type: ignore[arg-type]


def _jpeg(scene_bgr: np.ndarray) -> bytes:
    return cv2.imencode('.jpg', scene_bgr[:64, :64])[1].tobytes()


def _png(scene_bgr: np.ndarray) -> bytes:
    return cv2.imencode('.png', scene_bgr[:64, :64])[1].tobytes()


@pytest.mark.parametrize(
    ('make', 'fmt', 'message'),
    [
        (lambda s: b'', 'jpeg', 'CompressedImage.data is empty'),
        (lambda s: b'', 'png', 'CompressedImage.data is empty'),
        (lambda s: b'\x00' * 100, 'jpeg', 'does not start with a JPEG SOI marker'),
        (lambda s: b'hello world', 'png', 'does not start with a PNG signature'),
        (
            lambda s: _png(s),
            'jpeg',
            "does not start with a JPEG SOI marker (first bytes b'\\x89PNG",
        ),
        (lambda s: _jpeg(s), 'png', 'does not start with a PNG signature'),
        (lambda s: _jpeg(s)[:2], 'jpeg', 'has no JPEG frame header (SOF)'),
        (lambda s: _jpeg(s)[:100], 'jpeg', 'has no JPEG frame header (SOF)'),
        (
            lambda s: _jpeg(s)[: len(_jpeg(s)) // 2],
            'jpeg',
            'does not end with the JPEG EOI marker',
        ),
        (lambda s: _jpeg(s)[:-1], 'jpeg', 'does not end with the JPEG EOI marker'),
        (lambda s: _png(s)[:20], 'png', 'does not start with a PNG signature and IHDR chunk'),
        (lambda s: _png(s)[: len(_png(s)) // 2], 'png', 'is not a decodable png image'),
        (lambda s: mf.jpeg_bomb(0, 8), 'jpeg', 'JPEG frame header declares 8x0 pixels'),
        (lambda s: mf.png_bomb(8, 0), 'png', 'PNG header declares 0x8 pixels'),
        (lambda s: mf.png_bomb(8, 8), 'png', 'is not a decodable png image'),
    ],
)
def test_compressed_errors(scene_bgr: np.ndarray, make, fmt: str, message: str) -> None:
    with pytest.raises(ImageConversionError) as info:
        decode_compressed(mf.compressed_msg(make(scene_bgr), fmt))
    assert message in str(info.value)


@pytest.mark.parametrize('padding', [b'\x00' * 10, b'\x12\x34' * 31])
def test_jpeg_with_padding_after_eoi_decodes(scene_bgr: np.ndarray, padding: bytes) -> None:
    data = _jpeg(scene_bgr) + padding
    assert decode_compressed(mf.compressed_msg(data, 'jpeg')).pixels.shape == (64, 64, 3)


@pytest.mark.parametrize(
    'field',
    ['', 'tiff', 'jpeg2000', 'bgr8; tiff compressed bgr8', '16UC1; compressedDepth png', None, 3],
)
def test_unsupported_format_field(scene_bgr: np.ndarray, field: object) -> None:
    msg = mf.compressed_msg(_png(scene_bgr), field)
    with pytest.raises(ImageConversionError) as info:
        decode_compressed(msg)
    assert str(info.value).startswith(f'CompressedImage.format={field!r} is not supported')


@pytest.mark.parametrize(
    'data', ['abc', None, np.zeros(10, np.float64), array('I', [1, 2])], ids=repr
)
def test_compressed_bad_data_type(data: object) -> None:
    msg = mf.CompressedImage(header=mf.header(), format='jpeg', data=data)
    with pytest.raises(ImageConversionError, match='CompressedImage.data '):
        decode_compressed(msg)


@pytest.mark.parametrize(
    ('bomb', 'fmt'), [(mf.png_bomb(60000, 60000), 'png'), (mf.jpeg_bomb(60000, 60000), 'jpeg')]
)
def test_decompression_bomb_rejected_before_decoding(
    monkeypatch: pytest.MonkeyPatch, bomb: bytes, fmt: str
) -> None:
    def no_decode(*args: object) -> None:
        raise AssertionError('imdecode must not run for a bomb')

    monkeypatch.setattr(image_codec.cv2, 'imdecode', no_decode)
    msg = mf.compressed_msg(bomb, fmt)
    assert len(bomb) < 1000
    tracemalloc.start()
    try:
        with pytest.raises(ImageConversionError) as info:
            decode_compressed(msg)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(info.value).startswith(
        'CompressedImage.height*width=60000*60000=3600000000 exceeds max_pixels=16777216'
    )
    assert peak < 100_000


@pytest.mark.parametrize('fmt', ['png', 'jpeg'])
def test_compressed_pixel_limit(scene_bgr: np.ndarray, fmt: str) -> None:
    msg = mf.make_compressed(scene_bgr[:50, :40], fmt)  # type: ignore[arg-type]
    assert decode_compressed(msg, max_pixels=2000).pixels.shape == (50, 40, 3)
    with pytest.raises(ImageConversionError, match=r'=50\*40=2000 exceeds max_pixels=1999'):
        decode_compressed(msg, max_pixels=1999)


def test_jpeg_header_parser_skips_app_segments_and_fill_bytes(scene_bgr: np.ndarray) -> None:
    data = _jpeg(scene_bgr)
    # Insert an APP1 segment holding a fake SOF marker, then fill bytes.
    app1 = b'\xff\xe1' + (2 + 9).to_bytes(2, 'big') + b'\xff\xc0\x00\x11\x08\x7f\xff\x7f\xff'
    patched = data[:2] + app1 + b'\xff\xff' + data[2:]
    img = decode_compressed(mf.compressed_msg(patched, 'jpeg'), max_pixels=64 * 64)
    assert img.pixels.shape == (64, 64, 3)


# ---------------------------------------------------------------- cv_bridge parity


def _rclpy_image(msg: object, sensor_msgs_msg: object) -> object:
    out = sensor_msgs_msg.Image()  # type: ignore[attr-defined]
    for name in ('height', 'width', 'encoding', 'is_bigendian', 'step'):
        setattr(out, name, getattr(msg, name))
    out.data = array('B', bytes(msg.data))  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize(
    'encoding', sorted(SUPPORTED_ENCODINGS - {'uyvy', 'yuyv'})
)  # aliases are ours; cv_bridge knows only the ROS names
@pytest.mark.parametrize('is_bigendian', [0, 1])
def test_matches_cv_bridge(encoding: str, is_bigendian: int) -> None:
    cv_bridge = pytest.importorskip(
        'cv_bridge', reason='cv_bridge is not installed (needs ROS 2); runs on a ROS machine'
    )
    sensor_msgs_msg = pytest.importorskip(
        'sensor_msgs.msg', reason='rclpy sensor_msgs is not installed (needs ROS 2)'
    )
    pixels = pixels_for(encoding, 6, 8, seed=11)
    msg = mf.make_image(
        pixels, encoding, is_bigendian=is_bigendian, step=8 * BYTES_PER_PIXEL[encoding] + 4
    )
    ros_msg = _rclpy_image(msg, sensor_msgs_msg)
    try:
        expected = cv_bridge.CvBridge().imgmsg_to_cv2(ros_msg, desired_encoding='bgr8')
    except cv_bridge.CvBridgeError as exc:
        if encoding == 'yuv422_yuy2':
            pytest.skip(f'this cv_bridge predates yuv422_yuy2: {exc}')
        raise
    np.testing.assert_array_equal(image_to_array(ros_msg, 'bgr'), expected)
    np.testing.assert_array_equal(image_to_array(msg, 'bgr'), expected)


@pytest.mark.parametrize('fmt', ['jpeg', 'png'])
def test_compressed_matches_cv_bridge(scene_bgr: np.ndarray, fmt: str) -> None:
    cv_bridge = pytest.importorskip(
        'cv_bridge', reason='cv_bridge is not installed (needs ROS 2); runs on a ROS machine'
    )
    sensor_msgs_msg = pytest.importorskip(
        'sensor_msgs.msg', reason='rclpy sensor_msgs is not installed (needs ROS 2)'
    )
    msg = mf.make_compressed(scene_bgr, fmt)  # type: ignore[arg-type]
    ros_msg = sensor_msgs_msg.CompressedImage()
    ros_msg.format = msg.format
    ros_msg.data = array('B', bytes(msg.data))
    expected = cv_bridge.CvBridge().compressed_imgmsg_to_cv2(ros_msg, desired_encoding='bgr8')
    np.testing.assert_array_equal(compressed_to_array(ros_msg, 'bgr'), expected)
