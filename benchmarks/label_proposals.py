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
Measure ``grasp-train label``'s proposals and whether least-confident-first finds the errors.

The real images of ``../shared`` are recorded as one bag per session (``new_robot.py``'s
``make_robot_bags``: 10 fps JPEG, 0.6 s between attempts), through the same camera or a
new one (``--shift``, ``--turn``; the node's ``image_rotation`` undoes the turn). Every bag
is labelled by ``run_label`` (attempts at gaps, proposals by ``--model``) and each
proposal compared with the label the bag carries. Nothing is written into the repository.

    python benchmarks/label_proposals.py                 # about 6 min on 2 loaded cores

Prints JSON: attempts, proposals right, failed grasps proposed as failures, where the
wrong proposals rank when all attempts are sorted least confident first, and how many
attempts fall below 0.90 confidence.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import sys
import tempfile
import time
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'benchmarks'))


def measure(data: Path, shifts: list[str], turn: int, model: Path | None) -> dict[str, Any]:
    """Label every session bag; compare the proposals with the bags' own labels."""
    from grasp_classifier_ros.bag.labels import load_intervals
    from grasp_classifier_training.label import run_label
    from new_robot import make_robot_bags

    rows = []
    with tempfile.TemporaryDirectory(prefix='label_') as tmp:
        bags = make_robot_bags(data, Path(tmp) / 'bags', shifts, turn)
        params = Path(tmp) / 'params.yaml'
        params.write_text(f'image_rotation: {(360 - turn) % 360}\n')
        t0 = time.perf_counter()
        for name, bag in sorted(bags.items()):
            done = run_label(
                bag, out=Path(tmp) / f'{name}.labels.yaml', params_path=params, model_path=model
            )
            truth = [iv.success for iv in load_intervals(bag / 'episodes.yaml').intervals]
            assert len(truth) == len(done.proposals), name
            for pr, ok in zip(done.proposals, truth):
                rows.append((bool(pr.episode.success), ok, pr.confidence, name, pr.episode.index))
        wall = time.perf_counter() - t0
    order = sorted(rows, key=lambda r: (r[2], r[3], r[4]))
    failures = [r for r in rows if not r[1]]
    return {
        'camera': ','.join(shifts) or 'the same',
        'turn': turn,
        'bags': len(bags),
        'attempts': len(rows),
        'right': sum(r[0] == r[1] for r in rows),
        'failed_grasps': len(failures),
        'failed_grasps_proposed_failure': sum(not r[0] for r in failures),
        'wrong_ranks_least_confident_first': [i + 1 for i, r in enumerate(order) if r[0] != r[1]],
        'below_0.90_confidence': sum(r[2] < 0.9 for r in rows),
        'label_wall_s': round(wall, 1),
    }


def main(argv: list[str] | None = None) -> int:
    from new_robot import DEFAULT_SHIFT

    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument(
        '--data', type=Path, default=REPO.parent / 'shared/data/grasp_verification_small'
    )
    ap.add_argument('--shift', default=DEFAULT_SHIFT, help=f'new camera (default {DEFAULT_SHIFT})')
    ap.add_argument('--turn', type=int, default=90, help='new camera mounted turned (deg)')
    ap.add_argument('--model', type=Path, help='default: the shipped model')
    args = ap.parse_args(argv)
    if not args.data.is_dir():
        print(f'label_proposals: {args.data} not found (the real images)', file=sys.stderr)
        return 2
    out = [
        measure(args.data, [], 0, args.model),
        measure(args.data, args.shift.split(','), args.turn, args.model),
    ]
    print(json.dumps(out, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
