# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Labelled data (image folders and recordings) and group-aware splits.

Layout: ImageFolder (one sub-folder per class), or recordings (rosbag2 bags and
videos, read by the runtime's one reader, ``grasp_classifier_ros.bag.recordings``;
``scan_sources`` takes any mix). Frames come from videos, so neighbouring frames
are near-duplicates: a random split would put copies of a test frame into
training. ``group_split`` and ``group_folds`` therefore split by *group* (the
video/session, from a regex on the file name; a whole bag or video for a
recording) and never let one group span two splits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import hashlib
import json
from pathlib import Path
from typing import Any

import cv2
from grasp_classifier_ros.bag import image_folder
from grasp_classifier_ros.bag.image_folder import GROUP_REGEX, IMAGE_SUFFIXES
from grasp_classifier_ros.bag.labels import LabelError, parse_label
from grasp_classifier_ros.bag.recordings import (
    collect,
    ReadOptions,
    recording_kind,
    RecordingError,
)
from grasp_classifier_ros.core.mount import Mount, UPRIGHT
from grasp_classifier_ros.core.roi import FULL_FRAME, Roi
import numpy as np

# Prefix before the last ``_NN`` of the file stem: image_6_454 -> image_6 (one copy, shared
# with make_bag).
DEFAULT_GROUP_REGEX = GROUP_REGEX
SPLITS = ('train', 'val', 'test')


class DatasetError(ValueError):
    """A data folder cannot be used; the message names it and the fix."""


@dataclass(frozen=True)
class Sample:
    """One labelled image: a file, or a frame of a recording (held in memory)."""

    path: Path  # the image file, or the recording it came from
    label: int  # index into Dataset.class_names
    class_name: str
    group: str
    key: str = ''  # unique name ('' = class folder/file name, see sample_key)
    image: np.ndarray | None = field(default=None, compare=False, hash=False, repr=False)
    episode: str = ''  # a recording's labelled attempt ('<recording>#<k>'); '' for files


@dataclass
class Dataset:
    root: Path
    class_names: tuple[str, ...]
    samples: list[Sample]
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(self.class_names, 0)
        for s in self.samples:
            out[s.class_name] += 1
        return out


def group_of(path: Path, group_regex: str = DEFAULT_GROUP_REGEX) -> str:
    """Group (video/session) of a file: the regex's ``group`` on the stem, else the stem."""
    return image_folder.group_of(path.stem, group_regex)


def check_out_outside(data_dir: Path, out_dir: Path) -> None:
    """Raise ``DatasetError`` when ``out_dir`` is ``data_dir`` or inside it."""
    data, out = data_dir.resolve(), out_dir.resolve()
    if out == data or data in out.parents:
        raise DatasetError(
            f"output folder '{out_dir}' is inside the data folder '{data_dir}'; "
            'it would become a class folder: write it elsewhere'
        )


