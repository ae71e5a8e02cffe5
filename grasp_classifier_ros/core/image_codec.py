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
Turn sensor_msgs Image / CompressedImage messages into HxWx3 uint8 pixels.

Messages are duck-typed: rclpy messages (``data`` is ``array('B')``, bytes or a
list) and ``rosbags`` messages (``data`` is a numpy uint8 array) both work.
Raw images are returned as views of ``msg.data`` wherever possible, so the
pixels may be non-contiguous and read-only; copy before writing to them.

Colour conversions follow cv_bridge: OpenCV names Bayer patterns by the second
row, so ``bayer_rggb8`` uses ``COLOR_BayerBG2BGR``; ``yuv422`` is UYVY and
``yuv422_yuy2`` is YUYV; ``mono16`` is scaled to 8 bit by ``round(v * 255 /
65535)`` as cv_bridge's ``convertTo`` does.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
import struct
from typing import Any, NamedTuple, TypeGuard

import cv2
import numpy as np

from .errors import ImageConversionError
from .metadata import ColorOrder

DEFAULT_MAX_PIXELS: int = 4096 * 4096


class _Layout(NamedTuple):
    bytes_per_pixel: int
    kind: str  # 'color', 'color_alpha', 'mono8', 'mono16', 'cvt'
    order: ColorOrder
    cvt_code: int = -1


_BAYER = {
    # cv_bridge's mapping: OpenCV names the pattern by its second row.
    'bayer_rggb8': cv2.COLOR_BayerBG2BGR,
    'bayer_bggr8': cv2.COLOR_BayerRG2BGR,
    'bayer_gbrg8': cv2.COLOR_BayerGR2BGR,
    'bayer_grbg8': cv2.COLOR_BayerGB2BGR,
}
_YUV = {
    'yuv422': cv2.COLOR_YUV2BGR_UYVY,
    'uyvy': cv2.COLOR_YUV2BGR_UYVY,
    'yuv422_yuy2': cv2.COLOR_YUV2BGR_YUYV,
    'yuyv': cv2.COLOR_YUV2BGR_YUYV,
}
_LAYOUTS: dict[str, _Layout] = {
    'rgb8': _Layout(3, 'color', 'rgb'),
    'bgr8': _Layout(3, 'color', 'bgr'),
    'rgba8': _Layout(4, 'color_alpha', 'rgb'),
    'bgra8': _Layout(4, 'color_alpha', 'bgr'),
    'mono8': _Layout(1, 'mono8', 'bgr'),
    'mono16': _Layout(2, 'mono16', 'bgr'),
    **{name: _Layout(1, 'cvt', 'bgr', code) for name, code in _BAYER.items()},
    **{name: _Layout(2, 'cvt', 'bgr', code) for name, code in _YUV.items()},
}

SUPPORTED_ENCODINGS: frozenset[str] = frozenset(_LAYOUTS)
SUPPORTED_FORMATS: frozenset[str] = frozenset({'jpeg', 'png'})

_SUPPORTED_LIST = ', '.join(sorted(SUPPORTED_ENCODINGS))
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# Start-of-frame markers: SOF0..SOF15 minus DHT (C4), JPG (C8) and DAC (CC).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_REDUCTIONS = (
    (8, cv2.IMREAD_REDUCED_COLOR_8),
    (4, cv2.IMREAD_REDUCED_COLOR_4),
    (2, cv2.IMREAD_REDUCED_COLOR_2),
)
# cv_bridge decodes with IMREAD_UNCHANGED, which ignores EXIF orientation too.
_IMREAD_FLAGS_EXTRA = cv2.IMREAD_IGNORE_ORIENTATION


@dataclass(frozen=True)
class DecodedImage:
    """Decoded pixels (HxWx3 uint8, possibly a read-only view) and their channel order."""

    pixels: np.ndarray
    order: ColorOrder

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])


