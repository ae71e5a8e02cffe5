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

The camera sits behind a parallel gripper: two large finger pads (dark bodies
with a tan, ridged grip face) enter from the bottom-left and bottom-right
corners, and the scene beyond is a bright room (wall, ceiling lights, a pale
table). A grasp *succeeds* when a large object (bottle, can, box, bag) is held
between the pads and fills the view between them; it *fails* when the gripper
is open and empty, closed on nothing, or closed beside an object it missed.
Room, lighting, colours, pad pose, soft focus and noise are randomised. Frames
of one episode share a scene and drift slightly, like video.

This is the project's own data for tests and the demo (``make_bag --synth``,
``grasp-train synth``). It is drawn from scratch with numpy and OpenCV, copies
no real image, and is never presented as a result on real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CLASS_SUCCESS, CLASS_FAILURE = 'grasped', 'notgrasped'
FAILURE_KINDS = ('open_empty', 'closed_empty', 'missed')
SHAPES = ('bottle', 'can', 'box', 'bag')

# Object colours: dark, saturated and pale household objects (RGB, 0..1).
_OBJECT_COLORS = (
    (0.08, 0.08, 0.1),
    (0.12, 0.2, 0.45),
    (0.7, 0.12, 0.1),
    (0.15, 0.45, 0.25),
    (0.25, 0.45, 0.7),
    (0.85, 0.85, 0.8),
    (0.8, 0.65, 0.2),
    (0.45, 0.5, 0.25),
    (0.55, 0.55, 0.6),
    (0.9, 0.35, 0.3),
)


@dataclass(frozen=True)
class Scene:
    """Everything fixed within an episode."""

    success: bool
    kind: str  # 'held' or one of FAILURE_KINDS
    texture_seed: int
    wall: tuple[float, float, float]
    table: tuple[float, float, float]
    horizon: float  # fraction of height where the table meets the wall
    roll: float  # camera roll, degrees
    pad_face: tuple[float, float, float]  # tan grip face
    pad_body: tuple[float, float, float]  # dark pad body
    gap: float  # half distance between the pads' inner edges, fraction of width
    pad_top: float  # fraction of height of the pads' inner top corners
    pad_width: float  # fraction of width
    pad_slope: float  # how far the top edges fall to the sides (more for pads near the centre)
    shape: str
    obj_color: tuple[float, float, float]
    obj_half: float  # object half width, fraction of width
    obj_top: float  # fraction of height of the object's top (may be < 0: out of view)
    obj_dx: float  # object offset from the jaw centre, fraction of width
    tint: tuple[float, float, float]
    brightness: float
    blur: float
    noise: float


def _jitter(rng: np.random.Generator, rgb: tuple[float, ...], amount: float) -> tuple:
    return tuple(float(np.clip(c + rng.uniform(-amount, amount), 0, 1)) for c in rgb)


def random_scene(rng: np.random.Generator, success: bool, kind: str | None = None) -> Scene:
    """Draw an episode's scene; ``kind`` picks the failure mode (random if None)."""
    if success:
        kind = 'held'
    elif kind is None:
        kind = str(rng.choice(FAILURE_KINDS))
    obj_half = float(rng.uniform(0.2, 0.34))
    gaps = {  # a held object is nearer than its visible width: the pads hide its sides
        'held': obj_half - float(rng.uniform(0.02, 0.06)),
        'open_empty': float(rng.uniform(0.2, 0.36)),
        'closed_empty': float(rng.uniform(0.0, 0.025)),
        'missed': float(rng.uniform(0.0, 0.08)),
    }
    obj_dx = 0.0
    if kind == 'missed':
        obj_dx = float(rng.choice([-1, 1]) * rng.uniform(0.36, 0.5))
        obj_half = float(rng.uniform(0.1, 0.18))
    grey = float(rng.uniform(0.62, 0.92))
    table = float(rng.uniform(0.72, 0.95))
    face = (
        float(rng.uniform(0.72, 0.92)),
        float(rng.uniform(0.48, 0.62)),
        float(rng.uniform(0.28, 0.4)),
    )
    return Scene(
        success=success,
        kind=kind,
        texture_seed=int(rng.integers(0, 2**31 - 1)),
        wall=_jitter(rng, (grey, grey, grey * 1.02), 0.05),
        table=_jitter(rng, (table, table, table * 1.03), 0.04),
        horizon=float(rng.uniform(0.12, 0.45)),
        roll=float(rng.uniform(-12, 12)),
        pad_face=face,
        pad_body=_jitter(rng, (0.16, 0.13, 0.26), 0.05),
        gap=gaps[kind],
        pad_top=float(rng.uniform(0.28, 0.44)),
        pad_width=float(rng.uniform(0.34, 0.44)),
        pad_slope=float(rng.uniform(0.14, 0.26) + 1.1 * max(0.0, 0.3 - gaps[kind])),
        shape=str(rng.choice(SHAPES)),
        obj_color=_jitter(rng, _OBJECT_COLORS[int(rng.integers(len(_OBJECT_COLORS)))], 0.06),
        obj_half=obj_half,
        obj_top=float(rng.uniform(-0.25, 0.22)),
        obj_dx=obj_dx,
        tint=_jitter(rng, (0.97, 0.97, 1.04), 0.04),
        brightness=float(rng.uniform(0.8, 1.12)),
        blur=float(rng.uniform(1.0, 2.2)),
        noise=float(rng.uniform(0.005, 0.025)),
    )