def load_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8 ``(H, W, 3)``; raise DatasetError if unreadable."""
    buf = np.fromfile(str(path), dtype=np.uint8) if Path(path).is_file() else None
    img = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf is not None and buf.size else None
    if img is None:
        raise DatasetError(f"'{path}' is not a readable image")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def scan_dataset(
    root: str | Path, *, group_regex: str = DEFAULT_GROUP_REGEX, verify: bool = True
) -> Dataset:
    """Index an ImageFolder; unreadable images are skipped and counted, not fatal."""
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"data folder '{root}' does not exist")
    if not root.is_dir():
        raise DatasetError(f"data folder '{root}' is not a directory")
    class_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith('.'))
    if not class_dirs:
        raise DatasetError(
            f"data folder '{root}' has no class sub-folders; expected e.g. "
            f"'{root}/grasped/*.jpg' and '{root}/notgrasped/*.jpg'"
        )
    if len(class_dirs) < 2:
        raise DatasetError(
            f"data folder '{root}' has a single class '{class_dirs[0].name}'; "
            'a classifier needs at least two class folders'
        )
    class_names = tuple(d.name for d in class_dirs)
    samples: list[Sample] = []
    skipped: list[tuple[Path, str]] = []
    for label, d in enumerate(class_dirs):
        files = sorted(
            p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not files:
            raise DatasetError(
                f"class folder '{d}' has no images ({', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        for p in files:
            if verify:
                try:
                    load_image(p)
                except DatasetError as exc:
                    skipped.append((p, str(exc)))
                    continue
            samples.append(Sample(p, label, d.name, group_of(p, group_regex)))
    ds = Dataset(root, class_names, samples, skipped)
    empty = [c for c, n in ds.counts().items() if n == 0]
    if empty:
        raise DatasetError(f"class folder(s) {empty} in '{root}' hold no readable image")
    return ds


@dataclass
class Split:
    train: list[Sample]
    val: list[Sample]
    test: list[Sample]
    seed: int = 0
    group_regex: str = DEFAULT_GROUP_REGEX

    def subsets(self) -> dict[str, list[Sample]]:
        return {'train': self.train, 'val': self.val, 'test': self.test}

    def to_json(self) -> dict[str, Any]:
        return {
            'seed': self.seed,
            'group_regex': self.group_regex,
            **{
                name: [
                    {
                        'file': sample_key(s),
                        'path': str(s.path.resolve()),
                        'label': s.label,
                        'class_name': s.class_name,
                        'group': s.group,
                    }
                    for s in subset
                ]
                for name, subset in self.subsets().items()
            },
        }

    def write(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(json.dumps(self.to_json(), indent=1))
        return p

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Split:
        def load(name: str) -> list[Sample]:
            return [
                Sample(Path(d['path']), int(d['label']), d['class_name'], d['group'])
                for d in data[name]
            ]

        return cls(
            load('train'),
            load('val'),
            load('test'),
            int(data.get('seed', 0)),
            data.get('group_regex', DEFAULT_GROUP_REGEX),
        )


def sample_key(sample: Sample | str | Path) -> str:
    """
    How split and folds files name an image, machine-independent.

    ``class_folder/file_name`` for a file; ``<recording>/<frame index>`` for a frame.
    """
    if isinstance(sample, Sample):
        if sample.key:
            return sample.key
        sample = sample.path
    p = Path(sample)
    return f'{p.parent.name}/{p.name}'


def sample_image(sample: Sample) -> np.ndarray:
    """Return the sample's RGB uint8 pixels: the frame it holds, else its file read from disk."""
    return sample.image if sample.image is not None else load_image(sample.path)


def load_split_paths(path: str | Path, subset: str) -> set[str]:
    """
    Return the ``sample_key``s of one subset of a split file (``split.json`` or ``folds.json``).

    ``subset`` is ``train``/``val``/``test`` for a split, ``fold:K`` (held-out fold
    K) or ``train:K`` (every other fold) for a folds file.
    """
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"split file '{p}' does not exist (it is RUN/split.json)")
    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise DatasetError(f"split file '{p}' is not valid JSON: {exc}") from exc
    if isinstance(data, dict) and data.get('format') == FOLDS_FORMAT:
        return Folds.from_json(data, p).subset(subset)
    if subset not in SPLITS:
        raise DatasetError(f"subset '{subset}' is not one of {', '.join(SPLITS)}")
    entries = data.get(subset) if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(
        isinstance(d, dict) and ('path' in d or 'file' in d) for d in entries
    ):
        raise DatasetError(
            f"'{p}' is not a split file (no '{subset}' list of images): pass a run's "
            'split.json or a folds.json written by grasp-train cv'
        )
    return {d['file'] if 'file' in d else sample_key(d['path']) for d in entries}


FOLDS_FORMAT = 'grasp_classifier_training/folds-1'


@dataclass
class Folds:
    """Group-aware K folds: ``fold_of[sample_key] = k``; no group in two folds."""

    k: int
    fold_of: dict[str, int]
    group_of: dict[str, str]
    seed: int = 0
    group_regex: str = DEFAULT_GROUP_REGEX

    def subset(self, name: str) -> set[str]:
        """``fold:K``: the images of fold K; ``train:K``: those of every other fold."""
        kind, _, index = name.partition(':')
        if kind not in ('fold', 'train') or not index.isdigit() or int(index) >= self.k:
            raise DatasetError(
                f"subset '{name}' of a {self.k}-fold file must be fold:K or train:K "
                f'with K in 0..{self.k - 1}'
            )
        k = int(index)
        return {f for f, i in self.fold_of.items() if (i == k) == (kind == 'fold')}

    def to_json(self) -> dict[str, Any]:
        return {
            'format': FOLDS_FORMAT,
            'k': self.k,
            'seed': self.seed,
            'group_regex': self.group_regex,
            'images': [
                {'file': f, 'group': self.group_of[f], 'fold': i}
                for f, i in sorted(self.fold_of.items())
            ],
        }

    def write(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(json.dumps(self.to_json(), indent=1) + '\n')
        return p

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str | Path = 'folds file') -> Folds:
        try:
            images = data['images']
            return cls(
                int(data['k']),
                {d['file']: int(d['fold']) for d in images},
                {d['file']: str(d['group']) for d in images},
                int(data.get('seed', 0)),
                data.get('group_regex', DEFAULT_GROUP_REGEX),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"'{where}' is not a valid folds file ({exc})") from exc

    @classmethod
    def read(cls, path: str | Path) -> Folds:
        p = Path(path)
        try:
            data = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise DatasetError(f"cannot read folds file '{p}': {exc}") from exc
        if not isinstance(data, dict) or data.get('format') != FOLDS_FORMAT:
            raise DatasetError(f"'{p}' is not a folds file written by grasp-train cv")
        return cls.from_json(data, p)


