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
Procedural synthetic eye-in-hand gripper frames with labels.

The camera looks along two fingers entering from the bottom corners. A grasp
*succeeds* when an object sits between the finger tips; it *fails* when the
gripper is open and empty, closed on nothing, or closed next to an object it
missed. Background, lighting, colours, blur, noise and object shape are
randomised. Frames of one episode share a scene and drift slightly, like video.

This is the project's own data for tests and the demo (``make_bag --synth``,
``grasp-train synth``). It is never presented as a result on real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CLASS_SUCCESS, CLASS_FAILURE = 'grasped', 'notgrasped'
FAILURE_KINDS = ('open_empty', 'closed_empty', 'missed')
SHAPES = ('box', 'cylinder', 'ball')


@dataclass(frozen=True)
class Scene:
    """Everything fixed within an episode."""

    success: bool
    kind: str  # 'held' or one of FAILURE_KINDS
    bg_a: tuple[float, float, float]
    bg_b: tuple[float, float, float]
    bg_angle: float
    texture_seed: int
    finger_color: tuple[float, float, float]
    finger_width: float
    gap: float  # half distance between finger tips, fraction of width
    tip_y: float  # fraction of height of the finger tips
    shape: str
    obj_color: tuple[float, float, float]
    obj_size: float
    obj_dx: float  # object offset from the jaw centre, fraction of width
    brightness: float
    blur: float
    noise: float


def _rand_color(rng: np.random.Generator, lo: float = 0.0, hi: float = 1.0) -> tuple:
    return tuple(float(v) for v in rng.uniform(lo, hi, 3))


def random_scene(rng: np.random.Generator, success: bool, kind: str | None = None) -> Scene:
    """Draw an episode's scene; ``kind`` picks the failure mode (random if None)."""
    if success:
        kind = 'held'
    elif kind is None:
        kind = str(rng.choice(FAILURE_KINDS))
    size = float(rng.uniform(0.16, 0.3))
    gaps = {
        'held': size / 2 + 0.01,
        'open_empty': float(rng.uniform(0.22, 0.34)),
        'closed_empty': float(rng.uniform(0.015, 0.04)),
        'missed': float(rng.uniform(0.015, 0.12)),
    }
    obj_dx = 0.0
    if kind == 'missed':
        obj_dx = float(rng.choice([-1, 1]) * rng.uniform(0.3, 0.42))
    return Scene(
        success=success,
        kind=kind,
        bg_a=_rand_color(rng, 0.1, 0.9),
        bg_b=_rand_color(rng, 0.1, 0.9),
        bg_angle=float(rng.uniform(0, np.pi)),
        texture_seed=int(rng.integers(0, 2**31 - 1)),
        finger_color=_rand_color(rng, 0.05, 0.45),
        finger_width=float(rng.uniform(0.12, 0.2)),
        gap=gaps[kind],
        tip_y=float(rng.uniform(0.42, 0.58)),
        shape=str(rng.choice(SHAPES)),
        obj_color=_rand_color(rng, 0.0, 1.0),
        obj_size=size,
        obj_dx=obj_dx,
        brightness=float(rng.uniform(0.45, 1.25)),
        blur=float(rng.uniform(0.0, 1.6)),
        noise=float(rng.uniform(0.0, 0.06)),
    )


