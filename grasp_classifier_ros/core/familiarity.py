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
The out-of-depth monitor: are the live inputs like the ones the model was trained on.

A gripper camera sees its own fingers in the same place in every frame, lit and framed
the same way; a camera turned on its mount, a wider lens or a different scene moves all
of that. The statistic is cheap and model-independent: the preprocessed model input (so
``image_rotation``, ``image_flip`` and ``roi`` count) area-averaged to an 8x8 RGB
thumbnail (``thumbnail``), and its Mahalanobis-type distance to the training thumbnails
(``FamiliarityRecord``: mean and the whitening of a shrunk covariance; ``distance``: the
mean squared whitened coordinate, about 1 on training frames).

A pitched camera or another lens keeps the scene's colours and moves its layout, which that
distance does not see; ``core.camera_geometry``'s checks (linear discriminants on a 16x16
thumbnail, learnt from the training frames warped) do, and the record carries them.

``fit_record_from_images`` builds the record from training inputs and their groups
(sessions): the threshold is the largest median distance of a ``window``-frame window of
any session when the statistics are fitted without that session's fold (``FOLDS`` folds of
whole groups), times ``MARGIN``; so it reflects sessions the statistics have never seen.
The geometry checks' limits are set the same way. ``FamiliarityMonitor`` keeps each
classified frame's 16x16 thumbnail (``observe``: ~0.01 ms on the inference thread), scores
them in a batch when diagnostics ask (``state``, once a second) and judges the medians of
the last ``familiarity_window`` frames against those thresholds times the
``familiarity_threshold`` parameter. No ROS, no torch.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
import threading
from typing import Any

import numpy as np

from . import camera_geometry
from .metadata import FamiliarityRecord, GeometryNet
from .mount import Mount, UPRIGHT

GRID = 8
SHRINKAGE = 0.02  # covariance shrinkage towards its mean variance (benchmarks/familiarity.py)
FOLDS = 5
MARGIN = 1.0  # threshold = MARGIN x the largest out-of-fold window median of the training data
# The turn-ratio threshold is at least this: a frame must fit the training data 30 % better
# turned (out of fold, real windows reach 1.16; turned cameras' windows 1.5 and more).
ORIENTATION_FLOOR = 1.3
REFERENCE_WINDOW = 30
CHUNK = 4  # rows per matrix product (see ``distances``)
REASON = (
    'inputs unlike the training data: check the camera mount, image_rotation, roi, '
    'or adapt the model'
)
NO_REFERENCE = 'no reference statistics in the model (grasp-train familiarity adds them)'
NO_GEOMETRY = (
    'no camera-geometry checks in the model (a record from before them): a pitched camera or '
    'another lens goes unnoticed (grasp-train familiarity adds them)'
)


def load_note(record: FamiliarityRecord | None) -> str:
    """Return what to say at model load about the monitor's limits ('' when all is there)."""
    if record is None:
        return NO_REFERENCE
    return NO_GEOMETRY if record.geometry is None else ''


class FamiliarityError(ValueError):
    """Reference statistics cannot be fitted from these inputs (the message says why)."""


def shrink(small: np.ndarray, grid: int = GRID) -> np.ndarray:
    """
    Return an ``(H, W, 3)`` uint8 model input area-shrunk to ``(2 grid, 2 grid, 3)`` uint8.

    The one thumbnail kept per frame: the geometry checks read it as it is, the distance
    at half its size (``features_of``).
    """
    return camera_geometry.thumbnail(small, 2 * grid)


def features_of(shrunk: np.ndarray, order: str = 'rgb') -> np.ndarray:
    """Return ``(N, 2g, 2g, 3)`` uint8 ``shrink`` s as ``(N, 3 g**2)`` RGB in 0..1 (2x2 means)."""
    n, g = len(shrunk), shrunk.shape[1] // 2
    fine = camera_geometry.fine_thumbnails(shrunk, order).reshape(n, g, 2, g, 2, 3)
    return fine.mean(axis=(2, 4)).reshape(n, -1)


def thumbnail(small: np.ndarray, order: str = 'rgb', grid: int = GRID) -> np.ndarray:
    """Return an ``(H, W, 3)`` uint8 model input as ``3 * grid**2`` float32 RGB values in 0..1."""
    return features_of(shrink(small, grid)[None], order)[0]


