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
Build real ROS 2 Image / CompressedImage messages (rosbags type store) for tests.

Typical use::

    from msg_factory import make_image, make_compressed
    msg = make_image(rgb, 'bayer_rggb8', step=rgb.shape[1] + 4, data_type='bytes')
    cmsg = make_compressed(bgr, 'png')

``encode_pixels`` is the single place that packs pixels into ROS byte layouts;
``raw_image`` / ``compressed_msg`` set arbitrary (also invalid) field values;
``png_bomb`` / ``jpeg_bomb`` craft tiny streams whose headers declare huge sizes.
"""

from __future__ import annotations

from array import array
import struct
from typing import Any, Literal
import zlib

import cv2
import numpy as np
from rosbags.typesys import get_typestore, Stores

TYPESTORE = get_typestore(Stores.ROS2_HUMBLE)
Image = TYPESTORE.types['sensor_msgs/msg/Image']
CompressedImage = TYPESTORE.types['sensor_msgs/msg/CompressedImage']
Header = TYPESTORE.types['std_msgs/msg/Header']
Time = TYPESTORE.types['builtin_interfaces/msg/Time']

DataType = Literal['ndarray', 'bytes', 'bytearray', 'array', 'memoryview', 'list']
DATA_TYPES: tuple[str, ...] = ('ndarray', 'bytes', 'bytearray', 'array', 'memoryview', 'list')

BAYER_PATTERNS = {
    'bayer_rggb8': 'rggb',
    'bayer_bggr8': 'bggr',
    'bayer_gbrg8': 'gbrg',
    'bayer_grbg8': 'grbg',
}
# Byte order inside one 4-byte macropixel of two pixels.
YUV422_LAYOUTS = {
    'yuv422': 'uyvy',
    'uyvy': 'uyvy',
    'yuv422_yuy2': 'yuyv',
    'yuyv': 'yuyv',
}


def header(stamp_ns: int = 0, frame_id: str = 'cam') -> Any:
    """Return a std_msgs/Header stamped ``stamp_ns`` nanoseconds."""
    return Header(stamp=Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9), frame_id=frame_id)


def as_container(raw: bytes, data_type: str) -> Any:
    """Return ``raw`` in the container a message's ``data`` may hold."""
    if data_type == 'ndarray':
        return np.frombuffer(raw, dtype=np.uint8).copy()
    if data_type == 'bytes':
        return bytes(raw)
    if data_type == 'bytearray':
        return bytearray(raw)
    if data_type == 'array':
        return array('B', raw)
    if data_type == 'memoryview':
        return memoryview(bytes(raw))
    if data_type == 'list':
        return list(raw)
    raise ValueError(f'unknown data_type {data_type!r}')


def encode_pixels(
    pixels: np.ndarray,
    encoding: str,
    *,
    order: Literal['rgb', 'bgr'] = 'rgb',
    is_bigendian: int = 0,
    alpha: int = 255,
) -> bytes:
    """
    Pack pixels tightly (step = width * bytes per pixel) in ROS ``encoding``.

    ``pixels`` is HxWx3 uint8 in ``order`` for colour, Bayer and YUV encodings,
    HxW uint8 for mono8 and HxW uint16 for mono16. Bayer keeps, per site, the
    channel its pattern names; yuv422 uses BT.601 limited range (what OpenCV's
    ``COLOR_YUV2BGR_UYVY`` inverts) with chroma averaged over each pixel pair.
    """
    if encoding == 'mono8':
        _check(pixels, 2, np.uint8)
        return pixels.tobytes()
    if encoding == 'mono16':
        _check(pixels, 2, np.uint16)
        return pixels.astype('>u2' if is_bigendian else '<u2').tobytes()
    _check(pixels, 3, np.uint8)
    rgb = pixels if order == 'rgb' else pixels[..., ::-1]
    if encoding in ('rgb8', 'bgr8', 'rgba8', 'bgra8'):
        out = rgb if encoding.startswith('rgb') else rgb[..., ::-1]
        if encoding.endswith('a8'):
            out = np.dstack([out, np.full(out.shape[:2], alpha, np.uint8)])
        return np.ascontiguousarray(out).tobytes()
    if encoding in BAYER_PATTERNS:
        return _bayer(rgb, BAYER_PATTERNS[encoding]).tobytes()
    if encoding in YUV422_LAYOUTS:
        return _yuv422(rgb, YUV422_LAYOUTS[encoding]).tobytes()
    raise ValueError(f'encode_pixels does not know encoding {encoding!r}')


def make_image(
    pixels: np.ndarray,
    encoding: str,
    *,
    order: Literal['rgb', 'bgr'] = 'rgb',
    step: int | None = None,
    is_bigendian: int = 0,
    data_type: str = 'ndarray',
    stamp_ns: int = 0,
    frame_id: str = 'cam',
    pad_byte: int = 0xA5,
    alpha: int = 255,
) -> Any:
    """
    Return a sensor_msgs/Image holding ``pixels`` (see ``encode_pixels``).

    Rows are padded to ``step`` bytes with ``pad_byte``; ``data`` is stored as
    ``data_type`` (one of ``DATA_TYPES``).
    """
    packed = encode_pixels(pixels, encoding, order=order, is_bigendian=is_bigendian, alpha=alpha)
    height, width = pixels.shape[:2]
    row = len(packed) // height
    step = row if step is None else step
    rows = np.frombuffer(packed, np.uint8).reshape(height, row)
    padded = np.full((height, step), pad_byte, np.uint8)
    padded[:, :row] = rows
    return raw_image(
        height=height,
        width=width,
        encoding=encoding,
        step=step,
        data=as_container(padded.tobytes(), data_type),
        is_bigendian=is_bigendian,
        stamp_ns=stamp_ns,
        frame_id=frame_id,
    )