def group_folds(
    samples: list[Sample], k: int, *, seed: int = 0, group_regex: str = DEFAULT_GROUP_REGEX
) -> Folds:
    """
    Assign whole groups (videos/sessions) to ``k`` folds, balancing images per class.

    Groups go largest first (ties in seeded random order) to the fold whose
    per-class counts move closest to an even ``1/k`` share. Deterministic for a
    given seed; no group ever spans two folds.
    """
    if k < 2:
        raise DatasetError(f'--folds {k}: cross-validation needs at least 2 folds')
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.group, []).append(s)
    if len(groups) < k:
        raise DatasetError(f'{len(groups)} groups (videos/sessions) cannot fill {k} folds')
    n_classes = max(s.label for s in samples) + 1
    totals = np.bincount([s.label for s in samples], minlength=n_classes).astype(float)
    target = totals / k
    have = np.zeros((k, n_classes))
    rng = np.random.default_rng(seed)
    names = sorted(groups)
    order = sorted(rng.permutation(len(names)), key=lambda i: -len(groups[names[i]]))
    fold_of: dict[str, int] = {}
    group_by_key: dict[str, str] = {}
    for i in order:
        name = names[i]
        counts = np.bincount([s.label for s in groups[name]], minlength=n_classes)
        # Change of squared distance to the target if the group joins each fold.
        cost = ((have + counts - target) ** 2).sum(1) - ((have - target) ** 2).sum(1)
        f = int(np.argmin(cost))
        have[f] += counts
        for s in groups[name]:
            fold_of[sample_key(s)] = f
            group_by_key[sample_key(s)] = name
    return Folds(k, fold_of, group_by_key, seed, group_regex)


def group_split(
    datasets: Dataset | list[Dataset],
    *,
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
    seed: int = 0,
    group_regex: str = DEFAULT_GROUP_REGEX,
    strategy: str = 'images',
) -> Split:
    """
    Assign whole groups to train/val/test; no group ever spans two splits.

    ``strategy='images'``: every group, largest first, goes where its images best
    fill the per-class image quotas (val/test get their share of *images*).
    ``strategy='sessions'``: long videos (>= 10 % of the images) are placed that
    way; short sessions are split by *count*, stratified by majority class, so
    training sees most distinct sessions (smaller val/test). Groups of different
    data folders never merge. Deterministic for a given seed.
    """
    if strategy not in ('images', 'sessions'):
        raise DatasetError(f"split strategy '{strategy}' is not 'images' or 'sessions'")
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise DatasetError(
            f'val_fraction={val_fraction} and test_fraction={test_fraction} must be in [0, 1) '
            'and sum to less than 1'
        )
    dsets = [datasets] if isinstance(datasets, Dataset) else list(datasets)
    groups: dict[tuple[int, str], list[Sample]] = {}
    for i, ds in enumerate(dsets):
        for s in ds.samples:
            groups.setdefault((i, s.group), []).append(s)
    n_classes = max(len(ds.class_names) for ds in dsets)
    fractions = np.array([1.0 - val_fraction - test_fraction, val_fraction, test_fraction])
    totals = np.zeros(n_classes)
    for members in groups.values():
        for s in members:
            totals[s.label] += 1
    target = fractions[:, None] * totals[None, :]
    have = np.zeros_like(target)
    rng = np.random.default_rng(seed)
    keys = sorted(groups)
    shuffled = [keys[k] for k in rng.permutation(len(keys))]
    big_limit = 0.1 * totals.sum() if strategy == 'sessions' else 0.0
    big = sorted(
        (k for k in shuffled if len(groups[k]) >= big_limit), key=lambda k: -len(groups[k])
    )
    small = [k for k in shuffled if len(groups[k]) < big_limit]
    assignment: dict[tuple[int, str], int] = {}
    # Big groups (long videos) by image deficit per class, largest first.
    for key in big:
        counts = np.bincount([s.label for s in groups[key]], minlength=n_classes)
        deficit = np.maximum(target - have, 0.0)
        gain = np.minimum(deficit, counts[None, :]).sum(axis=1)
        choice = int(np.argmax(gain + 1e-6 * deficit.sum(axis=1)))
        assignment[key] = choice
        have[choice] += counts
    # Small groups (short sessions) by count, stratified by majority class, so every split
    # sees its share of distinct sessions rather than whichever fill the image quota.
    by_class: dict[int, list[tuple[int, str]]] = {}
    for key in small:
        majority = int(np.bincount([s.label for s in groups[key]]).argmax())
        by_class.setdefault(majority, []).append(key)
    for members in by_class.values():
        m = len(members)
        n_test = int(round(m * test_fraction))
        n_val = int(round(m * val_fraction))
        if m >= 3:  # keep every class present in every split where the data allows
            n_test, n_val = (
                max(n_test, 1 if test_fraction > 0 else 0),
                max(n_val, 1 if val_fraction > 0 else 0),
            )
        for j, key in enumerate(members):
            assignment[key] = 2 if j < n_test else 1 if j < n_test + n_val else 0
    subsets: list[list[Sample]] = [[], [], []]
    for key in keys:
        subsets[assignment[key]].extend(groups[key])
    return Split(subsets[0], subsets[1], subsets[2], seed, group_regex)