def thumbnails(images: Sequence[np.ndarray], order: str = 'rgb', grid: int = GRID) -> np.ndarray:
    """Return ``thumbnail`` of each image as rows of an ``(N, 3 * grid**2)`` array."""
    return features_of(np.stack([shrink(im, grid) for im in images]), order)


def fit_statistics(features: np.ndarray, shrinkage: float = SHRINKAGE) -> tuple[Any, Any]:
    """
    Return the mean and whitening matrix of ``features`` (rows).

    The covariance is shrunk towards its mean variance: ``(1 - s) C + s tr(C)/d I``, so a
    few hundred frames give a usable inverse and directions the training frames never vary
    in (the fingers, say) still weigh most.
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise FamiliarityError(f'need at least 2 frames to fit statistics, got {len(x)}')
    mean = x.mean(0)
    cov = np.cov(x - mean, rowvar=False)
    d = cov.shape[0]
    scale = max(float(np.trace(cov)) / d, 1e-8)
    cov = (1.0 - shrinkage) * cov + shrinkage * scale * np.eye(d)
    cov += 1e-9 * scale * np.eye(d)  # a constant input set still inverts
    values, vectors = np.linalg.eigh(cov)
    whitening = vectors / np.sqrt(np.maximum(values, 1e-12 * scale))
    return mean.astype(np.float32), whitening.astype(np.float32)


def distances(features: np.ndarray, mean: np.ndarray, whitening: np.ndarray) -> np.ndarray:
    """
    Return each row's distance: the mean squared whitened coordinate.

    In products of ``CHUNK`` rows: larger ones make OpenBLAS start its threads, which on a
    loaded 2-core machine stalled a 120-row product for up to 20 ms and spin on the core
    inference needs; 4 rows stay single-threaded (~4 us each).
    """
    x = np.asarray(features, dtype=np.float32) - mean
    out = np.empty(len(x), dtype=np.float32)
    for i in range(0, len(x), CHUNK):
        j = i + CHUNK
        z = x[i:j] @ whitening
        out[i:j] = (z * z).mean(axis=1)
    return out


def turned(features: np.ndarray, grid: int = GRID) -> np.ndarray:
    """
    Return each row's thumbnail turned 0, 1, 2 and 3 quarter turns clockwise: ``(N, 4, dim)``.

    Turn ``k`` is what ``image_rotation`` ``90 k`` more would show the model.
    """
    t = np.asarray(features, dtype=np.float32).reshape(-1, grid, grid, 3)
    out = [np.rot90(t, -k, axes=(1, 2)).reshape(len(t), -1) for k in range(4)]
    return np.stack(out, axis=1)


def turn_distances(
    features: np.ndarray, mean: np.ndarray, whitening: np.ndarray, grid: int = GRID
) -> np.ndarray:
    """Return the distances of each row turned 0..3 quarter turns: ``(N, 4)``."""
    t = turned(features, grid)
    return distances(t.reshape(-1, t.shape[2]), mean, whitening).reshape(len(t), 4)


def orientation_ratio(turn_dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """
    Return per row of ``turn_distances`` the as-is over the best turned distance, and the turn.

    Above 1: the frame fits the training data better turned (a camera turned on its mount).
    """
    d = np.asarray(turn_dist, dtype=np.float64)
    best = 1 + d[:, 1:].argmin(axis=1)
    return d[:, 0] / np.maximum(d[:, 1:].min(axis=1), 1e-12), best


def window_medians(dist: np.ndarray, window: int) -> np.ndarray:
    """Medians of every ``window`` consecutive distances (one median when fewer)."""
    d = np.asarray(dist, dtype=np.float64)
    if len(d) <= window:
        return np.array([np.median(d)]) if len(d) else np.zeros(0)
    view = np.lib.stride_tricks.sliding_window_view(d, window)
    return np.median(view, axis=1)


def group_fold_ids(groups: Sequence[str], k: int = FOLDS) -> np.ndarray:
    """Assign whole groups to ``k`` folds, largest first, to the fold with fewest frames."""
    names, counts = np.unique(np.asarray(groups), return_counts=True)
    fold_of: dict[str, int] = {}
    size = np.zeros(k)
    for i in sorted(range(len(names)), key=lambda i: (-counts[i], names[i])):
        f = int(np.argmin(size))
        fold_of[str(names[i])] = f
        size[f] += counts[i]
    return np.array([fold_of[str(g)] for g in groups])


def group_windows(groups: Sequence[str], window: int) -> Callable[[np.ndarray], np.ndarray]:
    """Return ``f(values)``: the ``window_medians`` of each group's values, concatenated."""
    members = [[i for i, g in enumerate(groups) if g == name] for name in dict.fromkeys(groups)]

    def windowed(values: np.ndarray) -> np.ndarray:
        return np.concatenate([window_medians(values[m], window) for m in members])

    return windowed


