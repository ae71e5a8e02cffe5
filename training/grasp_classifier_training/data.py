# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Labelled image folders and group-aware splits.

Layout: ImageFolder (one sub-folder per class). Frames come from videos, so
neighbouring frames are near-duplicates: a random split would put copies of a
test frame into training. ``group_split`` therefore splits by *group* (the
video/session, from a regex on the file name) and never lets one group span two
splits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import hashlib
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from grasp_classifier_ros.bag import image_folder
from grasp_classifier_ros.bag.image_folder import GROUP_REGEX, IMAGE_SUFFIXES

# Prefix before the last ``_NN`` of the file stem: image_6_454 -> image_6 (one copy, shared
# with make_bag).
DEFAULT_GROUP_REGEX = GROUP_REGEX
SPLITS = ('train', 'val', 'test')


class DatasetError(ValueError):
    """A data folder cannot be used; the message names it and the fix."""


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int  # index into Dataset.class_names
    class_name: str
    group: str


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


def load_split_paths(path: str | Path, subset: str) -> set[Path]:
    """Return the resolved file paths of one subset of a written split."""
    if subset not in SPLITS:
        raise DatasetError(f"subset '{subset}' is not one of {', '.join(SPLITS)}")
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"split file '{p}' does not exist (it is RUN/split.json)")
    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise DatasetError(f"split file '{p}' is not valid JSON: {exc}") from exc
    return {Path(d['path']).resolve() for d in data[subset]}


def group_split(
    datasets: Dataset | list[Dataset],
    *,
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
    seed: int = 0,
    group_regex: str = DEFAULT_GROUP_REGEX,
    strategy: str = 'images',
) -> Split:
    """Assign whole groups to train/val/test; no group ever spans two splits.

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
            g = group_of(s.path, group_regex)
            groups.setdefault((i, g), []).append(Sample(s.path, s.label, s.class_name, g))
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
    """SHA-256 over (relative path, content hash) of every sample: identifies the data exactly."""
    h = hashlib.sha256()
    for s in sorted(dataset.samples, key=lambda s: str(s.path)):
        rel = s.path.relative_to(dataset.root).as_posix()
        h.update(rel.encode())
        h.update(hashlib.sha256(s.path.read_bytes()).digest())
    return h.hexdigest()