def _room(scene: Scene, size: int, shift: tuple[float, float]) -> np.ndarray:
    """Draw a wall with lights and furniture above a pale table, seen with a little roll."""
    trng = np.random.default_rng(scene.texture_seed)
    big = int(size * 1.5)
    img = np.empty((big, big, 3), np.float32)
    hy = int((scene.horizon + 0.25) / 1.5 * big + shift[1] * size)
    img[:hy] = scene.wall
    img[hy:] = scene.table
    yy = np.linspace(0, 1, big, dtype=np.float32)[:, None, None]
    img[hy:] += 0.08 * (yy[hy:] - yy[hy])  # the table brightens towards the camera
    dx = int(shift[0] * size)
    for _ in range(int(trng.integers(1, 5))):  # shelves, doors, windows, screens
        x0 = int(trng.uniform(-0.1, 1.0) * big) + dx
        w = int(trng.uniform(0.08, 0.35) * big)
        y0 = int(trng.uniform(0.0, 0.8) * hy)
        tone = float(trng.choice([trng.uniform(0.05, 0.35), trng.uniform(0.9, 1.0)]))
        col = tuple(float(np.clip(tone + trng.uniform(-0.05, 0.05), 0, 1)) for _ in range(3))
        cv2.rectangle(img, (x0, y0), (x0 + w, hy), col, -1)
    for _ in range(int(trng.integers(0, 3))):  # ceiling lights
        x0 = int(trng.uniform(0, 1) * big) + dx
        y0 = int(trng.uniform(0, 0.3) * hy)
        cv2.line(img, (x0, y0), (x0 + int(big * 0.12), y0 + 2), (1.0, 1.0, 1.0), 3, cv2.LINE_AA)
    for _ in range(int(trng.integers(0, 4))):  # small things lying on the table
        cx = int(trng.uniform(0.1, 0.9) * big) + dx
        cy = int(hy + trng.uniform(0.05, 0.35) * (big - hy))
        r = int(trng.uniform(0.02, 0.05) * big)
        col = tuple(float(c) for c in trng.uniform(0.05, 0.8, 3))
        cv2.ellipse(img, (cx, cy), (r, max(1, r * 2 // 3)), 0, 0, 360, col, -1, cv2.LINE_AA)
    m = cv2.getRotationMatrix2D((big / 2, big / 2), scene.roll, 1.0).astype(np.float64)
    m[:, 2] -= (big - size) / 2
    return cv2.warpAffine(img, m, (size, size), borderMode=cv2.BORDER_REFLECT)


def _draw_object(img: np.ndarray, scene: Scene, cx: float, top: float, scale: float) -> None:
    """Draw a large object between (or beside) the pads, shaded as a solid."""
    size = img.shape[0]
    r = scene.obj_half * size * scale
    col = np.array(scene.obj_color, np.float32)
    x0, x1 = int(round(cx - r)), int(round(cx + r))
    y0 = int(round(top * size))
    xs = np.arange(size, dtype=np.float32)
    u = np.clip((xs - cx) / max(r, 1.0), -1, 1)
    if scene.shape == 'box':
        shade = np.where(u < 0.35, 0.95, 0.7) - 0.1 * u
    elif scene.shape == 'bag':
        shade = 0.85 - 0.25 * u**2 + 0.05 * np.sin(u * 9.0)
    else:  # round: cylinder shading with a soft highlight
        shade = 0.55 + 0.45 * np.sqrt(1 - u**2) + 0.25 * np.exp(-(((u + 0.35) / 0.15) ** 2))
    band = (col[None, :] * shade[:, None]).astype(np.float32)
    ys, ye = max(y0, 0), size
    xa, xb = max(x0, 0), min(x1 + 1, size)
    if xa >= xb or ys >= ye:
        return
    img[ys:ye, xa:xb] = band[xa:xb][None]
    trng = np.random.default_rng(scene.texture_seed + 1)
    if scene.shape in ('bottle', 'box') and trng.uniform() < 0.7:  # a printed label
        ly0 = int(ys + trng.uniform(0.1, 0.4) * (ye - ys))
        ly1 = int(ly0 + trng.uniform(0.15, 0.4) * (ye - ys))
        label = np.array(trng.uniform(0.05, 0.95, 3), np.float32)
        img[ly0:ly1, xa:xb] = (label[None, :] * shade[xa:xb, None])[None]
        for _ in range(int(trng.integers(2, 8))):  # print on it
            tx = int(trng.uniform(xa, max(xa + 1, xb - 4)))
            ty = int(trng.uniform(ly0, max(ly0 + 1, ly1 - 2)))
            tcol = tuple(float(c) for c in trng.uniform(0, 1, 3))
            cv2.rectangle(img, (tx, ty), (tx + int(trng.integers(2, 10)), ty + 1), tcol, -1)
    lit = tuple(float(c) for c in np.clip(col * 1.25 + 0.08, 0, 1))
    if scene.shape in ('bottle', 'can') and y0 > -r * 0.3:
        cap = lit if scene.shape == 'can' else tuple(float(c) for c in col * 0.6)
        rr = r if scene.shape == 'can' else r * 0.8
        cv2.ellipse(
            img, (int(cx), y0), (int(rr), max(1, int(r * 0.3))), 0, 0, 360, cap, -1, cv2.LINE_AA
        )
    elif scene.shape == 'box' and y0 > 0:
        top_face = np.array(
            [[x0, y0], [x1, y0], [x1 - r * 0.2, y0 - r * 0.25], [x0 + r * 0.2, y0 - r * 0.25]]
        )
        cv2.fillPoly(img, [top_face.astype(np.int32)], lit, cv2.LINE_AA)
    elif scene.shape == 'bag' and y0 > 0:
        cv2.ellipse(
            img,
            (int(cx), y0),
            (int(r), max(1, int(r * 0.25))),
            0,
            180,
            360,
            tuple(float(c) for c in col * 0.85),
            -1,
            cv2.LINE_AA,
        )


def _draw_pads(img: np.ndarray, scene: Scene, cx: float, dy: float) -> None:
    """Draw two wide finger pads from the bottom corners: tan ridged grip face, dark body."""
    size = img.shape[0]
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    top = scene.pad_top + dy
    face_col = np.array(scene.pad_face, np.float32)
    body_col = np.array(scene.pad_body, np.float32)
    for side in (-1, 1):
        inner = cx / size + side * scene.gap  # inner top corner, x
        # distance from the inner edge, 0 at the edge, 1 at the outer side
        u = (xs - inner) * side / (scene.pad_width * 1.6) + (ys - top) * 0.12
        top_y = top + scene.pad_slope * np.clip(u, 0, 1)  # top edge slopes down to the outside
        inside = (u > 0) & (ys > top_y)
        v = (ys - top_y) / np.maximum(1.0 - top_y, 1e-3)  # 0 at the top edge, 1 at the bottom
        face_depth = 0.6
        rows = v / face_depth * 2.5
        cols = u * 3.2 / (1.0 + 0.6 * v)
        cell = 0.55 + 0.45 * (1.0 - (rows % 1.0))  # each ridge lit from above
        hole = ((rows % 1.0) > 0.35) & ((cols % 1.0) > 0.3) & ((cols % 1.0) < 0.85)
        face = face_col[None, None] * np.where(hole, 0.3 + 0.3 * (rows % 1.0), cell)[..., None]
        body = body_col[None, None] * (1.0 - 0.35 * np.clip(v - face_depth, 0, 1))[..., None]
        pad = np.where((v < face_depth)[..., None], face, body)
        edge = u < 0.09  # the dark inner side of the pad
        pad = np.where(edge[..., None], body_col * 0.5, pad)
        img[inside] = pad[inside]


def render_frame(
    scene: Scene, rng: np.random.Generator, size: int = 128, t: float = 0.0
) -> np.ndarray:
    """Render one RGB uint8 frame of ``scene`` at time ``t`` (drift within an episode)."""
    phase = scene.texture_seed % 7
    shift = (0.03 * np.sin(t * 1.7 + phase), 0.02 * np.cos(t * 1.3 + phase))
    img = _room(scene, size, shift)
    cx = size * (0.5 + 0.01 * np.sin(t * 2.1))
    dy = 0.01 * np.sin(t * 1.9 + phase)
    if scene.kind == 'held':
        _draw_object(img, scene, cx, scene.obj_top + dy, 1.0)
    elif scene.kind == 'missed':
        ox = cx + (scene.obj_dx + shift[0]) * size
        _draw_object(img, scene, ox, scene.obj_top + 0.15 + shift[1], 1.0)
    if scene.kind == 'held':  # the pads shade the held object's lower part
        ys = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
        dark = 1.0 - 0.6 * np.clip((ys - scene.pad_top - dy) / 0.4, 0, 1)
        x0 = max(int(cx - scene.obj_half * size), 0)
        x1 = int(cx + scene.obj_half * size) + 1
        img[:, x0:x1] *= dark
    _draw_pads(img, scene, cx, dy)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    vignette = 1.0 - 0.35 * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2)
    light = scene.brightness * (1.0 + 0.03 * np.sin(t * 3.0))
    img = img * (vignette[..., None] * light) * np.array(scene.tint, np.float32)
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