def manifest_hash(dataset: Dataset) -> str:
    """
    SHA-256 over (name, content hash) of every sample: identifies the data exactly.

    A file: its path relative to the folder and its bytes; a recording's frame: its key
    and decoded pixels (what training saw: the same for the same bag and sampling).
    """
    h = hashlib.sha256()
    for s in sorted(dataset.samples, key=sample_key):
        if s.image is not None:
            h.update(sample_key(s).encode())
            h.update(hashlib.sha256(np.ascontiguousarray(s.image).tobytes()).digest())
            continue
        h.update(s.path.relative_to(dataset.root).as_posix().encode())
        h.update(hashlib.sha256(s.path.read_bytes()).digest())
    return h.hexdigest()


# -- recordings: bags and videos through the runtime's one reader --------------------------

RECORDING_CLASSES = ('grasped', 'notgrasped')  # the shipped models' class names


@dataclass(frozen=True)
class SourceOptions:
    """How to read data sources: recordings' read options and the camera view (roi, mount)."""

    read: ReadOptions = ReadOptions()
    roi: Roi = FULL_FRAME
    mount: Mount = UPRIGHT


def is_recording(path: Path) -> bool:
    """Return True for a bag or video (a recording), False for a class folder."""
    try:
        return recording_kind(Path(path)) != 'folder'
    except RecordingError:
        return False


def recording_classes(datasets: list[Dataset]) -> tuple[str, ...]:
    """Return recordings' class names: a binary folder's success/failure names, else ours."""
    for ds in datasets:
        if len(ds.class_names) != 2:
            continue
        try:
            meaning = [parse_label(c) for c in ds.class_names]
        except LabelError:
            continue
        if meaning[0] != meaning[1]:
            return tuple(ds.class_names)
    return RECORDING_CLASSES


def success_index_of(names: tuple[str, ...]) -> int:
    """Index of the success class of a binary class list; DatasetError otherwise."""
    meaning = []
    for n in names:
        try:
            meaning.append(parse_label(n))
        except LabelError:
            meaning.append(None)
    if len(names) != 2 or meaning.count(True) != 1:
        raise DatasetError(
            f'recordings are labelled success/failure, but the classes are {list(names)}: '
            'a binary class list with one success name (grasped, success) is needed'
        )
    return meaning.index(True)


def scan_sources(
    sources: list[Path],
    *,
    group_regex: str = DEFAULT_GROUP_REGEX,
    options: SourceOptions = SourceOptions(),
    log: Any = None,
    class_names: tuple[str, ...] | None = None,
) -> list[Dataset]:
    """
    One ``Dataset`` per source, in order: class folders scanned, recordings read.

    A folder of bags (the node's capture folder) is one source holding all of its bags,
    each its own group. Recordings (bags, videos) are read through ``recordings.collect``
    (labels, groups, sampling); their frames are held in memory, labelled with
    ``class_names`` (e.g. a model's; binary, one name meaning success), else those of a
    binary class folder among the sources, else ``RECORDING_CLASSES``.
    """
    for src in sources:
        if not Path(src).exists():
            raise DatasetError(
                f"data '{src}' does not exist (give a class folder, a rosbag2 bag or a video)"
            )
    kinds = [is_recording(Path(s)) for s in sources]
    folders = {
        i: scan_dataset(s, group_regex=group_regex) for i, s in enumerate(sources) if not kinds[i]
    }
    recs = [Path(s) for s, rec in zip(sources, kinds) if rec]
    if not recs:
        return [folders[i] for i in range(len(sources))]
    names = class_names or recording_classes(list(folders.values()))
    success = success_index_of(names)
    got = collect(recs, options.read, log=log)
    # a source is one recording, or a folder of bags (a capture folder): all of its bags
    samples: dict[Path, list[Sample]] = {Path(s): [] for s in recs}
    info_of = {info.group: info for info in got.recordings}
    for image, ok, group, key, ep in zip(
        got.images, got.labels, got.groups, got.keys, got.episodes
    ):
        idx = success if ok else 1 - success
        info = info_of[group]
        origin = info.origin if info.origin is not None else info.path
        samples[origin].append(Sample(info.path, idx, names[idx], group, key, image, ep))
    return [
        folders[i] if i in folders else Dataset(Path(sources[i]), names, samples[Path(sources[i])])
        for i in range(len(sources))
    ]