def _background(scene: Scene, size: int, shift: tuple[float, float]) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    t = np.cos(scene.bg_angle) * (xx + shift[0]) + np.sin(scene.bg_angle) * (yy + shift[1])
    t = np.clip(t, 0, 1)[..., None]
    img = (1 - t) * np.array(scene.bg_a, np.float32) + t * np.array(scene.bg_b, np.float32)
    trng = np.random.default_rng(scene.texture_seed)
    coarse = trng.uniform(-0.12, 0.12, (6, 6, 3)).astype(np.float32)
    img += cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(trng.integers(0, 6))):  # clutter: lines and blobs on the table
        p1 = (trng.uniform(0, 1, 2) * size).astype(int)
        p2 = (trng.uniform(0, 1, 2) * size).astype(int)
        col = tuple(float(c) for c in trng.uniform(0, 1, 3))
        if trng.uniform() < 0.5:
            cv2.line(img, tuple(p1), tuple(p2), col, int(trng.integers(1, 4)), cv2.LINE_AA)
        else:
            cv2.circle(img, tuple(p1), int(trng.integers(2, size // 10 + 3)), col, -1, cv2.LINE_AA)
    return img


def _draw_object(img: np.ndarray, scene: Scene, cx: float, cy: float, scale: float) -> None:
    size = img.shape[0]
    r = scene.obj_size * size / 2 * scale
    col = np.array(scene.obj_color, np.float32)
    dark, light = (
        tuple(float(c) for c in col * 0.6),
        tuple(float(c) for c in np.clip(col * 1.3, 0, 1)),
    )
    c = (int(cx), int(cy))
    if scene.shape == 'ball':
        cv2.circle(img, c, int(r), tuple(float(v) for v in col), -1, cv2.LINE_AA)
        cv2.circle(
            img, (int(cx - r / 3), int(cy - r / 3)), max(1, int(r / 3)), light, -1, cv2.LINE_AA
        )
    elif scene.shape == 'box':
        pts = np.array(
            [[cx - r, cy - r * 0.8], [cx + r, cy - r * 0.8], [cx + r, cy + r], [cx - r, cy + r]]
        )
        cv2.fillPoly(img, [pts.astype(np.int32)], tuple(float(v) for v in col), cv2.LINE_AA)
        top = np.array(
            [
                [cx - r, cy - r * 0.8],
                [cx + r, cy - r * 0.8],
                [cx + r * 0.7, cy - r * 1.2],
                [cx - r * 1.3, cy - r * 1.2],
            ]
        )
        cv2.fillPoly(img, [top.astype(np.int32)], light, cv2.LINE_AA)
    else:  # cylinder standing up
        x0, x1 = int(cx - r * 0.7), int(cx + r * 0.7)
        cv2.rectangle(
            img, (x0, int(cy - r * 1.2)), (x1, int(cy + r)), tuple(float(v) for v in col), -1
        )
        cv2.rectangle(img, (x0, int(cy - r * 1.2)), (int(cx - r * 0.3), int(cy + r)), dark, -1)
        cv2.ellipse(
            img,
            (int(cx), int(cy - r * 1.2)),
            (int(r * 0.7), max(1, int(r * 0.25))),
            0,
            0,
            360,
            light,
            -1,
            cv2.LINE_AA,
        )


def _draw_fingers(img: np.ndarray, scene: Scene, cx: float) -> None:
    size = img.shape[0]
    w = scene.finger_width * size
    tip_y = scene.tip_y * size
    col = np.array(scene.finger_color, np.float32)
    edge = tuple(float(c) for c in np.clip(col * 1.8 + 0.1, 0, 1))
    for side in (-1, 1):
        tip_x = cx + side * scene.gap * size
        base_x = cx + side * size * 0.62
        pts = np.array(
            [
                [base_x - w, size * 1.05],
                [base_x + w, size * 1.05],
                [tip_x + side * w * 0.35, tip_y],
                [tip_x, tip_y - w * 0.15],
            ]
        )
        cv2.fillPoly(img, [pts.astype(np.int32)], tuple(float(c) for c in col), cv2.LINE_AA)
        cv2.line(img, tuple(pts[2].astype(int)), tuple(pts[3].astype(int)), edge, 2, cv2.LINE_AA)
        pad = np.array(
            [
                [tip_x, tip_y - w * 0.15],
                [tip_x + side * w * 0.35, tip_y],
                [tip_x + side * w * 0.2, tip_y + w * 0.5],
            ]
        )
        cv2.fillPoly(img, [pad.astype(np.int32)], tuple(float(c) for c in col * 0.5), cv2.LINE_AA)


def render_frame(
    scene: Scene, rng: np.random.Generator, size: int = 128, t: float = 0.0
) -> np.ndarray:
    """Render one RGB uint8 frame of ``scene`` at time ``t`` (drift within an episode)."""
    shift = (0.03 * np.sin(t * 1.7 + scene.texture_seed % 7), 0.03 * np.cos(t * 1.3))
    img = _background(scene, size, shift)
    cx = size * (0.5 + 0.02 * np.sin(t * 2.1))
    cy = scene.tip_y * size
    if scene.kind == 'held':
        _draw_object(img, scene, cx, cy, 1.0)
    elif scene.kind == 'missed':
        _draw_object(img, scene, cx + scene.obj_dx * size, cy + 0.12 * size, 0.9)
    elif scene.kind == 'open_empty' and scene.texture_seed % 2 == 0:
        _draw_object(img, scene, cx + scene.obj_dx * size, size * 0.22, 0.45)  # far away
    _draw_fingers(img, scene, cx)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    vignette = 1.0 - 0.5 * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2)
    light = scene.brightness * (1.0 + 0.05 * np.sin(t * 3.0))
    img = img * (vignette[..., None] * light)
    if scene.blur > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), scene.blur)
    img = img + rng.normal(0.0, scene.noise, img.shape).astype(np.float32)
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def render_episode(
    rng: np.random.Generator,
    label: bool | str,
    n_frames: int,
    size: int = 128,
    kind: str | None = None,
    fps: float = 30.0,
) -> list[np.ndarray]:
    """Render ``n_frames`` RGB frames of one outcome (True/'success' or False/'failure')."""
    success = label is True or label in ('success', CLASS_SUCCESS)
    scene = random_scene(rng, success, kind)
    return [render_frame(scene, rng, size, i / fps) for i in range(n_frames)]
