# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``grasp-train synth``: write synthetic gripper-camera episodes as an ImageFolder.

The frames come from the runtime's renderer (``grasp_classifier_ros.bag.synth``,
which ``make_bag --synth`` uses too): eye-in-hand views of two fingers that
hold an object (success) or are open, closed on nothing or next to a missed
object (failure). This is the project's own data for tests and the demo. It is
never presented as a result on real data.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import time
from typing import Any

import cv2
from grasp_classifier_ros.bag.synth import CLASS_FAILURE, CLASS_SUCCESS, render_episode
import numpy as np
from tqdm import tqdm


def generate(
    out_dir: str | Path, n: int, *, seed: int = 0, size: int = 128, episode_len: int = 8
) -> dict[str, Any]:
    """Write ``n`` frames (half per class) as an ImageFolder of PNG episodes."""
    out = Path(out_dir)
    if n < 2:
        raise ValueError(f'--n={n}: need at least 2 frames (one per class)')
    rng = np.random.default_rng(seed)
    counts = {CLASS_SUCCESS: 0, CLASS_FAILURE: 0}
    written = 0
    episode = 0
    with tqdm(total=n, desc='synth', unit='img', disable=None) as bar:
        while written < n:
            success = episode % 2 == 0
            cls = CLASS_SUCCESS if success else CLASS_FAILURE
            frames = render_episode(rng, success, min(episode_len, n - written), size)
            d = out / cls
            d.mkdir(parents=True, exist_ok=True)
            for i, rgb in enumerate(frames):
                cv2.imwrite(str(d / f'synth_e{episode:04d}_{i:03d}.png'), rgb[..., ::-1])
            counts[cls] += len(frames)
            written += len(frames)
            bar.update(len(frames))
            episode += 1
    return {'out': str(out), 'frames': written, 'episodes': episode, 'per_class': counts}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        'synth',
        help='render synthetic gripper-camera frames (project data for tests and the demo)',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument('out', type=Path, help='output folder (ImageFolder: grasped/, notgrasped/)')
    p.add_argument('--n', type=int, default=1000, help='number of frames (default 1000)')
    p.add_argument('--seed', type=int, default=0, help='random seed (same seed, same bytes)')
    p.add_argument('--size', type=int, default=128, help='frame size in pixels (square)')
    p.add_argument('--episode-len', type=int, default=8, help='frames per episode (group)')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    try:
        summary = generate(
            args.out, args.n, seed=args.seed, size=args.size, episode_len=args.episode_len
        )
    except ValueError as exc:
        print(f'grasp-train synth: {exc}')
        return 2
    print(
        f'wrote {summary["frames"]} synthetic frames in {summary["episodes"]} episodes '
        f'({summary["per_class"]}) to {summary["out"]} in {time.perf_counter() - t0:.1f} s'
    )
    return 0