def add_source_args(p: Any, *, params: bool = True) -> None:
    """Add the options that say how to read recordings (and, with ``params``, the camera view)."""
    g = p.add_argument_group('recordings (rosbag2 bags and videos given as data)')
    g.add_argument('--every', type=int, default=1, help='keep every N-th frame (default 1)')
    g.add_argument(
        '--max-per-episode',
        type=int,
        default=0,
        help='at most N evenly spaced frames per labelled episode (default 0: all)',
    )
    g.add_argument(
        '--labels',
        type=Path,
        help='interval file (start, end, label) of a single recording (else: its /grasp/label '
        'topic or a sidecar <recording>.labels.yaml)',
    )
    g.add_argument(
        '--labels-time',
        choices=('auto', 'absolute', 'relative'),
        default='auto',
        help='--labels: times since the epoch or since the first frame (default auto)',
    )
    g.add_argument('--image-topic', help='bag image topic (default: the only one)')
    g.add_argument('--label-topic', help='std_msgs/Bool label topic (default /grasp/label)')
    g.add_argument(
        '--episode-gap',
        type=float,
        default=0.5,
        help='s; a gap this long between frames splits label-topic episodes (default 0.5)',
    )
    if params:
        g.add_argument(
            '--params',
            type=Path,
            help="the node's parameter YAML: image_rotation, image_flip and roi are applied to "
            'every image exactly as the node does (and image_topic picks the bag topic)',
        )


VIEW_PARAMS = ('image_rotation', 'image_flip', 'roi', 'image_topic')
SOURCE_DEFAULTS = {
    'every': 1,
    'max_per_episode': 0,
    'labels': None,
    'labels_time': 'auto',
    'image_topic': None,
    'label_topic': None,
    'episode_gap': 0.5,
    'params': None,
}


def source_args_given(args: Any) -> list[str]:
    """Return the ``add_source_args`` options set to something other than their default."""
    return [
        f'--{name.replace("_", "-")}'
        for name, default in SOURCE_DEFAULTS.items()
        if getattr(args, name, default) != default
    ]


def node_params(path: Path | None, log: Any = None) -> tuple[Any, dict[str, Any]]:
    """
    Return the node's ``Params`` from a ``--params`` file (defaults without one), validated.

    Also the values the file set (the node's defaults fill the rest); ``log`` hears
    which view parameters it set.
    """
    from grasp_classifier_ros.core.params import load_params_file, validate_all

    if path is None:
        return validate_all({}), {}
    values = load_params_file(path, DatasetError)
    params = validate_all(values)
    used = [f'{k} {values[k]}' for k in VIEW_PARAMS if k in values]
    if log is not None:
        log(
            f'--params {path}: '
            + (', '.join(used) or 'no view parameter set')
            + " (the node's other parameters do not change the images)"
        )
    return params, values


def source_options(args: Any, log: Any = None) -> SourceOptions:
    """Build ``SourceOptions`` from ``add_source_args`` options (checked before any work)."""
    from grasp_classifier_ros.bag.recordings import Sampling

    if args.labels_time != 'auto' and args.labels is None:
        raise DatasetError('--labels-time only applies with --labels; drop it')
    params, values = node_params(getattr(args, 'params', None), log)
    read = ReadOptions(
        image_topic=args.image_topic,
        preferred_topic=params.image_topic if 'image_topic' in values else '',
        label_topic=args.label_topic,
        labels=args.labels,
        labels_time=args.labels_time,
        episode_gap_s=float(args.episode_gap),
        sampling=Sampling(every=args.every, max_per_episode=args.max_per_episode),
    )
    return SourceOptions(read, params.roi, params.mount)