def out_of_fold_windows(
    features: np.ndarray,
    groups: Sequence[str],
    *,
    window: int = REFERENCE_WINDOW,
    k: int = FOLDS,
    shrinkage: float = SHRINKAGE,
    grid: int = GRID,
) -> dict[str, np.ndarray]:
    """
    Score every frame with statistics fitted without its group's fold; window them per group.

    Returns ``distance`` and ``ratio`` (``orientation_ratio``) per frame and their
    ``distance_windows``/``ratio_windows`` medians. Frames are taken in the order given
    within each group (a session's frame order).
    """
    groups = [str(g) for g in groups]
    n_groups = len(set(groups))
    if n_groups < 2:
        raise FamiliarityError(
            f'frames of {n_groups} session(s): need at least 2 sessions (groups) to set the '
            'threshold on sessions the statistics have not seen'
        )
    folds = group_fold_ids(groups, min(k, n_groups))
    turns = np.zeros((len(groups), 4))
    for f in np.unique(folds):
        held = folds == f
        mean, white = fit_statistics(features[~held], shrinkage)
        turns[held] = turn_distances(features[held], mean, white, grid)
    ratio, _ = orientation_ratio(turns)
    windowed = group_windows(groups, window)
    return {
        'distance': turns[:, 0],
        'ratio': ratio,
        'distance_windows': windowed(turns[:, 0]),
        'ratio_windows': windowed(ratio),
    }


def fit_record(
    features: np.ndarray,
    groups: Sequence[str],
    *,
    window: int = REFERENCE_WINDOW,
    margin: float = MARGIN,
    shrinkage: float = SHRINKAGE,
    grid: int = GRID,
    details: dict[str, Any] | None = None,
    geometry: GeometryNet | None = None,
) -> FamiliarityRecord:
    """
    Fit the reference statistics of training ``features`` (``thumbnails``) with their groups.

    ``geometry``: the camera-geometry network, fitted already (``fit_record_from_images``).
    Raise FamiliarityError with fewer than 2 groups (no unseen session to set the threshold on).
    """
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or features.shape[1] != 3 * grid * grid:
        raise FamiliarityError(f'features must be rows of {3 * grid * grid} values')
    if len(groups) != len(features):
        raise FamiliarityError(f'{len(groups)} groups for {len(features)} frames')
    oof = out_of_fold_windows(features, groups, window=window, shrinkage=shrinkage, grid=grid)
    mean, white = fit_statistics(features, shrinkage)
    worst = float(oof['distance_windows'].max())
    worst_ratio = float(oof['ratio_windows'].max())
    info = {
        'features': f'{grid}x{grid} RGB thumbnail of the preprocessed model input, 0..1',
        'threshold_rule': (
            f'{margin} x the largest median of {window} consecutive out-of-fold distances '
            f'(and distance ratios, at least {ORIENTATION_FLOOR}) of any group, '
            f'{min(FOLDS, len(set(groups)))} folds of whole groups'
        ),
        'out_of_fold': {
            'distance_p50': float(np.median(oof['distance'])),
            'distance_p95': float(np.quantile(oof['distance'], 0.95)),
            'distance_window_median_max': worst,
            'ratio_p50': float(np.median(oof['ratio'])),
            'ratio_window_median_max': worst_ratio,
        },
        **(details or {}),
    }
    return FamiliarityRecord(
        grid=grid,
        mean=tuple(float(v) for v in mean),
        whitening=FamiliarityRecord.encode_matrix(white),
        threshold=max(worst * margin, 1e-6),
        orientation_threshold=max(worst_ratio * margin, ORIENTATION_FLOOR),
        window=window,
        images=len(features),
        groups=len(set(groups)),
        shrinkage=shrinkage,
        details=info,
        geometry=geometry,
    )


