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
Camera-geometry checks: does the camera look pitched, or through another lens, than in training.

A gripper camera is bolted to the hand: its fingers sit in the same place in every frame
and the scene's perspective is the same. A camera pitched on its mount or a wider lens
moves that layout, but the thumbnail distance of ``core.familiarity`` does not see it: the
real sessions vary more in scene and light than a pitch changes the picture. So the checks
learn what each change looks like from the training frames themselves: a small network
(``GeometryNet``: 16x16 thumbnail, one hidden layer of ``HIDDEN`` units) tells the training
inputs from the same inputs warped as each change would show them (``PERTURBATIONS``:
pitched up or down, a wider or narrower lens, each over a range of strengths). The scene
and the light are the same on both sides, so what separates them is the layout; each
thumbnail is standardised to zero mean and unit spread first (``standardise``), so a darker
or warmer session does not move a score. The warps fill the frame's edge by replicating its
border, not by the reflection ``grasp-train``'s shift table uses, so the network does not
learn that table's artefacts. A linear discriminant per change was tried first: it caught
about half as many pitched windows (benchmarks/README.md).

``fit_geometry`` sets each check's limit like the distance's: the largest median of a window
of frames of any training session, scored by a network fitted without that session's fold.
Fitting uses torch (``grasp-train``); scoring (``scores``) is numpy. No ROS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np

from .metadata import encode_floats, GeometryNet

DRAWS = 3  # warped copies of each training frame per change
HIDDEN = 64
EPOCHS = 300  # full-batch AdamW steps
CONTRAST_FLOOR = 0.02  # added to a thumbnail's spread: a flat frame is not blown up to noise
CHUNK = 4  # rows per matrix product in ``scores`` (see core.familiarity.distances)


def _pitch(rgb: np.ndarray, amount: float, drop: float) -> np.ndarray:
    """
    Return the view of a camera pitched up (``amount`` > 0) or down (< 0).

    Pitched up, the top of the view narrows by ``|amount|`` of the width and the scene
    drops by ``drop * |amount|`` of the height; pitched down, the mirror image.
    """
    h, w = rgb.shape[:2]
    a = abs(amount)
    d, dy = a * w / 2, drop * a * h
    if amount >= 0:
        dst = [[d, dy], [w - 1 - d, dy], [w - 1, h - 1 + dy], [0, h - 1 + dy]]
    else:
        dst = [[0, -dy], [w - 1, -dy], [w - 1 - d, h - 1 - dy], [d, h - 1 - dy]]
    src = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(np.array(dst, dtype=np.float32), src)
    return cv2.warpPerspective(
        rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def _zoom(rgb: np.ndarray, scale: float) -> np.ndarray:
    """Return the view through a lens of ``1 / scale`` the field of view (< 1: wider)."""
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), 0.0, scale)
    return cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


Warp = Callable[[np.ndarray, np.random.Generator], np.ndarray]
PERTURBATIONS: dict[str, Warp] = {
    'pitched up': lambda im, r: _pitch(im, r.uniform(0.15, 0.6), r.uniform(0.2, 0.6)),
    'pitched down': lambda im, r: _pitch(im, -r.uniform(0.15, 0.6), r.uniform(0.2, 0.6)),
    'with a wider lens': lambda im, r: _zoom(im, r.uniform(0.55, 0.85)),
    'with a narrower lens': lambda im, r: _zoom(im, r.uniform(1.2, 1.6)),
}


def thumbnail(image: np.ndarray, grid: int) -> np.ndarray:
    """Return an ``(H, W, 3)`` uint8 model input area-averaged to ``(grid, grid, 3)`` uint8."""
    return cv2.resize(image, (grid, grid), interpolation=cv2.INTER_AREA)


def fine_thumbnails(shrunk: np.ndarray, order: str = 'rgb') -> np.ndarray:
    """Return ``(N, g, g, 3)`` uint8 thumbnails as ``(N, 3 g**2)`` float32 RGB in 0..1."""
    if order == 'bgr':
        shrunk = shrunk[..., ::-1]
    return shrunk.reshape(len(shrunk), -1).astype(np.float32) * np.float32(1.0 / 255.0)


def standardise(features: np.ndarray) -> np.ndarray:
    """Return each row less its mean, over its standard deviation plus ``CONTRAST_FLOOR``."""
    x = np.asarray(features, dtype=np.float32)
    x = x - x.mean(axis=1, keepdims=True)
    return x / (x.std(axis=1, keepdims=True) + np.float32(CONTRAST_FLOOR))


def _features(images: Sequence[np.ndarray], grid: int) -> np.ndarray:
    shrunk = np.stack([thumbnail(im, grid) for im in images])
    return standardise(fine_thumbnails(shrunk)).astype(np.float64)


def warped_features(
    images: Sequence[np.ndarray], grid: int, draws: int = DRAWS, seed: int = 0
) -> dict[str, np.ndarray]:
    """Return per perturbation the ``(draws, N, 3 grid**2)`` features of warped copies."""
    out = {}
    for k, (name, warp) in enumerate(PERTURBATIONS.items()):
        rng = np.random.default_rng([seed, k])
        out[name] = np.stack(
            [_features([warp(im, rng) for im in images], grid) for _ in range(draws)]
        )
    return out


