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
A simulated new robot: ``grasp-train adapt`` on its recordings, scored on unseen sessions.

The real images of ``../shared`` are seen through another camera (``--shift``: names in
``grasp_classifier_training.shifts``, applied in order; ``--turn``: the camera mounted
turned, undone by the node's ``image_rotation``) and recorded as rosbag2 bags in a
temporary folder, one bag per session, with ``/grasp/label``. Nothing is written into
the repository.

The starting model must not have seen the held-out sessions either, in any camera: the
shipped model was fitted on every shared image, so ``--start-folds DIR`` gives one starting
model per outer fold (``DIR/fold<K>.pt``: ``grasp-train cv --folds-file models/folds.json
--fold-models`` of the shipped recipe, each fold model exported), trained without fold K's
sessions. ``--from`` (one model for every fold) is for quick looks only.

Then, for each of 5 outer folds of whole sessions (``models/folds.json`` by default):
``grasp-train adapt`` on the other folds' bags (all of them, and the 41 short sessions
only), with the node's parameters file carrying the mount; the model a lab would deploy
(adapt's, or the starting one when adapt refused) is scored through the runtime path
(``grasp-train evaluate``) on the held-out fold's bags, which it never saw. The starting
model is scored on the same bags. Pooled over the folds, every session is scored once.

    grasp-train cv DATA --config lite0_distil --folds-file models/folds.json --fold-models \
        --out ../runs/fold_start                                  # ~10 min on 2 cores
    for k in 0 1 2 3 4; do grasp-train export ../runs/fold_start/fold_models/fold$k.pt \
        --out ../runs/fold_start/fold$k.pt; done
    python benchmarks/new_robot.py --out ../runs/robot_b --start-folds ../runs/fold_start

Writes ``OUT/new_robot.json`` and prints a table.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
import json
from pathlib import Path
import sys
import tempfile
import time
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SHIFT = 'wide_fov,tilt,white_balance,noise_jpeg'
SHORT_FRACTION = 0.1  # sessions with fewer images than this share of all are 'short'


def make_robot_bags(
    data: Path, out: Path, shift_names: list[str], turn: int, seed: int = 0
) -> dict[str, Path]:
    """One labelled bag per session of ``data``, every frame seen through the new camera."""
    from grasp_classifier_ros.bag.make_bag import (
        BagSpec,
        image_folder_episodes,
        SourceFrame,
        write_bag,
    )
    from grasp_classifier_ros.core.interfaces import COMPRESSED
    from grasp_classifier_training.shifts import compose

    shift = compose(shift_names) if shift_names else None
    sessions: dict[str, list[Any]] = {}
    for ep in image_folder_episodes(data):
        sessions.setdefault(ep.name.split('/', 1)[1], []).append(ep)
    bags = {}
    k = 0
    for name, episodes in sorted(sessions.items()):
        new = []
        for ep in episodes:
            frames = []
            for f in ep.frames:
                rgb = f.load_rgb()
                if shift is not None:
                    rgb = shift.apply(rgb, seed=seed + k)
                if turn:
                    rgb = np.ascontiguousarray(np.rot90(rgb, -turn // 90))
                frames.append(SourceFrame(rgb=rgb))
                k += 1
            new.append(replace(ep, frames=frames))
        spec = BagSpec(fps=10.0, kind=COMPRESSED, quality=90, gap_s=0.6)
        bags[name] = write_bag(out / name, new, spec).path
    return bags


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument(
        '--data', type=Path, default=REPO.parent / 'shared/data/grasp_verification_small'
    )
    ap.add_argument('--out', type=Path, required=True)
    ap.add_argument('--shift', default=DEFAULT_SHIFT, help=f'default {DEFAULT_SHIFT}')
    ap.add_argument('--turn', type=int, default=90, help='camera mounted turned (deg clockwise)')
    ap.add_argument(
        '--from',
        dest='start',
        type=Path,
        default=REPO / 'models/grasp_classifier.pt',
        help='one starting model for every fold (it may have seen the held-out sessions)',
    )
    ap.add_argument(
        '--start-folds',
        type=Path,
        help='folder of fold<K>.pt: outer fold K starts from a model trained without it',
    )
    ap.add_argument('--folds-file', type=Path, default=REPO / 'models/folds.json')
    ap.add_argument('--scenarios', default='all,short')
    ap.add_argument('--set', action='append', default=[], help='adapt config override')
    ap.add_argument('--inner-folds', type=int, default=5)
    ap.add_argument(
        '--outer-folds', default='', help='only these outer folds, e.g. 0,2 (default: all)'
    )
    ap.add_argument(
        '--bags',
        type=Path,
        help='keep the robot bags in this folder (outside the repository) '
        'and reuse them when it exists (default: a temporary folder)',
    )
    args = ap.parse_args(argv)

    from grasp_classifier_ros.core.mount import Mount
    from grasp_classifier_training.adapt import run_adapt
    from grasp_classifier_training.data import Folds, SourceOptions
    from grasp_classifier_training.train import resolve_config

    if not args.data.is_dir():
        print(
            f'new_robot: {args.data} not found (the real images); nothing to do', file=sys.stderr
        )
        return 2
    t0 = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    cfg = resolve_config(None, args.set, None, None)
    undo = (360 - args.turn) % 360
    view = SourceOptions(mount=Mount(undo))
    folds = Folds.read(args.folds_file)
    fold_of_group = {folds.group_of[key]: f for key, f in folds.fold_of.items()}
    results: dict[str, Any] = {
        'shift': args.shift,
        'turn': args.turn,
        'image_rotation': undo,
        'start_model': str(args.start_folds / 'fold<K>.pt' if args.start_folds else args.start),
        'folds_file': str(args.folds_file),
        'adapt_overrides': args.set,
        'folds': [],
    }
    with tempfile.TemporaryDirectory(prefix='robot_b_') as tmp:
        if args.bags is not None and args.bags.is_dir():
            bags = {p.name: p for p in sorted(args.bags.iterdir()) if p.is_dir()}
        else:
            where = args.bags or Path(tmp) / 'bags'
            bags = make_robot_bags(args.data, where, args.shift.split(','), args.turn)
        sizes = {g: sum(1 for k in folds.fold_of if folds.group_of[k] == g) for g in bags}
        total = sum(sizes.values())
        short = {g for g, n in sizes.items() if n < SHORT_FRACTION * total}
        print(
            f'{len(bags)} session bags ({len(short)} short, {sum(sizes[g] for g in short)} '
            f'images) through {args.shift}, turned {args.turn} deg; image_rotation {undo}',
            file=sys.stderr,
        )
        outer = [int(x) for x in args.outer_folds.split(',') if x] or list(range(folds.k))
        missing = [
            f'fold{k}.pt'
            for k in outer
            if args.start_folds and not (args.start_folds / f'fold{k}.pt').is_file()
        ]
        if missing:
            print(
                f'new_robot: {args.start_folds} lacks {", ".join(missing)} '
                '(export each cv --fold-models checkpoint with grasp-train export)',
                file=sys.stderr,
            )
            return 2
        for k in outer:
            held = sorted(g for g in bags if fold_of_group[g] == k)
            row: dict[str, Any] = {'fold': k, 'held_out': held}
            held_bags = [bags[g] for g in held]
            start = args.start_folds / f'fold{k}.pt' if args.start_folds else args.start
            row['start_model'] = str(start)

            row['start'] = _score(start, held_bags, Path(tmp) / f'eval_start_{k}', view)
            for scenario in args.scenarios.split(','):
                train = [
                    g for g in bags if fold_of_group[g] != k and (scenario == 'all' or g in short)
                ]
                out = args.out / f'fold{k}_{scenario}'
                report = run_adapt(
                    [bags[g] for g in train],
                    out,
                    start_path=start,
                    cfg=cfg,
                    view=view,
                    folds=args.inner_folds,
                    log=lambda *_: None,
                )
                deployed = Path(report['model']['path']) if report['model'] else start
                row[scenario] = {
                    'train_sessions': len(train),
                    'adapt_wall_s': report['wall_time_s'],
                    'refused': report['model'] is None,
                    'inner_before': report['before']['accuracy'],
                    'inner_after': report['after']['accuracy'],
                    **_score(deployed, held_bags, Path(tmp) / f'eval_{scenario}_{k}', view),
                }
                print(f'fold {k} {scenario}: {row[scenario]}', file=sys.stderr)
            results['folds'].append(row)
    results['pooled'] = {
        name: _pool([r[name] for r in results['folds']])
        for name in ['start', *args.scenarios.split(',')]
    }
    results['wall_time_s'] = round(time.perf_counter() - t0, 1)
    (args.out / 'new_robot.json').write_text(json.dumps(results, indent=2))
    print(table(results))
    return 0


def _score(model: Path, bags: list[Path], out: Path, view: Any) -> dict[str, Any]:
    """Score ``model`` through the runtime path on ``bags`` (the held-out fold)."""
    from grasp_classifier_training.evaluate import evaluate

    return _scores(evaluate(model, bags, out, sources=view, gallery=0, progress=False))


def _scores(m: dict[str, Any]) -> dict[str, Any]:
    pc = m['per_class_accuracy']
    names = list(pc)
    return {
        'n': m['n'],
        'accuracy': m['accuracy'],
        'per_class_accuracy': pc,
        'correct': round(m['accuracy'] * m['n']),
        'class_n': m.get('support', {}),
        'classes': names,
    }


def _pool(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = sum(r['n'] for r in rows)
    correct = sum(r['correct'] for r in rows)
    out: dict[str, Any] = {'n': n, 'accuracy': correct / n if n else None}
    for cls in rows[0]['per_class_accuracy']:
        num = sum((r['per_class_accuracy'][cls] or 0) * r['class_n'].get(cls, 0) for r in rows)
        den = sum(r['class_n'].get(cls, 0) for r in rows)
        out[f'{cls}_accuracy'] = num / den if den else None
    return out


def table(results: dict[str, Any]) -> str:
    lines = [
        f'new robot: {results["shift"]}, turned {results["turn"]} (image_rotation '
        f'{results["image_rotation"]}); held-out sessions pooled over '
        f'{len(results["folds"])} folds',
        '| model deployed | n | accuracy | per class |',
        '|---|---|---|---|',
    ]
    for name, p in results['pooled'].items():
        per = ', '.join(
            f'{k} {v:.3f}' for k, v in p.items() if k.endswith('_accuracy') and v is not None
        )
        lines.append(f'| {name} | {p["n"]} | {p["accuracy"]:.3f} | {per} |')
    return '\n'.join(lines)


if __name__ == '__main__':
    sys.exit(main())