def fit_record_from_images(
    images: Sequence[np.ndarray],
    groups: Sequence[str],
    *,
    window: int = REFERENCE_WINDOW,
    margin: float = MARGIN,
    details: dict[str, Any] | None = None,
    geometry: bool = True,
) -> FamiliarityRecord:
    """
    Fit the whole record on training model inputs (RGB uint8), in frame order per group.

    The thumbnail distance and turn ratio (``fit_record``) and, with ``geometry``, the
    camera-geometry checks, their limits all from sessions left out by fold.
    """
    groups = [str(g) for g in groups]
    features = thumbnails(images)
    net: GeometryNet | None = None
    info = dict(details or {})
    if geometry and len(set(groups)) >= 2:
        folds = group_fold_ids(groups, min(FOLDS, len(set(groups))))
        net, oof = camera_geometry.fit_geometry(
            images, folds, group_windows(groups, window), grid=2 * GRID, margin=margin
        )
        info['geometry'] = {
            'features': f'{2 * GRID}x{2 * GRID} RGB thumbnail of the preprocessed model input',
            'rule': (
                f'network ({net.hidden} hidden units) telling the training inputs from the '
                f'same inputs warped ({camera_geometry.DRAWS} draws per frame and change); '
                f'limit {margin} x the largest out-of-fold median of {window} consecutive '
                'frames of any group'
            ),
            'out_of_fold': oof,
        }
    return fit_record(features, groups, window=window, margin=margin, details=info, geometry=net)


@dataclass(frozen=True)
class FamiliarityState:
    """What the monitor says now: ``status`` and, once it has a full window, the medians."""

    status: str  # 'off' | 'no_reference' | 'collecting' | 'familiar' | 'unfamiliar'
    frames: int
    window: int
    distance: float | None = None  # median of the last ``window`` frame distances
    limit: float | None = None  # the record's threshold x the familiarity_threshold parameter
    ratio: float | None = None  # median distance ratio as-is / best quarter turn
    ratio_limit: float | None = None
    turn: int = 0  # the quarter turns (clockwise) most frames fit best, when ratio > ratio_limit
    mount: Mount = UPRIGHT  # image_rotation and image_flip in force, for the suggestion
    geometry: str = ''  # the camera change whose check fires highest, when one fires
    geometry_score: float | None = None  # the highest check's window median / its limit

    @property
    def unfamiliar(self) -> bool:
        return self.status == 'unfamiliar'

    @property
    def message(self) -> str:
        """One line for diagnostics."""
        if self.status == 'unfamiliar':
            assert self.distance is not None and self.limit is not None
            why = f'familiarity distance {self.distance:.2f}, limit {self.limit:.2f}'
            if self.turn:
                # image_rotation turns before image_flip mirrors: behind a mirror, the other way
                turn = -self.turn if self.mount.flip else self.turn
                suggest = (self.mount.rotation + 90 * turn) % 360
                why = (
                    f'they look like the training data turned {90 * self.turn} deg further '
                    f'clockwise: try image_rotation {suggest}; {why}'
                )
            elif self.geometry:
                # which check fires best is a hint, not a diagnosis: the checks overlap
                why = (
                    f"the view's geometry differs from training, most like a camera "
                    f"{self.geometry}: check the camera's pitch, lens and roi (geometry score "
                    f'{self.geometry_score:.2f} x its limit); {why}'
                )
            return f'{REASON} ({why})'
        if self.status == 'no_reference':
            return NO_REFERENCE
        if self.status == 'off':
            return 'off (familiarity_threshold 0)'
        if self.status == 'collecting':
            return f'collecting ({self.frames} of {self.window} frames)'
        return f'familiar (distance {self.distance:.2f} <= {self.limit:.2f})'

    def values(self) -> list[tuple[str, str]]:
        """Key/value pairs for the diagnostics status."""

        def num(v: float | None) -> str:
            return '-' if v is None else f'{v:.3f}'

        return [
            ('familiarity', self.status),
            ('familiarity distance (window median)', num(self.distance)),
            ('familiarity limit', num(self.limit)),
            ('familiarity turn ratio (window median)', num(self.ratio)),
            ('familiarity turn ratio limit', num(self.ratio_limit)),
            ('familiarity geometry (window median / limit)', num(self.geometry_score)),
            ('familiarity geometry', self.geometry or '-'),
            ('familiarity frames', f'{self.frames} of {self.window}'),
        ]


