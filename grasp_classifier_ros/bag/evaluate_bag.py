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
Evaluate the grasp classifier on a rosbag2 (console script ``evaluate_bag``); no ROS needed.

Replays the image topic of a bag (sqlite3 or mcap; Image or CompressedImage)
through the node's own ``Pipeline`` (fast mode) or ``NewestFrameWorker``
(``--realtime``, paced at the recorded rate), scores it against labels and
writes ``frames.csv``, ``episodes.csv``, ``metrics.json`` and ``timeline.png``.
``--recorded`` instead scores the ``/grasp/result`` messages a live node
published while the bag was recorded. See ``replay`` for how "now" is
defined in each mode and ``labels`` for the label sources.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, replace
import os
from pathlib import Path
import sys
import tempfile
from typing import Any

from .io import BagError, BagReader
from .labels import attach_labels, LabelPlan, plan_labels
from .make_bag import BagSpec, FAILURE_DIRS, image_folder_episodes, SUCCESS_DIRS, write_bag
from .preview import mount_preview
from .recordings import bags_in, choose_image_topic, read_frame
from .replay import FrameRecord, replay_fast, replay_realtime, ReplayRun
from .report import (
    build_metrics,
    episode_verdicts,
    EpisodeResult,
    summary_text,
    write_report,
)
from .results import clock_mismatch, recorded_records, write_annotated_bag
from .sheets import write_png
from ..core.configure import build_pipeline, resolve_model_path
from ..core.errors import GraspClassifierError
from ..core.familiarity import merge_summaries
from ..core.interfaces import (
    COMPRESSED,
    input_kind_of_type,
    LABEL,
    LABEL_INFO,
    RESULT,
)
from ..core.model import read_metadata
from ..core.params import load_params_file, Params, validate_all
from ..core.pipeline import Pipeline
from ..core.stamps import NS

# --from-images: just over the default max_frame_age, so smoothing restarts per episode
REAL_GAP_S = 0.6


class EvaluationError(GraspClassifierError):
    """The evaluation cannot run as asked (bad option combination, missing topic...)."""


# -- inputs -------------------------------------------------------------------------------------


