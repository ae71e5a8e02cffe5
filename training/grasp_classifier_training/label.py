# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``grasp-train label``: split a recording into grasp attempts and propose each one's label.

For a bag or video recorded without labels (or with them):

1. **Attempts.** The frames are split where their stamps leave a gap longer than
   ``--gap`` s (default 0.5), or at the messages of ``--trigger-topic``: a
   ``std_msgs/Bool`` true starts an attempt and false ends it; any other type (e.g.
   ``std_msgs/Empty``) starts one at every message, ending the one before. Frames before
   the first start or after an end belong to no attempt (and stay unlabelled). Trigger
   times are the bag's receive times, compared with the frames' header stamps, as for
   the label topic. A video has no gaps (its frames are 1/fps apart): it is one attempt,
   to be split by editing the file.
2. **Proposals.** The model (``--model``, else the ``--params`` file's ``model_path``,
   else the shipped one) judges each attempt's last ``--frames-per-episode`` frames
   (default the node's ``check_frames``: what ``~/check`` judges) through the node's
   camera view (``--params``: roi, image_rotation, image_flip). The proposal is the
   likelier outcome of their mean calibrated p(success) (>= 0.5: success) and its
   confidence the probability of that outcome, max(p, 1 - p). A label says what
   happened; the node's threshold, which trades false successes against retries, does
   not enter.
3. **The interval file** (``--out``, default the sidecar ``<recording>.labels.yaml`` that
   adapt, cv, evaluate, inspect and evaluate_bag read with no option), in the format
   ``bag/labels.py`` reads: one attempt per line in time order, its ``label`` the
   proposal, ``proposed`` and ``confidence`` beside it, a comment naming its sheet row.
   Confirm or flip each label; delete a line to leave that attempt out. An existing
   file is replaced only with ``--overwrite``.
4. **The contact sheet** (``--sheet``, default the file's name with ``.png``): one row per
   attempt, least confident first: its first frame captioned with the attempt, its time
   span, the proposal and confidence, then the judged frames with their p(success), all
   as the model sees them (the camera view applied).
"""

from __future__ import annotations

import argparse
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TYPE_CHECKING

from grasp_classifier_ros.bag.labels import Episode, label_name
from grasp_classifier_ros.bag.recordings import Timeline
import numpy as np

from . import data as data_mod

if TYPE_CHECKING:
    from grasp_classifier_ros.core.model import LoadedModel

TILE = 120  # thumbnail size on the sheet, pixels
LIKELY = 0.5  # the proposal is the likelier outcome
MS = 1_000_000  # bounds are rounded to whole milliseconds where no other frame moves in


@dataclass(frozen=True)
class Proposal:
    """One grasp attempt: its frames and the model's proposed label."""

    episode: Episode  # bounds as written; success: the proposal
    frames: list[int]  # its frame positions, in time order
    judged: dict[int, float | None]  # the last frames: p(success), None if undecodable

    @property
    def p_success(self) -> float | None:
        """Mean p(success) over the judged frames that could be decoded."""
        ps = [p for p in self.judged.values() if p is not None]
        return float(np.mean(ps)) if ps else None

    @property
    def confidence(self) -> float:
        """Probability of the proposed label (0 when no judged frame could be decoded)."""
        p = self.p_success
        return 0.0 if p is None else max(p, 1.0 - p)


def attempts(
    stamps_ns: list[int],
    triggers: list[tuple[int, bool]] | None,
    gap_s: float,
    origin_ns: int,
) -> list[tuple[Episode, list[int]]]:
    """
    Split frames into attempts: ``(Episode, frame positions)`` in time order.

    Each episode's bounds are its first and last frame stamps, rounded outwards to the
    millisecond after ``origin_ns`` where that takes in no other frame (readable files).
    """
    from grasp_classifier_ros.bag.labels import episode_at, split_episodes
    from grasp_classifier_ros.core.stamps import NS

    episodes = split_episodes(stamps_ns, max_gap_ns=round(gap_s * NS), triggers=triggers)
    members: list[list[int]] = [[] for _ in episodes]
    for i in sorted(range(len(stamps_ns)), key=lambda i: (stamps_ns[i], i)):
        ep = episode_at(episodes, stamps_ns[i])
        if ep is not None:
            members[ep.index].append(i)
    ordered = sorted(stamps_ns)
    out = []
    for ep, pos in zip(episodes, members):
        below = bisect_left(ordered, ep.start_ns)
        above = bisect_right(ordered, ep.end_ns)
        start = origin_ns + (ep.start_ns - origin_ns) // MS * MS
        end = origin_ns - (origin_ns - ep.end_ns) // MS * MS
        if below and ordered[below - 1] >= start:
            start = ep.start_ns
        if above < len(ordered) and ordered[above] <= end:
            end = ep.end_ns
        out.append((Episode(ep.index, start, end, None), pos))
    return out


def propose(
    timeline: Timeline,
    split: list[tuple[Episode, list[int]]],
    model: LoadedModel,
    view: data_mod.SourceOptions,
    n_judged: int,
) -> tuple[list[Proposal], dict[int, np.ndarray]]:
    """
    Judge each attempt's last ``n_judged`` frames as the node would; return the proposals.

    Also the model's view (RGB, model input size) of every frame decoded: the judged
    ones and each attempt's first frame, for the sheet. Nothing else is decoded.
    """
    from grasp_classifier_ros.core.image_codec import DecodedImage
    from grasp_classifier_ros.core.preprocess import crop_resize, Preprocessor

    meta = model.metadata
    pre = Preprocessor(meta, model.device, model.dtype, view.roi, view.mount)
    rgb_meta = meta.with_updates(color_order='rgb')
    wanted = {p for _, pos in split for p in [pos[0], *pos[-n_judged:]]}
    p_of: dict[int, float] = {}
    views: dict[int, np.ndarray] = {}
    for i, rgb in timeline.images(wanted):
        if rgb is None:
            continue
        p_of[i] = float(model.predict(pre(DecodedImage(rgb, 'rgb')))[0, meta.success_index])
        views[i] = crop_resize(rgb, 'rgb', rgb_meta, view.roi, view.mount)
    out = []
    for ep, pos in split:
        judged = {i: p_of.get(i) for i in pos[-n_judged:]}
        ps = [p for p in judged.values() if p is not None]
        success = bool(ps) and float(np.mean(ps)) >= LIKELY
        out.append(Proposal(replace(ep, success=success), pos, judged))
    return out, views


def sheet_order(proposals: list[Proposal]) -> list[Proposal]:
    """Least confident first (ties in time order): the rows a person looks at hardest."""
    return sorted(proposals, key=lambda pr: (pr.confidence, pr.episode.index))


def contact_sheet(
    proposals: list[Proposal],
    views: dict[int, np.ndarray],
    stamps_ns: list[int],
    origin_ns: int,
    n_judged: int,
    title: str,
) -> np.ndarray:
    """One row per attempt, least confident first (BGR image)."""
    from grasp_classifier_ros.bag.sheets import caption, GREEN, RED, sheet, thumbnail
    from grasp_classifier_ros.core.stamps import NS

    def tile(pos: int) -> np.ndarray:
        if pos not in views:
            return np.full((TILE, TILE, 3), 128, np.uint8)
        return thumbnail(np.ascontiguousarray(views[pos][..., ::-1]), TILE)

    def secs(t_ns: int) -> float:
        return (t_ns - origin_ns) / NS

    tiles = []
    for row, pr in enumerate(sheet_order(proposals), 1):
        ep = pr.episode
        colour = GREEN if ep.success else RED
        guess = 'no frame' if pr.p_success is None else label_name(ep.success)
        tiles.append(
            caption(
                tile(pr.frames[0]),
                f'{row}. episode_{ep.index}',
                f'{secs(ep.start_ns):.2f}-{secs(ep.end_ns):.2f} s',
                f'{guess}? {pr.confidence:.2f}',
                colour=colour,
                frame=True,
            )
        )
        for pos, p in pr.judged.items():
            p_text = 'undecodable' if p is None else f'p(success) {p:.2f}'
            tiles.append(
                caption(tile(pos), p_text, f't {secs(stamps_ns[pos]):.2f} s', f'frame {pos}')
            )
        blank = np.full_like(tiles[-1], 255)
        tiles.extend(blank for _ in range(n_judged - len(pr.judged)))
    return sheet(tiles, n_judged + 1, title)


def labels_text(
    proposals: list[Proposal], origin_ns: int, comment: str, extra: dict[str, Any]
) -> str:
    """Render the interval file: attempts in time order, each line naming its sheet row."""
    from grasp_classifier_ros.bag.labels import episodes_yaml

    row = {id(pr): k for k, pr in enumerate(sheet_order(proposals), 1)}
    fields, notes = [], []
    for pr in proposals:
        decoded = pr.p_success is not None
        fields.append(
            {
                'proposed': label_name(pr.episode.success) if decoded else 'none',
                'confidence': round(pr.confidence, 3),
            }
        )
        what = 'confirm or flip' if decoded else 'no judged frame could be decoded: look'
        notes.append(f'sheet row {row[id(pr)]}: {what}')
    return episodes_yaml(
        [pr.episode for pr in proposals], origin_ns, comment, extra, fields=fields, notes=notes
    )


@dataclass
class Labelled:
    """What ``run_label`` wrote and found."""

    labels: Path
    sheet: Path
    proposals: list[Proposal]
    frames: int
    split: str  # how the attempts were found
    model: str
    notes: list[str]


def run_label(
    recording: Path,
    *,
    out: Path | None = None,
    sheet_path: Path | None = None,
    model_path: Path | None = None,
    params_path: Path | None = None,
    trigger_topic: str | None = None,
    gap_s: float | None = None,
    frames_per_episode: int | None = None,
    image_topic: str | None = None,
    overwrite: bool = False,
    log: Any = None,
) -> Labelled:
    """Split ``recording`` into attempts, propose their labels, write the file and the sheet."""
    from grasp_classifier_ros.bag.labels import LabelError, sidecar_path
    from grasp_classifier_ros.bag.recordings import DEFAULT_EPISODE_GAP_S
    from grasp_classifier_ros.bag.sheets import write_png
    from grasp_classifier_ros.core.interfaces import LABEL
    from grasp_classifier_ros.core.model import load_model
    from grasp_classifier_ros.core.paths import default_model_path

    recording = Path(recording)
    if trigger_topic and gap_s is not None:
        raise LabelError('--gap splits at gaps, --trigger-topic at its messages: give one')
    gap = DEFAULT_EPISODE_GAP_S if gap_s is None else float(gap_s)
    if not gap > 0:
        raise LabelError(f'--gap {gap_s} must be > 0 seconds')
    if frames_per_episode is not None and frames_per_episode < 1:
        raise LabelError(f'--frames-per-episode {frames_per_episode} must be >= 1')
    sidecar = sidecar_path(recording)
    out = Path(out) if out is not None else sidecar
    if out.exists() and not overwrite:
        raise LabelError(
            f"'{out}' already exists (labels someone may have checked): pass --overwrite "
            'to replace it, or --out another file'
        )
    if out.suffix.lower() not in ('.yaml', '.yml'):
        raise LabelError(f"--out '{out}' must end in .yaml (an interval file)")
    sheet_path = Path(sheet_path) if sheet_path is not None else out.with_suffix('.png')
    params, values = data_mod.node_params(params_path, log)
    view = data_mod.SourceOptions(roi=params.roi, mount=params.mount)
    if model_path is None:
        model_path = Path(params.model_path) if params.model_path else default_model_path()
        sha = params.model_sha256
    else:
        sha = ''
    # A few frames per attempt, offline: checking oneDNN fusion would cost more than it saves.
    model = load_model(
        model_path,
        device='cpu',
        fp16=False,
        expected_sha256=sha,
        warmup_runs=0,
        onednn_fusion=False,
    )
    n_judged = frames_per_episode or params.check_frames
    preferred = params.image_topic if 'image_topic' in values else ''
    line = Timeline(recording, image_topic, preferred, trigger_topic)
    stamps = line.stamps_ns
    if line.kind == 'bag' and not all(stamps):
        raise LabelError(
            f"'{recording}': {stamps.count(0)} frames on {line.topic} have no header stamp; "
            'labels are matched on stamps'
        )
    origin = min(stamps) if line.kind == 'bag' else 0  # a video's label times count from 0
    split = attempts(stamps, line.triggers, gap, origin)
    how = (
        f'at {trigger_topic} messages' if trigger_topic else f'at gaps > {gap:g} s between frames'
    )
    if not split:
        raise LabelError(
            f"'{recording}': no frame falls in an attempt ({how}: "
            f'{len(line.triggers or [])} messages, {len(stamps)} frames)'
        )
    proposals, views = propose(line, split, model, view, n_judged)
    name = recording.name if recording.is_dir() else recording.stem
    title = f'{name}: {len(split)} attempts, least confident first; confirm or flip in {out.name}'
    png = contact_sheet(proposals, views, stamps, origin, n_judged, title)
    notes = []
    if out.resolve() != sidecar.resolve():
        notes.append(
            f"'{out}' is not the sidecar '{sidecar}': read it with --labels {out} "
            '(or move it there)'
        )
    if LABEL.in_bag in line.topics:
        notes.append(
            f"the bag's label topic {LABEL.in_bag} labels it already: the file is used only "
            'when given as --labels'
        )
    model_name = f'{model_path} (sha256 {model.sha256[:12]})'
    outside = len(stamps) - sum(len(pos) for _, pos in split)
    comment = '\n'.join(
        [
            f'Grasp attempts of {recording}, labels PROPOSED by grasp-train label: confirm or',
            'flip each label (success or failure); delete a line to leave that attempt out.',
            f'{len(split)} attempts, split {how}; {outside} frames in none (unlabelled).',
            f'Proposal: the likelier outcome of the mean calibrated p(success) over the last '
            f'{n_judged} frames,',
            f'model {model_name}, roi {list(params.roi)}, image_rotation '
            f'{params.mount.rotation}, image_flip {str(params.mount.flip).lower()};',
            'confidence: the probability of the proposed label. The sheet shows the attempts',
            f'least confident first: {sheet_path}.',
            'Times: seconds from bag_start_ns'
            + (" (the first frame's header stamp)" if line.kind == 'bag' else ' (frame 0)')
            + '; a frame belongs to an attempt when start <= its stamp <= end.',
        ]
    )
    extra = {'image_topic': line.topic} if line.topic else {}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(labels_text(proposals, origin, comment, extra))
    sheet_path.parent.mkdir(parents=True, exist_ok=True)
    write_png(str(sheet_path), png)
    return Labelled(out, sheet_path, proposals, len(stamps), how, model_name, notes)


# -- command line ------------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        'label',
        help='split a bag or video into grasp attempts; propose their labels and a contact sheet',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument('recording', type=Path, help='rosbag2 bag (or its .mcap/.db3) or video')
    p.add_argument(
        '--out',
        type=Path,
        help='interval file to write (default: the sidecar <recording>.labels.yaml, '
        'which the other commands read with no option)',
    )
    p.add_argument(
        '--model',
        type=Path,
        help="the model proposing labels (default: --params' model_path, else the shipped one)",
    )
    p.add_argument(
        '--params',
        type=Path,
        help="the node's parameter YAML: roi, image_rotation and image_flip make the model's "
        'view, check_frames the default --frames-per-episode, image_topic the bag topic',
    )
    p.add_argument(
        '--trigger-topic',
        help="split at this topic's messages: std_msgs/Bool true starts an attempt, false "
        'ends it; any other type (std_msgs/Empty) starts one at every message',
    )
    p.add_argument(
        '--gap',
        type=float,
        help='s; without --trigger-topic, a longer gap between frame stamps ends an attempt '
        '(default 0.5)',
    )
    p.add_argument(
        '--frames-per-episode',
        type=int,
        metavar='N',
        help="frames judged at each attempt's end (default: the node's check_frames, 3)",
    )
    p.add_argument('--sheet', type=Path, help='contact sheet PNG (default: --out with .png)')
    p.add_argument('--image-topic', help='bag image topic (default: the only one)')
    p.add_argument('--overwrite', action='store_true', help='replace an existing --out file')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    done = run_label(
        args.recording,
        out=args.out,
        sheet_path=args.sheet,
        model_path=args.model,
        params_path=args.params,
        trigger_topic=args.trigger_topic,
        gap_s=args.gap,
        frames_per_episode=args.frames_per_episode,
        image_topic=args.image_topic,
        overwrite=args.overwrite,
        log=print,
    )
    props = done.proposals
    n_ok = sum(1 for pr in props if pr.episode.success)
    unsure = sum(1 for pr in props if pr.confidence < 0.9)
    in_eps = sum(len(pr.frames) for pr in props)
    print(
        f'{args.recording}: {done.frames} frames, {len(props)} attempts split {done.split} '
        f'({done.frames - in_eps} frames in none)'
    )
    print(
        f'proposed by {done.model}: {n_ok} success, {len(props) - n_ok} failure; '
        f'{unsure} below 0.90 confidence (first on the sheet)'
    )
    print(f'labels: {done.labels} (proposals: confirm or flip each label)')
    print(f'sheet: {done.sheet}')
    for note in done.notes:
        print(f'note: {note}')
    params = f' --params {args.params}' if getattr(args, 'params', None) else ''
    print(f'then: grasp-train adapt {args.recording} [more recordings]{params} --out DIR')
    return 0