def decode_image(msg: Any, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Decode a sensor_msgs/Image into HxWx3 uint8 pixels, zero-copy where possible."""
    encoding = msg.encoding
    layout = _LAYOUTS.get(encoding) if isinstance(encoding, str) else None
    if layout is None:
        raise ImageConversionError(
            f'Image.encoding={encoding!r} is not supported (supported: {_SUPPORTED_LIST})'
        )
    height = _dimension(msg.height, 'Image.height')
    width = _dimension(msg.width, 'Image.width')
    _check_pixel_count(height, width, max_pixels, 'Image')
    row_bytes = width * layout.bytes_per_pixel
    step = msg.step
    if not _is_int(step) or step < row_bytes:
        raise ImageConversionError(
            f'Image.step={step!r} < width*bytes_per_pixel={row_bytes} '
            f'({width}*{layout.bytes_per_pixel} for {encoding}); '
            'set step to the row length in bytes'
        )
    step = int(step)
    if layout.cvt_code in (cv2.COLOR_YUV2BGR_UYVY, cv2.COLOR_YUV2BGR_YUYV) and width % 2:
        raise ImageConversionError(
            f'Image.width={width} is odd; {encoding} packs two pixels per 4 bytes, '
            'so width must be even'
        )
    needed = step * height
    size = _data_size(msg.data, 'Image.data')
    if size < needed:
        raise ImageConversionError(
            f'Image.data has {size} bytes, fewer than step*height={step}*{height}={needed}; '
            'the message is truncated or step/height are wrong'
        )
    buf = _as_uint8(msg.data, 'Image.data')
    rows = buf[:needed].reshape(height, step)[:, :row_bytes]
    if layout.kind == 'color':
        return DecodedImage(rows.reshape(height, width, 3), layout.order)
    if layout.kind == 'color_alpha':
        return DecodedImage(rows.reshape(height, width, 4)[:, :, :3], layout.order)
    if layout.kind == 'mono8':
        return DecodedImage(cv2.cvtColor(rows, cv2.COLOR_GRAY2BGR), layout.order)
    if layout.kind == 'mono16':
        values = rows.view('>u2' if msg.is_bigendian else '<u2')
        if values.dtype != np.uint16 or values.strides[0] % 2 or not values.flags.aligned:
            # OpenCV silently misreads odd row strides; hand it native, aligned rows.
            values = values.astype(np.uint16)
        gray = cv2.convertScaleAbs(values, alpha=255 / 65535)  # cv_bridge's convertTo scaling
        return DecodedImage(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), layout.order)
    if layout.bytes_per_pixel == 2:
        rows = rows.reshape(height, width, 2)
    return DecodedImage(cv2.cvtColor(rows, layout.cvt_code), layout.order)


def decode_compressed(
    msg: Any,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_size: tuple[int, int] | None = None,
) -> DecodedImage:
    """
    Decode a sensor_msgs/CompressedImage (JPEG or PNG) into HxWx3 uint8 BGR pixels.

    The header's dimensions are checked against ``max_pixels`` before decoding.
    With ``min_size=(h, w)`` a JPEG is decoded at the largest 1/2, 1/4 or 1/8
    reduction whose output is still at least ``h`` x ``w``.
    """
    fmt = _parse_format(msg.format)
    min_hw = None if min_size is None else _min_size(min_size)
    size = _data_size(msg.data, 'CompressedImage.data')
    if size == 0:
        raise ImageConversionError('CompressedImage.data is empty; expected a JPEG or PNG stream')
    buf = _as_uint8(msg.data, 'CompressedImage.data')
    if fmt == 'png':
        height, width = _png_size(buf)
    else:
        height, width = _jpeg_size(buf)
    _check_pixel_count(height, width, max_pixels, 'CompressedImage')
    flags = cv2.IMREAD_COLOR
    if fmt == 'jpeg':
        _check_jpeg_end(buf)
        if min_hw is not None:
            flags = _jpeg_reduction(height, width, min_hw)
    try:
        pixels = cv2.imdecode(buf, flags | _IMREAD_FLAGS_EXTRA)
    except cv2.error as exc:
        raise ImageConversionError(
            f'CompressedImage.data ({size} bytes, {fmt}) cannot be decoded: {exc}'
        ) from None
    if pixels is None or pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.size == 0:
        raise ImageConversionError(
            f'CompressedImage.data ({size} bytes) is not a decodable {fmt} image '
            '(corrupt or truncated)'
        )
    return DecodedImage(pixels, 'bgr')


def to_color_order(img: DecodedImage, order: ColorOrder) -> np.ndarray:
    """Return the pixels in ``order``, as a channel-reversed view when it differs."""
    if order == img.order:
        return img.pixels
    if order not in ('rgb', 'bgr'):
        raise ImageConversionError(f"color_order={order!r} must be 'rgb' or 'bgr'")
    return img.pixels[..., ::-1]


def _is_int(value: object) -> TypeGuard[int | np.integer]:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _dimension(value: object, field: str) -> int:
    if not _is_int(value) or value <= 0:
        raise ImageConversionError(f'{field}={value!r} must be a positive integer')
    return int(value)


def _check_pixel_count(height: int, width: int, max_pixels: int, msg_type: str) -> None:
    if height * width > max_pixels:
        raise ImageConversionError(
            f'{msg_type}.height*width={height}*{width}={height * width} exceeds '
            f'max_pixels={max_pixels}; raise max_pixels or send smaller images'
        )


def _data_size(data: object, field: str) -> int:
    """Return the byte count of ``data`` without converting it, or raise on a bad type."""
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise ImageConversionError(
                f'{field} is a numpy array of dtype {data.dtype}; expected uint8 bytes'
            )
        return int(data.size)
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    if isinstance(data, array):
        if data.typecode != 'B':
            raise ImageConversionError(
                f"{field} is array('{data.typecode}'); expected array('B') of bytes"
            )
        return len(data)
    if isinstance(data, memoryview):
        if data.format not in ('B', 'b', 'c'):
            raise ImageConversionError(
                f'{field} is a memoryview of format {data.format!r}; expected bytes'
            )
        return data.nbytes
    if isinstance(data, (list, tuple)):
        return len(data)
    raise ImageConversionError(
        f'{field} has type {type(data).__name__}; expected bytes, bytearray, '
        "array('B'), memoryview, a uint8 numpy array or a list of ints 0..255"
    )


def _as_uint8(data: Any, field: str) -> np.ndarray:
    """View ``data`` (already type-checked by ``_data_size``) as a 1-D uint8 array."""
    if isinstance(data, np.ndarray):
        return data.reshape(-1)
    if isinstance(data, (list, tuple)):
        return _list_to_uint8(data, field)
    if isinstance(data, memoryview) and not data.c_contiguous:
        data = data.tobytes()
    return np.frombuffer(data, dtype=np.uint8)


def _list_to_uint8(data: list[Any] | tuple[Any, ...], field: str) -> np.ndarray:
    if not data:
        return np.empty(0, dtype=np.uint8)
    try:
        values = np.asarray(data)
    except (ValueError, TypeError, OverflowError):
        values = np.asarray(data, dtype=object)
    if values.ndim != 1 or values.dtype.kind not in 'iu':
        # Error path only: name the first offending element.
        bad = next((v for v in data if not _is_int(v)), None)
        if bad is not None:
            raise ImageConversionError(
                f'{field} is a list holding {type(bad).__name__} {bad!r}; expected ints 0..255'
            )
        values = np.asarray(data, dtype=object)
    out_of_range = (values < 0) | (values > 255)
    if out_of_range.any():
        bad = values[out_of_range][0]
        raise ImageConversionError(f'{field} holds {int(bad)}, outside the byte range 0..255')
    return values.astype(np.uint8)


def _parse_format(fmt: object) -> str:
    """Map a CompressedImage.format string to 'jpeg' or 'png'."""
    if isinstance(fmt, str):
        # image_transport writes e.g. 'bgr8; jpeg compressed bgr8'.
        words = fmt.split(';')[-1].lower().replace(',', ' ').split()
        if words and words[0] in ('jpeg', 'jpg'):
            return 'jpeg'
        if words and words[0] == 'png':
            return 'png'
    raise ImageConversionError(
        f"CompressedImage.format={fmt!r} is not supported (supported: 'jpeg', 'jpg', 'png', "
        "or image_transport style 'bgr8; jpeg compressed bgr8')"
    )


def _png_size(buf: np.ndarray) -> tuple[int, int]:
    head = buf[:24].tobytes()
    if len(head) < 24 or head[:8] != _PNG_SIGNATURE or head[12:16] != b'IHDR':
        raise ImageConversionError(
            f'CompressedImage.data does not start with a PNG signature and IHDR chunk '
            f'(first bytes {head[:8]!r}); check CompressedImage.format'
        )
    width = int.from_bytes(head[16:20], 'big')
    height = int.from_bytes(head[20:24], 'big')
    if width == 0 or height == 0:
        raise ImageConversionError(
            f'CompressedImage.data PNG header declares {width}x{height} pixels'
        )
    return height, width


def _jpeg_size(buf: np.ndarray) -> tuple[int, int]:
    """Read height and width from the first JPEG start-of-frame segment."""
    data = buf.tobytes()  # bytes index ~10x faster than numpy scalars; the copy is small
    n = len(data)
    if n < 2 or data[0] != 0xFF or data[1] != 0xD8:
        raise ImageConversionError(
            f'CompressedImage.data does not start with a JPEG SOI marker '
            f'(first bytes {data[:8]!r}); check CompressedImage.format'
        )
    pos = 2
    while pos + 4 <= n and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # no length field
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # EOI / SOS before any frame header
            break
        (length,) = struct.unpack_from('>H', data, pos + 2)  # big-endian, as all JPEG fields
        if length < 2:
            break
        if marker in _JPEG_SOF and pos + 9 <= n:
            height, width = struct.unpack_from('>HH', data, pos + 5)
            if width == 0 or height == 0:
                raise ImageConversionError(
                    f'CompressedImage.data JPEG frame header declares {width}x{height} pixels'
                )
            return height, width
        pos += 2 + length
    raise ImageConversionError(
        'CompressedImage.data has no JPEG frame header (SOF) before the scan data; '
        'the JPEG is truncated or corrupt'
    )


def _check_jpeg_end(buf: np.ndarray) -> None:
    # OpenCV 4.x returns a grey-filled image for a truncated JPEG. FF D9 occurs
    # only as the EOI marker in entropy-coded data, so finding it near the end
    # proves the stream is complete while tolerating padding after it.
    tail = buf[-64:].tobytes()
    if b'\xff\xd9' not in tail:
        raise ImageConversionError(
            f'CompressedImage.data ({buf.shape[0]} bytes) does not end with the JPEG EOI '
            'marker; the JPEG is truncated'
        )


def _min_size(min_size: object) -> tuple[int, int]:
    if (
        isinstance(min_size, (tuple, list))
        and len(min_size) == 2
        and all(_is_int(v) for v in min_size)
    ):
        return int(min_size[0]), int(min_size[1])
    raise ImageConversionError(f'min_size={min_size!r} must be a (height, width) pair of ints')


def _jpeg_reduction(height: int, width: int, min_size: tuple[int, int]) -> int:
    min_h, min_w = min_size
    for factor, flag in _JPEG_REDUCTIONS:
        # libjpeg's scaled output is ceil(size / factor).
        if -(-height // factor) >= min_h and -(-width // factor) >= min_w:
            return flag
    return cv2.IMREAD_COLOR
