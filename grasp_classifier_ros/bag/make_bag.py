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
Write a labelled rosbag2 from image files or synthetic episodes (console script ``make_bag``).

Sources:

* ``--images DIR`` in ImageFolder layout (``DIR/<class>/*.png|jpg``): class
  folders name success or failure (``success``, ``grasped``, ... /
  ``failure``, ``notgrasped``, ...). Files are grouped by their prefix before
  the last ``_NN`` (``image_6_12.jpg`` -> ``image_6``); each (class, group)
  becomes one episode, its frames in natural order of ``NN``.
* ``--images DIR --episodes FILE``: a flat folder of frames in natural
  filename order, frame ``i`` at ``i / fps`` s, labelled by an interval file
  (``labels.py`` format, times relative to the first frame); frames outside
  every interval are left out.
* ``--synth N``: N synthetic episodes rendered by ``synth.render_episode``.

Frames are stamped at ``--fps`` from ``--start-time`` with ``--gap`` seconds
between episodes (longer than the node's default ``max_frame_age``, so
smoothing restarts per episode as it would between real grasps). Each frame
is written as sensor_msgs/Image or CompressedImage on the image topic plus a
std_msgs/Bool ground-truth label on ``/grasp/label`` at the same time, and
``episodes.yaml`` (usable with ``evaluate_bag --labels``) is written inside
the bag directory.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
import shutil
import sys
from typing import Any

import cv2
import numpy as np

from .image_folder import group_of, GROUP_REGEX, list_images, natural_key
from .io import (
    BagError,
    BagWriter,
    bool_msg,
    compressed_msg,
    image_msg,
)
from .labels import Episode, EPISODES_FILE, episodes_yaml, LabelError, load_intervals
from .synth import render_episode
from ..core.errors import GraspClassifierError
from ..core.interfaces import COMPRESSED, input_kind, InputKind, LABEL, RAW
from ..core.stamps import NS

SUCCESS_DIRS = ('success', 'succeeded', 'grasped', 'positive', 'true', '1')
FAILURE_DIRS = ('failure', 'failed', 'notgrasped', 'not_grasped', 'negative', 'false', '0')
DEFAULT_START_S = 1_700_000_000  # fixed, so the same inputs always give the same bag


class MakeBagError(GraspClassifierError):
    """The source images or options cannot make a bag."""


@dataclass
class SourceFrame:
    """One frame: an image file, or RGB pixels already in memory."""

    path: Path | None = None
    rgb: np.ndarray | None = None
    index: int | None = None  # position in a sequence (sequence mode)

    def load_rgb(self) -> np.ndarray:
        if self.rgb is not None:
            return self.rgb
        assert self.path is not None
        bgr = cv2.imread(str(self.path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise MakeBagError(f"cannot read image '{self.path}'")
        return np.ascontiguousarray(bgr[..., ::-1])


@dataclass
class SourceEpisode:
    name: str
    success: bool
    frames: list[SourceFrame] = field(default_factory=list)


@dataclass(frozen=True)
class BagSpec:
    fps: float = 30.0
    storage: str = 'mcap'
    kind: InputKind = RAW
    fmt: str = 'jpeg'
    quality: int = 90
    encoding: str = 'bgr8'
    frame_id: str = 'camera'
    image_topic: str = ''  # '' = the kind's default topic
    label_topic: str = LABEL.in_bag  # '': no label topic and no episodes.yaml (an unlabelled bag)
    start_ns: int = DEFAULT_START_S * NS
    gap_s: float = 1.0

    @property
    def topic(self) -> str:
        if self.image_topic:
            return self.image_topic
        return self.kind.default_topic


@dataclass(frozen=True)
class MadeBag:
    path: Path
    frames: int
    episodes: list[Episode]
    size_bytes: int
    duration_s: float


def image_folder_episodes(
    root: Path,
    success_dirs: Sequence[str] = SUCCESS_DIRS,
    failure_dirs: Sequence[str] = FAILURE_DIRS,
    group_pattern: str = GROUP_REGEX,
) -> list[SourceEpisode]:
    """
    One episode per (class folder, filename group), ordered by group then class.

    ``root`` holds class folders, or is one itself (a flat folder of images
    named like a class, e.g. ``.../grasped``).
    """
    if not root.is_dir():
        raise MakeBagError(f"image folder '{root}' does not exist")
    classes = sorted(p for p in root.iterdir() if p.is_dir())
    ok = {s.lower() for s in success_dirs}
    bad = {s.lower() for s in failure_dirs}
    if not classes and list_images(root):
        if root.name.lower() not in ok | bad:
            raise MakeBagError(
                f"'{root}' holds images but no class folders: give the folder above the class "
                f'folders ({", ".join(success_dirs)} / {", ".join(failure_dirs)}), name this '
                'folder with --success-dirs/--failure-dirs, or label a flat frame sequence '
                'with an interval file: make_bag OUT --images DIR --episodes FILE'
            )
        classes = [root]  # a single class folder
    episodes: dict[tuple[str, str], SourceEpisode] = {}
    for folder in classes:
        name = folder.name.lower()
        if name not in ok and name not in bad:
            raise MakeBagError(
                f"class folder '{folder.name}' in '{root}' is neither a success folder "
                f'({", ".join(success_dirs)}) nor a failure folder ({", ".join(failure_dirs)}); '
                'rename it or add its name with --success-dirs/--failure-dirs'
            )
        for img in list_images(folder):
            group = group_of(img.stem, group_pattern)
            key = (group, folder.name)
            if key not in episodes:
                episodes[key] = SourceEpisode(f'{folder.name}/{group}', name in ok)
            episodes[key].frames.append(SourceFrame(path=img))
    if not episodes:
        raise MakeBagError(
            f"no images (*.png, *.jpg) in class folders of '{root}' "
            f'(found folders: {", ".join(p.name for p in classes) or "none"})'
        )
    ordered = sorted(episodes.items(), key=lambda kv: (natural_key(kv[0][0]), kv[0][1]))
    return [ep for _, ep in ordered]


def sequence_episodes(folder: Path, intervals_path: Path, fps: float) -> list[SourceEpisode]:
    """Split a flat, ordered frame folder into episodes by an interval file."""
    if not folder.is_dir():
        raise MakeBagError(f"image folder '{folder}' does not exist")
    frames = list_images(folder)
    if not frames:
        raise MakeBagError(f"no images (*.png, *.jpg) in '{folder}'")
    intervals = load_intervals(intervals_path)
    if intervals.time_base == 'absolute':
        raise MakeBagError(
            f'{intervals_path}: a frame sequence needs times relative to its first frame'
        )
    out = []
    for k, iv in enumerate(intervals.intervals):
        ep = SourceEpisode(iv.name or f'episode_{k}', iv.success)
        for i, p in enumerate(frames):
            if iv.start_s <= i / fps <= iv.end_s:
                ep.frames.append(SourceFrame(path=p, index=i))
        if ep.frames:
            out.append(ep)
    if not out:
        raise MakeBagError(f'{intervals_path}: no frame of {folder} falls inside an interval')
    return out


def synth_episodes(
    n: int, *, fps: float, seconds: float, size: int, seed: int = 0
) -> list[SourceEpisode]:
    """Render ``n`` synthetic episodes (half success, half failure, shuffled by ``seed``)."""
    rng = np.random.default_rng(seed)
    labels = [i % 2 == 0 for i in range(n)]
    rng.shuffle(labels)
    n_frames = max(1, round(seconds * fps))
    out = []
    for i, success in enumerate(labels):
        frames = render_episode(rng, bool(success), n_frames, size)
        rgb = [np.ascontiguousarray(np.asarray(f, dtype=np.uint8)) for f in frames]
        out.append(
            SourceEpisode(
                f'synth_{i:02d}_{"success" if success else "failure"}',
                bool(success),
                [SourceFrame(rgb=f) for f in rgb],
            )
        )
    return out


def _encode(frame: SourceFrame, spec: BagSpec, stamp_ns: int) -> Any:
    if spec.kind is COMPRESSED:
        ext = '.png' if spec.fmt == 'png' else '.jpg'
        if frame.path is not None and frame.path.suffix.lower() in (
            ('.png',) if spec.fmt == 'png' else ('.jpg', '.jpeg')
        ):
            return compressed_msg(frame.path.read_bytes(), spec.fmt, stamp_ns, spec.frame_id)
        params = [cv2.IMWRITE_JPEG_QUALITY, spec.quality] if spec.fmt == 'jpeg' else []
        ok, buf = cv2.imencode(ext, frame.load_rgb()[..., ::-1], params)
        if not ok:
            raise MakeBagError(f'cannot encode a frame as {spec.fmt}')
        return compressed_msg(buf.tobytes(), spec.fmt, stamp_ns, spec.frame_id)
    rgb = frame.load_rgb()
    pixels = rgb if spec.encoding == 'rgb8' else rgb[..., ::-1]
    return image_msg(pixels, spec.encoding, stamp_ns, spec.frame_id)


def write_bag(
    out: Path,
    episodes: list[SourceEpisode],
    spec: BagSpec,
    *,
    progress: Callable[[int], None] | None = None,
    comment: str = '',
) -> MadeBag:
    """Write ``episodes`` as a labelled bag at ``out``; also write ``out/episodes.yaml``."""
    if spec.fps <= 0:
        raise MakeBagError(f'fps must be > 0, got {spec.fps}')
    if spec.encoding not in ('bgr8', 'rgb8'):
        raise MakeBagError(f"encoding '{spec.encoding}' is not supported: use bgr8 or rgb8")
    if spec.fmt not in ('jpeg', 'png'):
        raise MakeBagError(f"format '{spec.fmt}' is not supported: use jpeg or png")
    period_ns = NS / spec.fps
    half = round(period_ns / 2)
    placed: list[Episode] = []
    count = 0
    t_ns = spec.start_ns
    with BagWriter(out, spec.storage) as writer:
        writer.add_topic(spec.topic, spec.kind.msg_type)
        if spec.label_topic:
            writer.add_topic(spec.label_topic, LABEL.msg_type)
        for ep in episodes:
            stamps = []
            for j, frame in enumerate(ep.frames):
                if frame.index is not None:  # sequence mode keeps the original spacing
                    stamp = spec.start_ns + round(frame.index * period_ns)
                else:
                    stamp = t_ns + round(j * period_ns)
                writer.write(spec.topic, stamp, _encode(frame, spec, stamp))
                if spec.label_topic:
                    writer.write(spec.label_topic, stamp, bool_msg(ep.success))
                stamps.append(stamp)
                count += 1
                if progress is not None:
                    progress(count)
            if stamps:
                placed.append(
                    Episode(len(placed), stamps[0] - half, stamps[-1] + half, ep.success, ep.name)
                )
                t_ns = stamps[-1] + round(period_ns) + round(spec.gap_s * NS)
    if count == 0:
        shutil.rmtree(out, ignore_errors=True)
        raise MakeBagError('no frames to write')
    first = min(e.start_ns for e in placed) + half
    note = comment or 'Labelled episodes of this bag, written by make_bag.'
    if spec.label_topic:
        (out / EPISODES_FILE).write_text(
            episodes_yaml(placed, first, note, {'fps': spec.fps, 'image_topic': spec.topic})
        )
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    duration = (max(e.end_ns for e in placed) - half - first) / NS
    return MadeBag(out, count, placed, size, duration)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog='make_bag',
        description='Write a labelled rosbag2 (mcap/sqlite3) from images or synthetic episodes.',
    )
    ap.add_argument('out', type=Path, help='bag directory to create')
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument('--images', type=Path, help='ImageFolder root (class/*.png|jpg)')
    src.add_argument('--synth', type=int, metavar='N', help='render N synthetic episodes')
    ap.add_argument(
        '--episodes',
        type=Path,
        help='with --images: a flat ordered frame folder labelled by this interval file',
    )
    ap.add_argument('--fps', type=float, default=30.0)
    ap.add_argument('--storage', choices=('mcap', 'sqlite3'), default='mcap')
    ap.add_argument('--compressed', action='store_true', help='write CompressedImage')
    ap.add_argument('--format', dest='fmt', choices=('jpeg', 'png'), default='jpeg')
    ap.add_argument('--quality', type=int, default=90, help='JPEG quality (1-100)')
    ap.add_argument('--encoding', choices=('bgr8', 'rgb8'), default='bgr8')
    ap.add_argument('--frame-id', default='camera')
    ap.add_argument(
        '--image-topic',
        default='',
        help=f'default {RAW.default_topic} (--compressed: {COMPRESSED.default_topic})',
    )
    ap.add_argument('--label-topic', default=LABEL.in_bag)
    ap.add_argument(
        '--no-labels',
        action='store_true',
        help='write no label topic and no episodes.yaml (a recording still to be labelled)',
    )
    ap.add_argument('--gap', type=float, default=1.0, help='seconds between episodes')
    ap.add_argument(
        '--start-time', type=float, default=float(DEFAULT_START_S), help='first stamp, epoch s'
    )
    ap.add_argument('--seconds', type=float, default=2.5, help='--synth: episode length')
    ap.add_argument('--size', type=int, default=128, help='--synth: frame size in pixels')
    ap.add_argument('--seed', type=int, default=0, help='--synth: random seed')
    ap.add_argument('--success-dirs', default=','.join(SUCCESS_DIRS))
    ap.add_argument('--failure-dirs', default=','.join(FAILURE_DIRS))
    ap.add_argument('--overwrite', action='store_true', help='replace an existing OUT')
    return ap


def make_from_args(args: argparse.Namespace) -> MadeBag:
    """Collect the source episodes the arguments name and write the bag."""
    if args.out.exists() and not args.overwrite:
        raise MakeBagError(
            f"'{args.out}' already exists; pass --overwrite to replace it or choose another path"
        )
    if args.synth is not None:
        if args.synth < 1:
            raise MakeBagError(f'--synth needs at least 1 episode, got {args.synth}')
        episodes = synth_episodes(
            args.synth, fps=args.fps, seconds=args.seconds, size=args.size, seed=args.seed
        )
        comment = (
            f'Synthetic episodes (grasp_classifier_ros.bag.synth, seed {args.seed}), '
            'written by make_bag.'
        )
    elif args.episodes is not None:
        episodes = sequence_episodes(args.images, args.episodes, args.fps)
        comment = f'Frames of {args.images.name} labelled by {args.episodes.name}, by make_bag.'
    else:
        episodes = image_folder_episodes(
            args.images,
            [s for s in args.success_dirs.split(',') if s],
            [s for s in args.failure_dirs.split(',') if s],
        )
        comment = f'Episodes of image folder {args.images.name}, written by make_bag.'
    if args.no_labels and args.label_topic != LABEL.in_bag:
        raise MakeBagError('--label-topic names the labels that --no-labels leaves out; drop one')
    if not 1 <= args.quality <= 100:
        raise MakeBagError(f'--quality must be in 1..100, got {args.quality}')
    spec = BagSpec(
        fps=args.fps,
        storage=args.storage,
        kind=input_kind(args.compressed),
        fmt=args.fmt,
        quality=args.quality,
        encoding=args.encoding,
        frame_id=args.frame_id,
        image_topic=args.image_topic,
        label_topic='' if args.no_labels else args.label_topic,
        start_ns=round(args.start_time * NS),
        gap_s=args.gap,
    )
    if args.overwrite and args.out.exists():
        if not (args.out / 'metadata.yaml').is_file():
            raise MakeBagError(f"refusing to overwrite '{args.out}': it is not a bag directory")
        shutil.rmtree(args.out)
    return write_bag(args.out, episodes, spec, comment=comment)


def main(argv: list[str] | None = None) -> int:
    """Run the ``make_bag`` command line."""
    args = build_parser().parse_args(argv)
    if args.episodes is not None and args.images is None:
        print('make_bag: error: --episodes needs --images', file=sys.stderr)
        return 2
    try:
        made = make_from_args(args)
    except (MakeBagError, BagError, LabelError) as exc:
        print(f'make_bag: error: {exc}', file=sys.stderr)
        return 2
    n_ok = sum(1 for e in made.episodes if e.success)
    print(
        f'wrote {made.path}: {made.frames} frames, {len(made.episodes)} episodes '
        f'({n_ok} success, {len(made.episodes) - n_ok} failure), {made.duration_s:.1f} s, '
        f'{made.size_bytes / 1e6:.2f} MB; labels in {made.path / EPISODES_FILE}'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
