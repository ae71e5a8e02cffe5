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
False alarms and detections of the out-of-depth monitor (``core.familiarity``), out of fold.

For each of the 5 folds of ``models/folds.json`` (whole sessions), the reference statistics
are fitted on the other 4 folds' real images exactly as ``grasp-train familiarity`` does
(``fit_record_from_images``: its limits from those folds' own out-of-group windows); the
held-out sessions are then scored as they are and as other cameras or scenes would show
them. Each session is a stream in frame order; every ``--window`` consecutive frames is one
window (a session shorter than that: one window of all its frames), judged like the node
(median distance > threshold x ``familiarity_threshold``, or median distance ratio as-is /
best quarter turn > its threshold x the same, or a camera-geometry check's median score > the
same). Reported per set: the share of windows that fire (false-alarm rate on ``real``,
detection rate elsewhere), by which test, and of sessions with any.

Sets: ``real``; the camera shifts of ``training/.../shifts.py``; ``tilt_strong`` (a pitch of
twice ``tilt``'s); ``tilt_mild`` (two thirds of ``tilt``'s narrowing, half its drop);
``pitch_down`` (``tilt`` upside down: the camera pitched the other way); ``wide_fov_0.75``
(a lens between ``wide_fov``'s and the original); ``different_scene_tiles`` (each image cut
in 4x4 tiles, shuffled: the
colours of the data without its layout); ``different_scene_rendered`` (frames of
``grasp_classifier_ros.bag.synth``: another gripper, another scene); ``zoom_crop`` (a random
40 % crop of each image). Images are read at run time and nothing is written but the JSON.

    python benchmarks/familiarity.py --out familiarity.json     # ~1 min on 2 loaded cores
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import re
import sys
import time
from typing import Any

import cv2
from grasp_classifier_ros.core import familiarity as fam
from grasp_classifier_ros.core.metadata import ModelMetadata
from grasp_classifier_ros.core.preprocess import crop_resize
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / 'shared' / 'data' / 'grasp_verification_small'
CAMERA_SHIFTS = (
    'rotate90',
    'rotate180',
    'tilt',
    'wide_fov',
    'narrow_fov',
    'noise_jpeg',
    'dark',
    'bright',
    'white_balance',
    'blur',
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', type=Path, default=DEFAULT_DATA, help='the real images')
    p.add_argument('--folds', type=Path, default=REPO / 'models' / 'folds.json')
    p.add_argument('--size', type=int, default=96, help='model input (default model: 96)')
    p.add_argument(
        '--window', type=int, nargs='+', default=[fam.REFERENCE_WINDOW, 10], help='windows'
    )
    p.add_argument(
        '--scale',
        type=float,
        nargs='+',
        default=[1.0],
        help='familiarity_threshold values to judge at',
    )
    p.add_argument('--no-geometry', action='store_true', help='without the camera-geometry checks')
    p.add_argument('--out', type=Path, default=Path('familiarity.json'), help='JSON report')
    return p.parse_args(argv)


def tiles(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return the image cut in 4x4 tiles, shuffled: its colours without its layout."""
    im = cv2.resize(rgb, (128, 128), interpolation=cv2.INTER_AREA)
    parts = []
    for y in range(0, 128, 32):
        for x in range(0, 128, 32):
            y1, x1 = y + 32, x + 32
            parts.append(im[y:y1, x:x1])
    idx = rng.permutation(16)
    rows = [np.concatenate([parts[idx[4 * r + c]] for c in range(4)], 1) for r in range(4)]
    return np.concatenate(rows, 0)


def zoom_crop(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = int(0.4 * min(h, w))
    y, x = int(rng.integers(0, h - s)), int(rng.integers(0, w - s))
    y1, x1 = y + s, x + s
    return rgb[y:y1, x:x1]


def image_sets(raw: list[np.ndarray], seed: int = 0) -> dict[str, Any]:
    """Return the named image sets, each one image per real image (same sessions, order)."""
    sys.path.insert(0, str(REPO / 'training'))
    from grasp_classifier_ros.bag.synth import render_episode
    from grasp_classifier_training.shifts import _tilt, _zoom, get_shift

    sets: dict[str, Any] = {'real': raw}
    for name in CAMERA_SHIFTS:
        sets[name] = [get_shift(name).apply(im, seed=j) for j, im in enumerate(raw)]
    sets['tilt_strong'] = [_tilt(im, 0.6, 0.24) for im in raw]
    sets['tilt_mild'] = [_tilt(im, 0.2, 0.06) for im in raw]
    sets['pitch_down'] = [np.ascontiguousarray(_tilt(im[::-1], 0.3, 0.12)[::-1]) for im in raw]
    sets['wide_fov_0.75'] = [_zoom(im, 0.75) for im in raw]
    rng = np.random.default_rng(seed)
    sets['different_scene_tiles'] = [tiles(im, rng) for im in raw]
    sets['different_scene_rendered'] = [
        render_episode(rng, j % 2 == 0, 1, size=128)[0] for j in range(len(raw))
    ]
    sets['zoom_crop'] = [zoom_crop(im, rng) for im in raw]
    return sets


def measure(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(REPO / 'training'))
    from grasp_classifier_training.data import load_image

    rows = json.loads(args.folds.read_text())['images']
    rows.sort(key=lambda r: (r['group'], int(re.search(r'_(\d+)\.\w+$', r['file']).group(1))))
    raw = [load_image(args.data / r['file']) for r in rows]
    fold = np.array([r['fold'] for r in rows])
    group = np.array([r['group'] for r in rows])
    meta = ModelMetadata(
        input_height=args.size,
        input_width=args.size,
        class_names=('grasped', 'notgrasped'),
        success_index=0,
        color_order='rgb',
    )
    t0 = time.perf_counter()
    inputs = {
        name: [crop_resize(im, 'rgb', meta) for im in imgs]
        for name, imgs in image_sets(raw).items()
    }
    prep_s = time.perf_counter() - t0
    report: dict[str, Any] = {
        'data': str(args.data),
        'images': len(raw),
        'sessions': len(set(group)),
        'input_size': args.size,
        'method': (
            'core.familiarity.fit_record_from_images on 4 folds; each session of the 5th '
            'scored by a FamiliarityMonitor and judged by summarize_stream (models/folds.json)'
        ),
        'thresholds': {},
        'results': {},
    }
    rows: dict[str, list[Any]] = {name: [None] * len(raw) for name in inputs}
    records: dict[int, Any] = {}
    t0 = time.perf_counter()
    for f in np.unique(fold):
        train = fold != f
        record = records[int(f)] = fam.fit_record_from_images(
            [im for im, t in zip(inputs['real'], train) if t],
            list(group[train]),
            geometry=not args.no_geometry,
        )
        report['thresholds'][int(f)] = {
            'distance': round(record.threshold, 4),
            'turn_ratio': round(record.orientation_threshold, 4),
        }
        for g in dict.fromkeys(group[~train]):
            idx = np.where(group == g)[0]
            for name, images in inputs.items():
                # scored by the node's own monitor, each session one stream
                monitor = fam.FamiliarityMonitor(record)
                monitor.keep_stream()
                for i in idx:
                    monitor.observe(images[i])
                for i, row in zip(idx, monitor.stream_rows()):
                    rows[name][i] = row
    report['geometry_checks'] = list(record.geometry.names) if record.geometry else []
    report['fit_seconds'] = round(time.perf_counter() - t0, 1)
    for window in args.window:
        for scale in args.scale:
            key = f'window {window}, familiarity_threshold {scale:g}'
            report['results'][key] = {
                name: judge(rows[name], records, fold, group, window, scale) for name in inputs
            }
    report['feature_seconds'] = round(prep_s, 1)
    return report


def judge(
    rows: list[Any],
    records: dict[int, Any],
    fold: np.ndarray,
    group: np.ndarray,
    window: int,
    scale: float,
) -> dict[str, Any]:
    """Each session a stream judged as the node judges it (``summarize_stream``); pooled."""
    parts = []
    for g in dict.fromkeys(group):
        idx = np.where(group == g)[0]
        record = records[int(fold[idx[0]])]  # the statistics fitted without this session
        parts.append(fam.summarize_stream([rows[i] for i in idx], record, window, scale))
    n = sum(p['windows'] for p in parts)

    def pooled(key: str) -> float:
        return round(sum(p[key] * p['windows'] for p in parts) / n, 4)

    return {
        'windows': n,
        'windows_fired': pooled('unfamiliar_share'),
        'windows_fired_by_turn_ratio': pooled('by_turn_ratio'),
        'windows_fired_by_distance': pooled('by_distance'),
        'windows_fired_by_geometry': pooled('by_geometry'),
        'sessions_with_an_alarm': sum(p['status'] == 'unfamiliar' for p in parts),
        'sessions_alarmed': [
            g for g, p in zip(dict.fromkeys(group), parts) if p['status'] == 'unfamiliar'
        ],
        'session_mean_fired': round(float(np.mean([p['unfamiliar_share'] for p in parts])), 4),
        'median_distance': round(float(np.median([r[0] for r in rows])), 3),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.data.is_dir():
        print(f'{args.data} not found: nothing to measure', file=sys.stderr)
        return 2
    report = measure(args)
    args.out.write_text(json.dumps(report, indent=2))
    for key, res in report['results'].items():
        print(
            f'{key}: share of windows that fire (sessions with any alarm of {report["sessions"]})'
        )
        for name, r in res.items():
            print(
                f'  {name:26s} {r["windows_fired"]:6.1%}  ({r["sessions_with_an_alarm"]:2d})  '
                f'by distance {r["windows_fired_by_distance"]:6.1%}  '
                f'turn ratio {r["windows_fired_by_turn_ratio"]:6.1%}  '
                f'geometry {r["windows_fired_by_geometry"]:6.1%}'
            )
    print(f'thresholds per fold: {report["thresholds"]}; wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