def train_net(
    real: np.ndarray,
    warped: Sequence[np.ndarray],
    *,
    hidden: int = HIDDEN,
    epochs: int = EPOCHS,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """
    Return the weights of a network telling ``real`` rows (class 0) from each ``warped``.

    Full-batch AdamW on the cross-entropy, the real class weighted up to the size of one
    warped class; dropout 0.2 on the hidden layer. Deterministic for a ``seed``.
    """
    import torch

    parts = [np.asarray(real, np.float32)] + [np.asarray(w, np.float32) for w in warped]
    x = torch.from_numpy(np.concatenate(parts))
    y = torch.from_numpy(np.concatenate([np.full(len(a), i) for i, a in enumerate(parts)]))
    weight = torch.tensor([len(parts[1]) / len(parts[0])] + [1.0] * len(warped))
    gen = torch.Generator().manual_seed(seed)
    first = torch.nn.Linear(x.shape[1], hidden)
    last = torch.nn.Linear(hidden, len(parts))
    with torch.no_grad():
        for layer in (first, last):
            bound = 1.0 / layer.in_features**0.5
            layer.weight.uniform_(-bound, bound, generator=gen)
            layer.bias.uniform_(-bound, bound, generator=gen)
    opt = torch.optim.AdamW([*first.parameters(), *last.parameters()], lr=2e-3, weight_decay=1e-2)
    for _ in range(epochs):
        h = torch.relu(first(x))
        keep = (torch.rand(h.shape, generator=gen) >= 0.2).to(h.dtype) / 0.8
        loss = torch.nn.functional.cross_entropy(last(h * keep), y, weight=weight)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (
        first.weight.detach().numpy().T.copy(),
        first.bias.detach().numpy().copy(),
        last.weight.detach().numpy().T.copy(),
        last.bias.detach().numpy().copy(),
    )


def logit_margins(x: np.ndarray, arrays: tuple[np.ndarray, ...]) -> np.ndarray:
    """Return ``(N, K)``: each warped class's logit less the real class's, per row."""
    w1, b1, w2, b2 = arrays
    x = np.asarray(x, np.float32)
    out = np.empty((len(x), w2.shape[1] - 1), np.float32)
    for i in range(0, len(x), CHUNK):
        j = i + CHUNK
        z = np.maximum(x[i:j] @ w1 + b1, 0.0) @ w2 + b2
        out[i:j] = z[:, 1:] - z[:, :1]
    return out


def fit_geometry(
    images: Sequence[np.ndarray],
    folds: np.ndarray,
    window_medians: Callable[[np.ndarray], np.ndarray],
    *,
    grid: int,
    margin: float = 1.0,
    draws: int = DRAWS,
    hidden: int = HIDDEN,
    epochs: int = EPOCHS,
) -> tuple[GeometryNet, dict[str, Any]]:
    """
    Fit the ``GeometryNet`` on model inputs ``images`` (RGB uint8) of whole-group ``folds``.

    Each check's limit is set out of fold: ``window_medians(scores)`` returns a score
    array's per-group window medians (the caller's windowing). Returns the network and
    what the out-of-fold scores were.
    """
    real = _features(images, grid)
    warped = warped_features(images, grid, draws)
    names = tuple(warped)

    def fit(rows: np.ndarray) -> tuple[np.ndarray, ...]:
        copies = [warped[n][:, rows].reshape(-1, real.shape[1]) for n in names]
        return train_net(real[rows], copies, hidden=hidden, epochs=epochs)

    oof = np.zeros((len(real), len(names)), np.float32)
    for f in np.unique(folds):
        held = folds == f
        oof[held] = logit_margins(real[held], fit(~held))
    center = np.median(oof, axis=0)
    worst = np.array([window_medians(oof[:, k]).max() for k in range(len(names))])
    threshold = center + margin * np.maximum(worst - center, 1e-6)
    w1, b1, w2, b2 = fit(np.ones(len(real), bool))
    net = GeometryNet(
        names=names,
        grid=grid,
        hidden=hidden,
        weights1=encode_floats(w1),
        bias1=encode_floats(b1),
        weights2=encode_floats(w2),
        bias2=encode_floats(b2),
        center=tuple(float(c) for c in center),
        threshold=tuple(float(t) for t in threshold),
    )
    info = {
        n: {'center': round(float(center[k]), 4), 'window_median_max': round(float(worst[k]), 4)}
        for k, n in enumerate(names)
    }
    return net, info


def scores(features: np.ndarray, net: GeometryNet | None) -> np.ndarray:
    """Return ``(N, checks)`` scores of ``fine_thumbnails`` rows (1 = a check's limit)."""
    if net is None:
        return np.zeros((len(features), 0), np.float32)
    center = np.asarray(net.center, np.float32)
    span = np.asarray(net.threshold, np.float32) - center
    return (logit_margins(standardise(features), net.arrays()) - center) / span