class FamiliarityMonitor:
    """
    Score classified frames against a model's ``FamiliarityRecord``; judge a sliding window.

    ``observe`` runs on the inference thread and only keeps the frame's thumbnail (one
    ``cv2.resize`` to 16x16: the per-frame cost); ``state`` runs on the diagnostics thread,
    about once a second, and scores the thumbnails it has not scored yet in one batch (each
    as it is and turned by quarter turns: ``turn_distances``), then judges the window's
    medians. ``record`` None: the model carries no statistics; ``scale`` 0: off.
    """

    def __init__(
        self,
        record: FamiliarityRecord | None,
        *,
        window: int = REFERENCE_WINDOW,
        scale: float = 1.0,
        color_order: str = 'rgb',
        mount: Mount = UPRIGHT,
    ) -> None:
        self.record = record
        self.window = window
        self.scale = scale
        self.color_order = color_order
        self.mount = mount
        self._lock = threading.Lock()
        # [thumbnail (2 grid, 2 grid, 3) uint8, its score row (``scores``) or None]
        self._frames: deque[list[Any]] = deque(maxlen=window)
        self._stream: list[tuple[float, ...]] | None = None  # every row, with keep_stream
        self._grid = record.grid if record is not None else GRID
        if record is not None:
            self._mean = np.asarray(record.mean, dtype=np.float32)
            self._white = np.ascontiguousarray(record.whitening_matrix())

    @property
    def active(self) -> bool:
        return self.record is not None and self.scale > 0

    def observe(self, small: np.ndarray) -> None:
        """Keep one preprocessed model input's thumbnail (``(H, W, 3)`` uint8 in)."""
        if not self.active:
            return
        thumb = shrink(small, self._grid)
        with self._lock:
            self._frames.append([thumb, None])
            streaming = self._stream is not None
        if streaming:
            self.scores()

    def reset(self) -> None:
        """Forget the window (a new camera mount, ROI or model: judge afresh)."""
        with self._lock:
            self._frames.clear()

    def configure(
        self, window: int | None = None, scale: float | None = None, mount: Mount | None = None
    ) -> None:
        """
        Apply new ``familiarity_window``/``familiarity_threshold`` values and the mount.

        A new window length starts afresh (a window of other length is another statistic).
        """
        with self._lock:
            if window is not None and window != self.window:
                self._frames = deque(maxlen=window)
                self.window = window
            if scale is not None:
                self.scale = scale
            if mount is not None:
                self.mount = mount

    def scores(self) -> np.ndarray:
        """
        Return the window's rows, scoring new frames.

        Columns: distance, turn ratio, best turn, then one per geometry check (1 = its limit).
        """
        net = self.record.geometry if self.record is not None else None
        checks = len(net.names) if net is not None else 0
        with self._lock:
            frames = list(self._frames)
        new = [f for f in frames if f[1] is None]
        if new and self.record is not None:
            fine = np.stack([f[0] for f in new])
            x = features_of(fine, self.color_order)
            turns = turn_distances(x, self._mean, self._white, self._grid)
            ratio, best = orientation_ratio(turns)
            geo = camera_geometry.scores(
                camera_geometry.fine_thumbnails(fine, self.color_order), net
            )
            rows = [
                (float(d), float(r), int(b), *map(float, g))
                for d, r, b, g in zip(turns[:, 0], ratio, best, geo)
            ]
            with self._lock:
                for f, row in zip(new, rows):
                    if f[1] is None:  # another thread may have scored it meanwhile
                        f[1] = row
                        if self._stream is not None:
                            self._stream.append(row)
        rows = [f[1] for f in frames if f[1] is not None]
        return np.array(rows, dtype=np.float64).reshape(-1, 3 + checks)

    def state(self) -> FamiliarityState:
        """Return the verdict over the last ``window`` frames."""
        window = self.window
        if self.record is None:
            return FamiliarityState('no_reference', 0, window)
        if self.scale <= 0:
            return FamiliarityState('off', 0, window)
        arr = self.scores()
        if len(arr) < window:
            return FamiliarityState('collecting', len(arr), window)
        return judge(arr, self.record, window, self.scale, self.mount)

    def keep_stream(self) -> None:
        """
        From now on keep every frame's scores, in order (an offline replay: ``stream_summary``).

        Each frame is scored as it is observed, so none leaves the window unscored; the node
        never calls this (it scores once a second, off the inference thread).
        """
        with self._lock:
            self._stream = []

    def stream_rows(self) -> list[tuple[float, ...]]:
        """Return the score rows of every frame kept since ``keep_stream``, in order."""
        self.scores()
        with self._lock:
            return list(self._stream or [])

    def stream_summary(self) -> dict[str, Any]:
        """Judge every window of the frames kept since ``keep_stream`` (``summarize_stream``)."""
        rows = self.stream_rows()
        return summarize_stream(rows, self.record, self.window, self.scale, self.mount)


