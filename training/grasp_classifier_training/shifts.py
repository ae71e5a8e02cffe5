# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Camera shifts: what another robot's camera does to the same scene, as fixed image transforms.

Each ``Shift`` maps an RGB uint8 frame to the frame a different camera or mount would
have recorded: turned (a mount), wider or narrower field of view, pitched, noisier and
more compressed, darker or brighter, another white balance, softer focus. They are
deterministic (a seeded frame gives the same bytes), so a shift table is reproducible
and a "new robot" can be recorded as bags from the shared images.

Used by ``grasp-train cv --shifts`` (accuracy of held-out sessions seen through each
shift: the shift table of the model card) and ``benchmarks/new_robot.py`` (a simulated
robot for ``grasp-train adapt``). Training-time augmentation is torchvision v2
(``lit_module.build_augment``, ``distil`` views), not these fixed transforms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import zlib

import cv2
import numpy as np


class ShiftError(ValueError):
    """An unknown shift name; the message lists the known ones."""


@dataclass(frozen=True)
class Shift:
    """A named camera change; ``apply(rgb, seed)`` returns the shifted frame (same size)."""

    name: str
    description: str
    fn: Callable[[np.ndarray, np.random.Generator], np.ndarray]
    mount: bool = False  # a rotation: the node's image_rotation undoes it, not the model

    def apply(self, rgb: np.ndarray, seed: int = 0) -> np.ndarray:
        rng = np.random.default_rng([seed, zlib.crc32(self.name.encode())])
        return np.ascontiguousarray(self.fn(np.ascontiguousarray(rgb), rng))


def _zoom(rgb: np.ndarray, scale: float) -> np.ndarray:
    """Field of view: scale < 1 sees more (wider lens; the scene continues by reflection)."""
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), 0.0, scale)
    return cv2.warpAffine(
        rgb,
        m,
        (w, h),
        flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT_101,
    )


def _tilt(rgb: np.ndarray, amount: float, drop: float) -> np.ndarray:
    """Pitch the camera up: the top narrows by ``amount`` of the width, the scene drops."""
    h, w = rgb.shape[:2]
    d, dy = amount * w / 2, drop * h
    src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
    dst = np.float32([[d, dy], [w - 1 - d, dy], [w - 1, h - 1 + dy], [0, h - 1 + dy]])
    m = cv2.getPerspectiveTransform(dst, src)  # sample the source where the tilted view looks
    return cv2.warpPerspective(
        rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )


def _gain(rgb: np.ndarray, gains: tuple[float, float, float], gamma: float = 1.0) -> np.ndarray:
    x = (rgb.astype(np.float32) / 255.0) ** gamma * np.float32(gains)
    return (np.clip(x, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _noise_jpeg(
    rgb: np.ndarray, rng: np.random.Generator, sigma: float, quality: int
) -> np.ndarray:
    noisy = np.clip(rgb.astype(np.float32) + rng.normal(0.0, sigma, rgb.shape), 0, 255)
    ok, buf = cv2.imencode(
        '.jpg', noisy.astype(np.uint8)[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]


SHIFTS: dict[str, Shift] = {
    s.name: s
    for s in (
        Shift('rotate90', 'mount turned 90 deg', lambda x, r: np.rot90(x, -1), mount=True),
        Shift('rotate180', 'mount turned 180 deg', lambda x, r: np.rot90(x, 2), mount=True),
        Shift('wide_fov', 'wider field of view (scene x0.6)', lambda x, r: _zoom(x, 0.6)),
        Shift('narrow_fov', 'narrower field of view (scene x1.4)', lambda x, r: _zoom(x, 1.4)),
        Shift(
            'tilt',
            'camera pitched (top 30 % narrower, scene 12 % lower)',
            lambda x, r: _tilt(x, 0.3, 0.12),
        ),
        Shift(
            'noise_jpeg',
            'noisy sensor (sd 12) + JPEG q25',
            lambda x, r: _noise_jpeg(x, r, 12.0, 25),
        ),
        Shift('dark', 'under-exposed (x0.5, gamma 1.3)', lambda x, r: _gain(x, (0.5,) * 3, 1.3)),
        Shift('bright', 'over-exposed (x1.5, gamma 0.8)', lambda x, r: _gain(x, (1.5,) * 3, 0.8)),
        Shift(
            'white_balance',
            'warm white balance (R x1.3, B x0.7)',
            lambda x, r: _gain(x, (1.3, 1.0, 0.7)),
        ),
        Shift(
            'blur',
            'soft focus (Gaussian sd 2 px at 128 px)',
            lambda x, r: cv2.GaussianBlur(x, (0, 0), 2.0 * x.shape[1] / 128),
        ),
    )
}


def get_shift(name: str) -> Shift:
    """Return the shift called ``name``; ShiftError listing the known ones otherwise."""
    try:
        return SHIFTS[name]
    except KeyError:
        raise ShiftError(f"unknown shift '{name}' (known: {', '.join(SHIFTS)})") from None


def compose(names: list[str]) -> Shift:
    """One shift applying ``names`` in order (e.g. a new robot: wide_fov + tilt + ...)."""
    parts = [get_shift(n) for n in names]

    def fn(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for p in parts:
            x = np.ascontiguousarray(p.fn(x, rng))
        return x

    return Shift(
        '+'.join(names),
        ', '.join(p.description for p in parts),
        fn,
        mount=any(p.mount for p in parts),
    )