def raw_image(
    *,
    height: Any,
    width: Any,
    encoding: Any,
    step: Any,
    data: Any,
    is_bigendian: Any = 0,
    stamp_ns: int = 0,
    frame_id: str = 'cam',
) -> Any:
    """Return a sensor_msgs/Image with exactly these (possibly invalid) field values."""
    return Image(
        header=header(stamp_ns, frame_id),
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=is_bigendian,
        step=step,
        data=data,
    )


def make_compressed(
    pixels_bgr: np.ndarray,
    fmt: Literal['jpeg', 'png'] = 'jpeg',
    *,
    format_field: str | None = None,
    quality: int = 95,
    data_type: str = 'ndarray',
    stamp_ns: int = 0,
    frame_id: str = 'cam',
) -> Any:
    """
    Return a sensor_msgs/CompressedImage of HxWx3 BGR ``pixels_bgr`` encoded as ``fmt``.

    ``format_field`` overrides ``msg.format`` (default: ``fmt``).
    """
    ext, params = ('.png', []) if fmt == 'png' else ('.jpg', [cv2.IMWRITE_JPEG_QUALITY, quality])
    ok, encoded = cv2.imencode(ext, pixels_bgr, params)
    assert ok, 'cv2.imencode failed'
    return compressed_msg(
        encoded.tobytes(),
        fmt if format_field is None else format_field,
        data_type=data_type,
        stamp_ns=stamp_ns,
        frame_id=frame_id,
    )


def compressed_msg(
    data: bytes,
    format_field: Any,
    *,
    data_type: str = 'ndarray',
    stamp_ns: int = 0,
    frame_id: str = 'cam',
) -> Any:
    """Return a sensor_msgs/CompressedImage holding ``data`` as ``data_type``."""
    return CompressedImage(
        header=header(stamp_ns, frame_id),
        format=format_field,
        data=as_container(data, data_type),
    )


def png_bomb(height: int, width: int) -> bytes:
    """Return a tiny, well-formed PNG whose IHDR declares ``height`` x ``width`` RGB pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))
        )

    ihdr = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return (
        b'\x89PNG\r\n\x1a\n'
        + chunk(b'IHDR', ihdr)
        + chunk(b'IDAT', zlib.compress(b'\x00' * 64))
        + chunk(b'IEND', b'')
    )


def jpeg_bomb(height: int, width: int) -> bytes:
    """Return a tiny 8x8 JPEG whose SOF0 header is patched to ``height`` x ``width``."""
    ok, encoded = cv2.imencode('.jpg', np.zeros((8, 8, 3), np.uint8))
    assert ok
    data = bytearray(encoded.tobytes())
    sof = data.find(b'\xff\xc0')
    struct.pack_into('>HH', data, sof + 5, height, width)
    return bytes(data)


def _check(pixels: np.ndarray, ndim: int, dtype: type) -> None:
    if pixels.ndim != ndim or pixels.dtype != dtype or (ndim == 3 and pixels.shape[2] != 3):
        want = 'HxW' if ndim == 2 else 'HxWx3'
        raise ValueError(f'expected {want} {np.dtype(dtype)}, got {pixels.shape} {pixels.dtype}')


def _bayer(rgb: np.ndarray, pattern: str) -> np.ndarray:
    """Keep, at each site, the channel ``pattern`` (row-major 2x2, e.g. 'rggb') names."""
    channel = {'r': 0, 'g': 1, 'b': 2}
    out = np.empty(rgb.shape[:2], np.uint8)
    for i, colour in enumerate(pattern):
        dy, dx = divmod(i, 2)
        out[dy::2, dx::2] = rgb[dy::2, dx::2, channel[colour]]
    return out


def _yuv422(rgb: np.ndarray, layout: str) -> np.ndarray:
    height, width = rgb.shape[:2]
    if width % 2:
        raise ValueError(f'yuv422 needs an even width, got {width}')
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    u2 = (u[:, 0::2] + u[:, 1::2]) / 2
    v2 = (v[:, 0::2] + v[:, 1::2]) / 2
    planes = {'y0': y[:, 0::2], 'y1': y[:, 1::2], 'u': u2, 'v': v2}
    names = ('u', 'y0', 'v', 'y1') if layout == 'uyvy' else ('y0', 'u', 'y1', 'v')
    packed = np.stack([planes[n] for n in names], axis=-1)
    return np.clip(np.rint(packed), 0, 255).astype(np.uint8).reshape(height, width * 2)


def image_to_array(msg: Any, color_order: Literal['rgb', 'bgr'] = 'rgb') -> np.ndarray:
    """Decode an Image with the runtime's decoder, in ``color_order`` (test shorthand)."""
    from grasp_classifier_ros.core.image_codec import decode_image, to_color_order

    return to_color_order(decode_image(msg), color_order)


def compressed_to_array(msg: Any, color_order: Literal['rgb', 'bgr'] = 'rgb') -> np.ndarray:
    """Decode a CompressedImage with the runtime's decoder, in ``color_order`` (test shorthand)."""
    from grasp_classifier_ros.core.image_codec import decode_compressed, to_color_order

    return to_color_order(decode_compressed(msg), color_order)