def judge(
    arr: np.ndarray, record: FamiliarityRecord, window: int, scale: float, mount: Mount = UPRIGHT
) -> FamiliarityState:
    """Judge one window's score rows (``FamiliarityMonitor.scores``) against ``record``."""
    distance, ratio = float(np.median(arr[:, 0])), float(np.median(arr[:, 1]))
    limit = record.threshold * scale
    ratio_limit = max(1.0, record.orientation_threshold * scale)
    turned_mount = ratio > ratio_limit
    turn = 0
    if turned_mount:  # the turn most frames over the limit fit best (a window may be mixed)
        over = arr[arr[:, 1] > ratio_limit, 2].astype(int)
        turn = int(np.bincount(over, minlength=4).argmax())
    geometry, geometry_score = '', None
    if arr.shape[1] > 3 and record.geometry is not None:
        medians = np.median(arr[:, 3:], axis=0) / max(scale, 1e-9)
        k = int(medians.argmax())
        geometry_score = float(medians[k])
        geometry = record.geometry.names[k] if geometry_score > 1.0 else ''
    far = distance > limit
    status = 'unfamiliar' if far or turned_mount or geometry else 'familiar'
    return FamiliarityState(
        status,
        len(arr),
        window,
        distance,
        limit,
        ratio,
        ratio_limit,
        turn,
        mount,
        geometry,
        geometry_score,
    )


def summarize_stream(
    rows: Sequence[Sequence[float]],
    record: FamiliarityRecord | None,
    window: int,
    scale: float,
    mount: Mount = UPRIGHT,
) -> dict[str, Any]:
    """
    Judge every ``window`` consecutive frames of a stream's score rows, as the node would.

    A stream shorter than the window is one window of all its frames. Returns the share of
    windows that are unfamiliar, by which test, and the last such window's message.
    """
    if record is None:
        return {'status': 'no_reference', 'message': NO_REFERENCE}
    if scale <= 0:
        return {'status': 'off', 'message': 'off (familiarity_threshold 0)'}
    arr = np.asarray(rows, dtype=np.float64)
    if len(arr) == 0:
        return {'status': 'no_frames', 'message': 'no classified frames'}
    starts = range(max(1, len(arr) - window + 1))
    states = [judge(arr[i:][:window], record, window, scale, mount) for i in starts]
    bad = [s for s in states if s.unfamiliar]
    n = len(states)
    share = len(bad) / n
    return {
        'status': 'unfamiliar' if bad else 'familiar',
        'window': window,
        'frames': len(arr),
        'windows': n,
        'unfamiliar_share': share,
        'by_distance': sum((s.distance or 0) > (s.limit or 0) for s in states) / n,
        'by_turn_ratio': sum((s.ratio or 0) > (s.ratio_limit or 0) for s in states) / n,
        'by_geometry': sum(bool(s.geometry) for s in states) / n,
        'median_distance': float(np.median(arr[:, 0])),
        'message': (bad or states)[-1].message,
    }


def merge_summaries(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Pool ``summarize_stream`` results of several streams (bags), weighted by windows."""
    judged = [p for p in parts if 'windows' in p]
    if not judged:
        return dict(parts[0]) if parts else {'status': 'no_frames', 'message': 'no streams'}
    n = sum(p['windows'] for p in judged)
    bad = [p for p in judged if p['status'] == 'unfamiliar']
    out: dict[str, Any] = {
        'status': 'unfamiliar' if bad else 'familiar',
        'window': judged[0]['window'],
        'streams': len(judged),
        'streams_unfamiliar': len(bad),
        'frames': sum(p['frames'] for p in judged),
        'windows': n,
    }
    for key in ('unfamiliar_share', 'by_distance', 'by_turn_ratio', 'by_geometry'):
        out[key] = sum(p[key] * p['windows'] for p in judged) / n
    out['message'] = (bad or judged)[0]['message']
    return out