# -- command line -------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog='evaluate_bag',
        description='Replay a rosbag2 through the grasp classifier pipeline and score it.',
    )
    ap.add_argument(
        'bag',
        nargs='?',
        type=Path,
        help='rosbag2 directory (or .mcap / .db3 file), or a folder of bags (a capture folder: '
        'one report over all of them)',
    )
    ap.add_argument('--list', action='store_true', help='list topics with types and counts')
    ap.add_argument(
        '--preview',
        type=Path,
        metavar='PNG',
        help='write one frame as the model sees it under each image_rotation/image_flip, '
        'scored, to choose the camera mount; then stop',
    )
    ap.add_argument(
        '--preview-frame',
        type=int,
        default=None,
        metavar='N',
        help='--preview: the frame index on the image topic (default: the middle one)',
    )
    ap.add_argument('--out', type=Path, help='report folder (default out/<bag name>)')
    ap.add_argument('--model', default=None, help='model file (default: the shipped model)')
    ap.add_argument('--params', type=Path, help='node parameter YAML (same names as the node)')
    ap.add_argument(
        '--image-topic',
        default=None,
        help="default: the node's image_topic or the only image topic",
    )
    ap.add_argument(
        '--label-topic',
        default=None,
        help=f'std_msgs/Bool labels (default {LABEL.in_bag} if present)',
    )
    ap.add_argument(
        '--labels', type=Path, help='YAML/CSV of labelled intervals (start, end, label)'
    )
    ap.add_argument('--labels-time', choices=('auto', 'absolute', 'relative'), default='auto')
    ap.add_argument(
        '--episode-gap',
        type=float,
        default=0.5,
        help='s; a frame gap this long splits episodes (label-topic episodes)',
    )
    ap.add_argument(
        '--realtime',
        action='store_true',
        help='pace frames at the recorded rate (drops frames like the node)',
    )
    ap.add_argument('--rate', type=float, default=1.0, help='--realtime speed factor')
    ap.add_argument(
        '--nominal-latency',
        type=float,
        default=0.01,
        help='fast mode: s added to each stamp as "now"',
    )
    ap.add_argument(
        '--recorded',
        action='store_true',
        help='score recorded /grasp/result messages instead of running the model',
    )
    ap.add_argument('--result-topic', default=RESULT.in_bag)
    ap.add_argument('--label-info-topic', default=LABEL_INFO.in_bag)
    ap.add_argument(
        '--success-class',
        default=None,
        help="--recorded: class name of success in the results (default: the model's success "
        "class among the bag's label_info names, else the one name meaning success)",
    )
    ap.add_argument(
        '--threshold',
        type=float,
        default=None,
        help="success threshold, -1 or 0..1 (default: the model's; --recorded: the bag's "
        'label_info, else 0.5)',
    )
    ap.add_argument(
        '--out-bag', type=Path, help='write a copy of the bag with /grasp/* results added'
    )
    ap.add_argument(
        '--out-storage',
        choices=('mcap', 'sqlite3'),
        default=None,
        help='storage of --out-bag (default: as input)',
    )
    ap.add_argument(
        '--from-images',
        type=Path,
        help='make a temporary bag from an ImageFolder (class/*.jpg) and evaluate it',
    )
    ap.add_argument('--fps', type=float, default=30.0, help='--from-images: frame rate')
    ap.add_argument(
        '--success-dirs',
        default=','.join(SUCCESS_DIRS),
        help='--from-images: comma-separated class folder names meaning success',
    )
    ap.add_argument(
        '--failure-dirs',
        default=','.join(FAILURE_DIRS),
        help='--from-images: comma-separated class folder names meaning failure',
    )
    ap.add_argument('--no-plot', action='store_true', help='skip timeline.png')
    ap.add_argument('--quiet', action='store_true', help='no progress line')
    return ap


