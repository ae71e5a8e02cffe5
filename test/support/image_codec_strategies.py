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
"""
Hypothesis strategies and the contract oracle for fuzzing image_codec.

Shared by ``test/test_image_codec_fuzz.py`` (quick) and ``tools/fuzz_image_codec.py``
(``make fuzz``, >= 10,000 cases). Each strategy draws a *case*: a real rosbags
message, mostly well-formed with one field broken, plus whether the codec
must accept it. ``check_image_case`` / ``check_compressed_case`` decode it and
assert the contract: an HxWx3 uint8 result of the right size, or
``ImageConversionError`` -- and never a rejection of a valid message.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

import cv2
from grasp_classifier_ros.core.errors import ImageConversionError
from grasp_classifier_ros.core.image_codec import (
    decode_compressed,
    decode_image,
    DecodedImage,
    SUPPORTED_ENCODINGS,
)
from hypothesis import strategies as st
import msg_factory as mf
import numpy as np

# Small, so that sizes on both sides of the limit stay cheap to build.
FUZZ_MAX_PIXELS = 48 * 48
MAX_SIDE = 64

BYTES_PER_PIXEL = {
    'rgb8': 3,
    'bgr8': 3,
    'rgba8': 4,
    'bgra8': 4,
    'mono8': 1,
    'mono16': 2,
    **dict.fromkeys(mf.BAYER_PATTERNS, 1),
    **dict.fromkeys(mf.YUV422_LAYOUTS, 2),
}
assert set(BYTES_PER_PIXEL) == SUPPORTED_ENCODINGS
INVALID_ENCODINGS = (
    '',
    'RGB8',
    'bgr16',
    'rgb16',
    '16UC1',
    '8UC3',
    'mono8 ',
    'bayer_rggb16',
    'jpeg',
)
BAD_CONTAINERS = (
    'str',
    'none',
    'float64_ndarray',
    'int8_ndarray',
    'array_h',
    'memoryview_h',
    'list_256',
    'list_float',
)
FORMATS = {
    'jpeg': ('jpeg', 'jpg', 'JPEG', 'bgr8; jpeg compressed bgr8', 'rgb8; jpeg compressed bgr8'),
    'png': ('png', 'PNG', 'bgr8; png compressed bgr8', 'mono8; png compressed '),
}
INVALID_FORMATS = ('', 'tiff', 'bmp', '16UC1; compressedDepth png', 'jpeg2000', 'raw')
MUTATIONS = ('none', 'truncate', 'flip', 'random', 'empty', 'bomb', 'garbage_tail', 'magic_only')


@dataclass
class ImageCase:
    msg: Any
    max_pixels: int
    valid: bool
    shape: tuple[int, int] | None  # (h, w) when valid


@dataclass
class CompressedCase:
    msg: Any
    max_pixels: int
    min_size: Any
    valid: bool
    shape: tuple[int, int] | None  # full-size (h, w) when valid
    mutation: str


def container(raw: bytes, kind: str) -> Any:
    """Return ``raw`` in a valid (``mf.DATA_TYPES``) or invalid (``BAD_CONTAINERS``) container."""
    if kind in mf.DATA_TYPES:
        return mf.as_container(raw, kind)
    n = len(raw)
    bad: dict[str, Any] = {
        'str': 'x' * n,
        'none': None,
        'float64_ndarray': np.zeros(n, np.float64),
        'int8_ndarray': np.zeros(n, np.int8),
        'array_h': array('h', bytes(2 * n)),
        'memoryview_h': memoryview(array('h', bytes(2 * n))),
        'list_256': [*raw[:-1], 256] if n else [256],
        'list_float': [float(b) for b in raw] if n else [0.5],
    }
    return bad[kind]


def _random_bytes(seed: int, n: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


IMAGE_BREAKS = ('encoding', 'height', 'width', 'limit', 'step', 'length', 'container')
_BAD_DIMS = st.one_of(
    st.just(0),
    st.sampled_from([10**6, 2**31, 2**32 - 1]),
    st.sampled_from([-1, None, 2.0, True, '3']),
)


@st.composite
def image_cases(draw: st.DrawFn) -> ImageCase:
    """Draw an Image message: about half well-formed, the rest with one field broken."""
    broken = draw(st.sampled_from(('none',) * 6 + IMAGE_BREAKS))
    if broken == 'encoding':
        encoding = draw(
            st.one_of(
                st.sampled_from(INVALID_ENCODINGS),
                st.text(max_size=12),
                st.sampled_from([None, 3]),
            )
        )
    else:
        encoding = draw(st.sampled_from(sorted(SUPPORTED_ENCODINGS)))
    side = st.integers(49, MAX_SIDE) if broken == 'limit' else st.integers(1, MAX_SIDE)
    height = draw(_BAD_DIMS if broken == 'height' else side)
    width = draw(_BAD_DIMS if broken == 'width' else side)
    bpp = BYTES_PER_PIXEL.get(encoding, 3) if isinstance(encoding, str) else 3
    dims_ok = all(isinstance(v, int) and not isinstance(v, bool) for v in (height, width))
    small = dims_ok and 0 <= height <= MAX_SIDE and 0 <= width <= MAX_SIDE
    row = width * bpp if dims_ok else 3
    if broken == 'step':
        step = draw(
            st.one_of(
                st.integers(1, 3).map(lambda short: row - short),
                st.just(2**32 - 1),
                st.sampled_from([None, -1, 1.5, '9']),
            )
        )
    else:
        step = row + draw(st.sampled_from([0, 0, 0, 1, 2, 3, 4, 7, 16]))
    step_ok = isinstance(step, int) and not isinstance(step, bool)
    needed = step * height if small and step_ok and 0 <= step <= 4 * MAX_SIDE + 16 else None
    if needed is None:
        length = draw(st.integers(0, 64))
    elif broken == 'length':
        length = draw(st.integers(0, max(0, needed - 1)))
    else:
        length = needed + draw(st.sampled_from([0, 0, 0, 5]))
    raw = _random_bytes(draw(st.integers(0, 2**32 - 1)), length)
    kind = draw(st.sampled_from(BAD_CONTAINERS if broken == 'container' else mf.DATA_TYPES))
    msg = mf.raw_image(
        height=height,
        width=width,
        encoding=encoding,
        step=step,
        data=container(raw, kind),
        is_bigendian=draw(st.sampled_from([0, 1, 2, True])),
    )
    valid = (
        encoding in BYTES_PER_PIXEL
        and small
        and height > 0
        and width > 0
        and height * width <= FUZZ_MAX_PIXELS
        and step_ok
        and step >= width * bpp
        and length >= step * height
        and kind in mf.DATA_TYPES
        and not (encoding in mf.YUV422_LAYOUTS and width % 2)
    )
    return ImageCase(msg, FUZZ_MAX_PIXELS, valid, (height, width) if valid else None)


@st.composite
def compressed_cases(draw: st.DrawFn) -> CompressedCase:
    """Draw a CompressedImage: a real JPEG/PNG, often mutated, truncated or a bomb."""
    kind = draw(st.sampled_from(['jpeg', 'png']))
    height, width = draw(st.integers(1, MAX_SIDE)), draw(st.integers(1, MAX_SIDE))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if draw(st.booleans()):
        pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    else:
        pixels = np.full((height, width, 3), rng.integers(0, 256, 3), dtype=np.uint8)
    if kind == 'jpeg':
        quality = draw(st.integers(5, 100))
        data = cv2.imencode('.jpg', pixels, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()
    else:
        data = cv2.imencode('.png', pixels)[1].tobytes()
    mutation = draw(st.sampled_from(('none',) * 6 + MUTATIONS))
    if mutation == 'truncate':
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif mutation == 'flip':
        flips = rng.integers(0, len(data), draw(st.integers(1, 8)))
        buf = bytearray(data)
        for pos in flips:
            buf[pos] ^= 1 << int(rng.integers(0, 8))
        data = bytes(buf)
    elif mutation == 'random':
        data = _random_bytes(seed, draw(st.integers(0, 2000)))
    elif mutation == 'empty':
        data = b''
    elif mutation == 'bomb':
        bomb_h = draw(st.one_of(st.integers(0, 100), st.integers(0, 65535)))
        bomb_w = draw(st.one_of(st.integers(0, 100), st.integers(0, 65535)))
        data = mf.png_bomb(bomb_h, bomb_w) if kind == 'png' else mf.jpeg_bomb(bomb_h, bomb_w)
    elif mutation == 'garbage_tail':
        data = data + _random_bytes(seed, draw(st.integers(1, 64)))
    elif mutation == 'magic_only':
        data = data[:2] + _random_bytes(seed, draw(st.integers(0, 200)))
    if draw(st.integers(0, 9)) > 1:
        format_field = draw(st.sampled_from(FORMATS[kind]))
    else:
        other = 'png' if kind == 'jpeg' else 'jpeg'
        format_field = draw(
            st.one_of(
                st.sampled_from(FORMATS[other]),
                st.sampled_from(INVALID_FORMATS),
                st.text(max_size=16),
                st.none(),
            )
        )
    data_kind = draw(st.sampled_from(mf.DATA_TYPES * 4 + BAD_CONTAINERS))
    size_kind = draw(st.integers(0, 9))
    if size_kind < 4:
        min_size = None
    elif size_kind < 9:
        min_size = draw(st.tuples(st.integers(0, 80), st.integers(0, 80)))
    else:
        min_size = draw(st.sampled_from([(1,), 'ab', (1.5, 2)]))
    msg = mf.CompressedImage(
        header=mf.header(), format=format_field, data=container(data, data_kind)
    )
    min_size_ok = min_size is None or (
        len(min_size) == 2 and all(isinstance(v, int) for v in min_size)
    )
    valid = (
        mutation == 'none'
        and format_field in FORMATS[kind]
        and data_kind in mf.DATA_TYPES
        and height * width <= FUZZ_MAX_PIXELS
        and min_size_ok
    )
    return CompressedCase(
        msg, FUZZ_MAX_PIXELS, min_size, valid, (height, width) if valid else None, mutation
    )


def _check_pixels(img: object, max_pixels: int) -> tuple[int, int]:
    assert isinstance(img, DecodedImage), type(img)
    assert img.order in ('rgb', 'bgr'), img.order
    pixels = img.pixels
    assert isinstance(pixels, np.ndarray) and pixels.dtype == np.uint8, pixels
    assert pixels.ndim == 3 and pixels.shape[2] == 3, pixels.shape
    assert 0 < pixels.shape[0] * pixels.shape[1] <= max_pixels, pixels.shape
    return int(pixels.shape[0]), int(pixels.shape[1])


def check_image_case(case: ImageCase) -> ImageConversionError | None:
    """Decode ``case``, assert the contract, and return the ImageConversionError raised, if any."""
    try:
        img = decode_image(case.msg, max_pixels=case.max_pixels)
    except ImageConversionError as exc:
        assert not case.valid, f'valid Image rejected: {exc}'
        return exc
    shape = _check_pixels(img, case.max_pixels)
    assert shape == (case.msg.height, case.msg.width), (shape, case.msg.height, case.msg.width)
    assert case.valid or case.shape is None
    return None


def check_compressed_case(case: CompressedCase) -> ImageConversionError | None:
    """Decode ``case``, assert the contract, and return the ImageConversionError raised, if any."""
    try:
        img = decode_compressed(case.msg, max_pixels=case.max_pixels, min_size=case.min_size)
    except ImageConversionError as exc:
        assert not case.valid, f'valid CompressedImage rejected: {exc}'
        return exc
    height, width = _check_pixels(img, case.max_pixels)
    if case.shape is not None:
        full_h, full_w = case.shape
        if case.min_size is None or case.msg.format in FORMATS['png']:
            assert (height, width) == case.shape, ((height, width), case.shape)
        else:
            # The largest reduction f whose output ceil(full / f) still covers min_size.
            min_h, min_w = case.min_size
            f = max(
                f
                for f in (1, 2, 4, 8)
                if f == 1 or (-(-full_h // f) >= min_h and -(-full_w // f) >= min_w)
            )
            assert (height, width) == (-(-full_h // f), -(-full_w // f)), (height, width, f)
    return None
