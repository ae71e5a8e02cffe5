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
Choose the camera mount from one frame: the frame as each mount would show it to the model.

``mount_preview`` turns and mirrors one camera frame all eight ways (``image_rotation``
0/90/180/270, ``image_flip`` off/on), crops the ``roi`` and shrinks it exactly as the
node does, and scores each view with the model. Beside them: the frame as recorded and
a rendered frame of the view the shipped model was trained on (fingers rising from the
bottom corners, the object between them). The right mount is the one whose view looks
like that; the model's confidence on a frame where the grasp clearly held or clearly
failed is a second opinion, not the rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .sheets import caption, GREEN, sheet, thumbnail
from .synth import random_scene, render_frame
from ..core.image_codec import DecodedImage
from ..core.model import LoadedModel
from ..core.mount import Mount, ROTATIONS
from ..core.preprocess import crop_resize, Preprocessor
from ..core.roi import Roi

TILE = 160
MOUNTS = tuple(Mount(r, f) for f in (False, True) for r in ROTATIONS)


@dataclass(frozen=True)
class MountView:
    """One mount's view of the frame: the model input (RGB) and its success probability."""

    mount: Mount
    view: np.ndarray
    p_success: float


def mount_views(rgb: np.ndarray, model: LoadedModel, roi: Roi) -> list[MountView]:
    """Score one RGB camera frame under every mount (the node's preprocessing, exactly)."""
    meta = model.metadata
    out = []
    for mount in MOUNTS:
        pre = Preprocessor(meta, model.device, model.dtype, roi, mount)
        p = model.predict(pre(DecodedImage(rgb, 'rgb')))[0, meta.success_index]
        view = crop_resize(rgb, 'rgb', meta.with_updates(color_order='rgb'), roi, mount)
        out.append(MountView(mount, view, float(p)))
    return out


def mount_preview(
    rgb: np.ndarray, model: LoadedModel, roi: Roi, current: Mount, title: str
) -> tuple[np.ndarray, list[MountView]]:
    """Return the preview sheet (BGR) and the eight scored views."""
    views = mount_views(rgb, model, roi)
    h, w = rgb.shape[:2]
    scale = 2 * TILE / max(h, w)
    camera = cv2.resize(
        np.ascontiguousarray(rgb[..., ::-1]),
        (max(1, round(w * scale)), max(1, round(h * scale))),
        interpolation=cv2.INTER_AREA,
    )
    reference = render_frame(
        random_scene(np.random.default_rng(0), True), np.random.default_rng(0)
    )
    tiles = [
        caption(camera, f'as recorded ({w}x{h})'),
        caption(
            thumbnail(reference[..., ::-1], TILE),
            'the training view',
            '(rendered): fingers',
            'rise from the bottom',
        ),
    ]
    for v in views:
        chosen = v.mount == current
        tiles.append(
            caption(
                thumbnail(np.ascontiguousarray(v.view[..., ::-1]), TILE),
                f'image_rotation: {v.mount.rotation}',
                f'image_flip: {str(v.mount.flip).lower()}',
                f'p(success) {v.p_success:.2f}' + ('  <- params' if chosen else ''),
                colour=GREEN if chosen else (0, 0, 0),
                frame=chosen,
            )
        )
    head = sheet(tiles[:2], 2, title)
    grid = sheet(tiles[2:], 4, 'the model input under each mount (roi applied):')
    width = max(head.shape[1], grid.shape[1])
    pad = [
        np.pad(x, ((0, 0), (0, width - x.shape[1]), (0, 0)), constant_values=255)
        for x in (head, grid)
    ]
    return np.vstack(pad), views