class _Progress:
    """A tqdm progress line on stderr (plain periodic lines without tqdm)."""

    def __init__(self, total: int, desc: str, quiet: bool) -> None:
        self.bar = None
        self.dropped = 0
        if quiet:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total, desc=desc, unit='frame', mininterval=0.2, file=sys.stderr)

    def __call__(self, done: int, dropped: int) -> None:
        if self.bar is None:
            return
        if dropped != self.dropped:
            self.dropped = dropped
            self.bar.set_postfix(dropped=dropped, refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _model_info(pipeline: Pipeline) -> dict[str, Any]:
    m = pipeline.model
    return {
        'path': m.path,
        'id': m.model_id,
        'architecture': m.metadata.architecture,
        'trained': m.metadata.trained,
        'class_names': list(m.metadata.class_names),
        'device': str(m.device),
    }


# Options that only mean something in one mode: (option, what it needs, whether that holds).
_MODE_OPTIONS: tuple[tuple[str, str, Callable[[argparse.Namespace], bool]], ...] = (
    ('rate', '--realtime', lambda a: a.realtime),
    ('nominal_latency', 'fast replay (not --realtime or --recorded)', lambda a: _fast(a)),
    ('result_topic', '--recorded', lambda a: a.recorded),
    ('label_info_topic', '--recorded', lambda a: a.recorded),
    ('success_class', '--recorded', lambda a: a.recorded),
    ('image_topic', 'a replay (not --recorded)', lambda a: not a.recorded),
    ('out_storage', '--out-bag', lambda a: a.out_bag is not None),
    ('labels_time', '--labels', lambda a: a.labels is not None),
    ('fps', '--from-images', lambda a: a.from_images is not None),
    ('preview_frame', '--preview', lambda a: a.preview is not None),
    ('success_dirs', '--from-images', lambda a: a.from_images is not None),
    ('failure_dirs', '--from-images', lambda a: a.from_images is not None),
)


def _fast(args: argparse.Namespace) -> bool:
    return not (args.realtime or args.recorded)


def check_options(args: argparse.Namespace) -> None:
    """Reject option combinations that would be ignored or cannot work, before any work."""
    if args.from_images is not None and args.bag is not None:
        raise EvaluationError('give either a bag or --from-images, not both')
    if args.from_images is None and args.bag is None:
        raise EvaluationError('no bag given (evaluate_bag BAG, or --from-images DIR)')
    defaults = vars(build_parser().parse_args([]))
    for dest, needs, holds in _MODE_OPTIONS:
        if getattr(args, dest) != defaults[dest] and not holds(args):
            option = '--' + dest.replace('_', '-')
            raise EvaluationError(f'{option} only applies with {needs}; drop it')
    if args.rate <= 0:
        raise EvaluationError(f'--rate must be > 0, got {args.rate}')
    if args.recorded and (args.realtime or args.out_bag):
        raise EvaluationError('--recorded scores recorded results: no --realtime or --out-bag')
    if args.list and args.preview is not None:
        raise EvaluationError('--list and --preview are two separate jobs: give one of them')
    if args.list:
        return
    if args.preview is not None:
        if args.from_images is not None or args.recorded:
            raise EvaluationError(
                '--preview shows a frame of a bag: no --from-images or --recorded'
            )
        if args.preview.suffix.lower() != '.png':
            raise EvaluationError(f"--preview '{args.preview}' must name a .png file")
        return
    source = args.from_images if args.from_images is not None else args.bag
    check_output_dir('--out', args.out if args.out is not None else _default_out(source))
    if args.out_bag is not None:
        if args.out_bag.exists():
            raise EvaluationError(f"--out-bag '{args.out_bag}' already exists; remove it first")
        check_output_dir('--out-bag', args.out_bag)


def _default_out(source: Path) -> Path:
    """``out/<name>``, or ``out/<name>_report`` when that is the source itself (a bag in out/)."""
    out = Path('out') / source.name
    return out.with_name(f'{source.name}_report') if out.resolve() == source.resolve() else out


def check_output_dir(option: str, path: Path) -> None:
    """Raise EvaluationError unless ``path`` is, or can be created as, a writable folder."""
    if path.exists() and not path.is_dir():
        raise EvaluationError(f"{option} '{path}' is a file; give a folder")
    parent = path
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise EvaluationError(f"{option} '{path}' cannot be created: '{parent}' is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise EvaluationError(f"{option} '{path}' cannot be created: '{parent}' is not writable")


def run(args: argparse.Namespace) -> int:
    """Evaluate as the parsed arguments say; raise GraspClassifierError subclasses on faults."""
    check_options(args)
    if args.from_images is not None:
        with tempfile.TemporaryDirectory(prefix='grasp_eval_') as tmp:
            args.bag = _bag_from_images(args.from_images, Path(tmp) / args.from_images.name, args)
            if args.out is None:
                args.out = _default_out(args.from_images)
            return _evaluate(args)
    return _evaluate(args)


def _bag_from_images(folder: Path, out: Path, args: argparse.Namespace) -> Path:
    episodes = image_folder_episodes(
        folder,
        [s for s in args.success_dirs.split(',') if s],
        [s for s in args.failure_dirs.split(',') if s],
    )
    made = write_bag(out, episodes, BagSpec(fps=args.fps, kind=COMPRESSED, gap_s=REAL_GAP_S))
    print(
        f'made a temporary bag from {folder}: {made.frames} frames, {len(made.episodes)} '
        f'episodes at {args.fps:g} fps (CompressedImage, original JPEG bytes)',
        file=sys.stderr,
    )
    return out


def _preview(args: argparse.Namespace) -> int:
    """Write the mount preview of one frame; print each mount's score."""
    params = _params(args)
    rgb, at, count = read_frame(args.bag, args.preview_frame, args.image_topic)
    pipeline = build_pipeline(params)
    title = f'{args.bag.name}: frame {at} of {count}'
    image, views = mount_preview(rgb, pipeline.model, params.roi, params.mount, title)
    args.preview.parent.mkdir(parents=True, exist_ok=True)
    write_png(str(args.preview), image)
    print(f'frame {at} of {count} as the model {pipeline.model.model_id} sees it:')
    for v in views:
        mark = '  (--params)' if v.mount == params.mount else ''
        print(
            f'  image_rotation {v.mount.rotation:>3}  image_flip {str(v.mount.flip).lower():<5}  '
            f'p(success) {v.p_success:.2f}{mark}'
        )
    print(
        f'preview: {args.preview}. Choose the mount whose view looks like the training '
        "camera's (fingers rising from the bottom corners) and set image_rotation / "
        'image_flip in the params file.'
    )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    if args.preview is not None:
        return _preview(args)
    bag = args.bag
    if bag is not None and bag.is_dir() and not (bag / 'metadata.yaml').exists() and bags_in(bag):
        return _evaluate_folder(args)
    with BagReader(args.bag) as reader:
        if args.list:
            _list(reader)
            return 0
        if reader.message_count == 0:
            raise BagError(f"bag '{reader.path}' is empty (no messages)")
        for topic, mtype in reader.unknown.items():
            print(f"note: skipping topic '{topic}': unknown type {mtype}", file=sys.stderr)
        out_dir = args.out if args.out is not None else _default_out(reader.path)
        if args.recorded:
            _report(_score_recorded(reader, args), out_dir, args)
            return 0
        return _replay_and_score(reader, args, out_dir)


def _list(reader: BagReader) -> None:
    print(
        f'{reader.path}: {reader.storage}, {reader.message_count} messages, '
        f'{(reader.end_ns - reader.start_ns) / NS:.2f} s'
    )
    print(reader.describe_topics())


@dataclass
class _Scored:
    """One bag's evaluation, before the report: frame records and episode verdicts."""

    run: ReplayRun
    results: list[EpisodeResult]
    info: dict[str, Any]
    threshold: float
    hysteresis: float
    start_ns: int


def _report(scored: _Scored, out_dir: Path, args: argparse.Namespace) -> None:
    data = build_metrics(scored.run, scored.results, threshold=scored.threshold, info=scored.info)
    if scored.run.mode == 'recorded':
        data['throughput_fps'] = None
    write_report(
        out_dir,
        scored.run.records,
        scored.results,
        data,
        scored.start_ns,
        scored.hysteresis,
        not args.no_plot,
    )
    print(summary_text(data, scored.results, scored.start_ns, out_dir))


def _evaluate_folder(args: argparse.Namespace) -> int:
    """Evaluate every bag of a folder of bags (a capture folder) as one report."""
    folder: Path = args.bag
    bags = bags_in(folder)
    if args.labels is not None or args.out_bag is not None:
        raise EvaluationError(
            f"'{folder}' is a folder of {len(bags)} bags: --labels and --out-bag name one bag; "
            'give one of its bags'
        )
    parts: list[_Scored] = []
    pipelines: dict[str, Pipeline] = {}
    for bag in bags:
        with BagReader(bag) as reader:
            if args.list:
                _list(reader)
                continue
            if reader.message_count == 0:
                print(f"note: skipping '{bag}': empty", file=sys.stderr)
                continue
            if args.recorded:
                parts.append(_score_recorded(reader, args))
            else:
                parts.append(_replay(reader, args, pipelines)[0])
    if args.list:
        return 0
    if not parts:
        raise EvaluationError(f"'{folder}' holds no bag with messages")
    records: list[FrameRecord] = []
    results: list[EpisodeResult] = []
    for part in parts:
        offset = len(results)
        for r in part.run.records:
            r.index = len(records)
            if r.episode is not None:
                r.episode += offset
            records.append(r)
        results.extend(
            replace(e, episode=replace(e.episode, index=e.episode.index + offset))
            for e in part.results
        )
    first = parts[0]
    run_ = replace(
        first.run,
        records=records,
        wall_s=sum(p.run.wall_s for p in parts),
        submitted=sum(p.run.submitted for p in parts),
        processed=sum(p.run.processed for p in parts),
        dropped=sum(p.run.dropped for p in parts),
    )
    info = {**first.info, 'bag': str(folder), 'bags': [p.info['bag'] for p in parts]}
    if 'familiarity' in first.info:
        info['familiarity'] = merge_summaries([p.info['familiarity'] for p in parts])
    merged = _Scored(
        run_,
        results,
        info,
        first.threshold,
        first.hysteresis,
        min(p.start_ns for p in parts),
    )
    print(f'{folder}: {len(parts)} bags, {len(results)} episodes', file=sys.stderr)
    _report(merged, args.out if args.out is not None else _default_out(folder), args)
    return 0


def _replay_and_score(reader: BagReader, args: argparse.Namespace, out_dir: Path) -> int:
    scored, pipeline = _replay(reader, args, {})
    _report(scored, out_dir, args)
    if args.out_bag is not None:
        skipped = write_annotated_bag(
            reader,
            args.out_bag,
            scored.run.records,
            list(pipeline.metadata.class_names),
            scored.threshold,
            args.out_storage or reader.storage,
        )
        for t in skipped:
            print(f"note: --out-bag left out topic '{t}' (unknown type)", file=sys.stderr)
        print(f'annotated bag: {args.out_bag}')
    return 0


def _replay(
    reader: BagReader, args: argparse.Namespace, pipelines: dict[str, Pipeline]
) -> tuple[_Scored, Pipeline]:
    """Replay a bag's frames through the pipeline (reused per input kind from ``pipelines``)."""
    params = _params(args)
    topic = choose_image_topic(reader, args.image_topic, params.image_topic)
    params = replace(params, image_topic=topic)
    kind = input_kind_of_type(reader.topics[topic].msgtype)
    assert kind is not None  # choose_image_topic returned an image topic
    n_frames = reader.topics[topic].count
    if n_frames == 0:
        raise EvaluationError(f"image topic '{topic}' has no messages")
    plan = _plan_labels(reader, args)
    pipeline = pipelines.get(kind.name)
    if pipeline is None:
        pipeline = pipelines[kind.name] = build_pipeline(params, kind)
    else:
        pipeline.restart_stream(reader.start_ns)  # the next bag: a new stream
    cfg = pipeline.decision
    if not args.realtime and cfg.max_frame_age > 0 and args.nominal_latency >= cfg.max_frame_age:
        raise EvaluationError(
            f'--nominal-latency {args.nominal_latency} s must be below max_frame_age '
            f'{cfg.max_frame_age} s or every frame is stale'
        )
    mode = f'realtime x{args.rate:g}' if args.realtime else 'fast'
    print(
        f'evaluating {reader.path} topic {topic} ({n_frames} frames, {mode}) with model '
        f'{pipeline.model.model_id} on {pipeline.model.device}; labels: {plan.source}',
        file=sys.stderr,
    )
    progress = _Progress(n_frames, 'replay', args.quiet)
    frames = reader.messages([topic])
    pipeline.familiarity.reset()  # each bag its own stream for the out-of-depth monitor
    pipeline.familiarity.keep_stream()
    try:
        run_: ReplayRun
        if args.realtime:
            run_ = replay_realtime(pipeline, frames, rate=args.rate, progress=progress)
        else:
            run_ = replay_fast(
                pipeline, frames, nominal_latency_s=args.nominal_latency, progress=progress
            )
    finally:
        progress.close()
    attach_labels(run_.records, plan, args.episode_gap)
    threshold = pipeline.threshold
    results = _check_episodes(run_.records, plan, params, threshold)
    info = {
        'bag': str(reader.path),
        'storage': reader.storage,
        'image_topic': topic,
        'image_type': reader.topics[topic].msgtype,
        'model': _model_info(pipeline),
        'labels': _labels_info(plan),
        'decision': dict(cfg.__dict__),
        'check_frames': params.check_frames,
        'familiarity': pipeline.familiarity.stream_summary(),
    }
    scored = _Scored(run_, results, info, threshold, cfg.hysteresis, reader.start_ns)
    return scored, pipeline


def _params(args: argparse.Namespace) -> Params:
    """Return the node parameters of this evaluation: --params, then --model, --threshold."""
    values = load_params_file(args.params, EvaluationError) if args.params is not None else {}
    overrides: dict[str, Any] = {} if args.model is None else {'model_path': args.model}
    if args.threshold is not None:
        overrides['threshold'] = args.threshold
    return validate_all({**values, **overrides})


def _model_success_class(model_path: str) -> str | None:
    """Return the success class the model file names (None: the file cannot be read)."""
    try:
        return read_metadata(resolve_model_path(model_path)).success_class
    except GraspClassifierError:
        return None


def _score_recorded(reader: BagReader, args: argparse.Namespace) -> _Scored:
    params = _params(args)
    rec = recorded_records(
        reader,
        args.result_topic,
        args.label_info_topic,
        args.success_class,
        _model_success_class(params.model_path),
    )
    records = rec.records
    if not records:
        raise EvaluationError(f"result topic '{args.result_topic}' has no messages")
    threshold = args.threshold
    if threshold is None:
        threshold = rec.threshold if rec.threshold is not None and rec.threshold > 0 else 0.5
    print(
        f"scoring '{rec.success_class}' as success (from {rec.success_class_source}) at "
        f'threshold {threshold:.3f}',
        file=sys.stderr,
    )
    mismatch = clock_mismatch(records)
    if mismatch is not None:
        print(f'warning: {mismatch}', file=sys.stderr)
    plan = _plan_labels(reader, args, recorded=True)
    attach_labels(records, plan, args.episode_gap)
    run_ = ReplayRun('recorded', records, 0.0, len(records), len(records), 0)
    results = _check_episodes(records, plan, params, threshold)
    info = {
        'bag': str(reader.path),
        'storage': reader.storage,
        'result_topic': args.result_topic,
        'success_class': rec.success_class,
        'labels': {
            **_labels_info(plan),
            'matched_on': 'log time' if plan.by_log_time else 'header stamp',
        },
    }
    if mismatch is not None:
        info['clock_mismatch'] = mismatch
    return _Scored(run_, results, info, threshold, 0.0, reader.start_ns)


def _check_episodes(
    records: list[FrameRecord], plan: LabelPlan, params: Params, threshold: float
) -> list[EpisodeResult]:
    return episode_verdicts(
        records,
        plan.episodes or [],
        check_frames=params.check_frames,
        check_timeout=params.check_timeout,
        threshold=threshold,
    )


def _plan_labels(reader: BagReader, args: argparse.Namespace, recorded: bool = False) -> LabelPlan:
    plan = plan_labels(
        reader,
        labels=args.labels,
        labels_time=args.labels_time,
        label_topic=args.label_topic,
        recorded=recorded,
    )
    for note in plan.notes:
        print(f'note: {note}', file=sys.stderr)
    return plan


def _labels_info(plan: LabelPlan) -> dict[str, str]:
    return {
        'source': plan.source,
        'episodes_source': plan.episodes_source,
        'time_base': plan.time_base,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the ``evaluate_bag`` command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (GraspClassifierError, OSError) as exc:
        print(f'evaluate_bag: error: {exc}', file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print('evaluate_bag: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
