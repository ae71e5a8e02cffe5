# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
``grasp-train extract``: recordings (and class folders) as class folders of images.

For people who want files. Every labelled, sampled frame of the bags and videos given
(read by the runtime's one reader, with the shared options ``--every``,
``--max-per-episode``, ``--labels``, ...) is written as a lossless PNG
``OUT/<class>/<group>_<frame index>.png``: the class a success or failure name (those
of a class folder given beside the recordings, else grasped/notgrasped), the group the
recording (``/`` in it written ``__``), so ``cv``, ``train``, ``evaluate`` and ``inspect``
find the same groups in the file names. Images of class folders given are copied
byte for byte under their own names. ``OUT/groups.csv`` lists every file with its
class, group, episode (a recording's labelled attempt) and stamp (s: a bag frame's
header stamp, a video frame's time from the first frame; empty for copied files).

Frames are written **as recorded**: no roi, no image_rotation, no image_flip. The node
applies those to the camera's frames at run time, so a model is trained on them the
same way: give the node's ``--params`` to ``cv``/``train``/``adapt``/``evaluate`` on
``OUT``. OUT must be new or empty and outside every folder given.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import csv
from pathlib import Path
import shutil
from typing import Any

from . import data as data_mod

GROUPS_FILE = 'groups.csv'


def safe_group(group: str) -> str:
    """Return a group as a file-name part: path separators become ``__``."""
    return group.replace('/', '__').replace('\\', '__')


def extract(
    sources: list[Path], out: Path, options: data_mod.SourceOptions, log: Any = None
) -> dict[str, int]:
    """Write the sources' frames and images under ``out``; return images per class."""
    from grasp_classifier_ros.bag.recordings import open_recordings

    out = Path(out)
    for src in sources:
        if not Path(src).exists():
            raise data_mod.DatasetError(
                f"data '{src}' does not exist (give a class folder, a rosbag2 bag or a video)"
            )
        if Path(src).is_dir():
            data_mod.check_out_outside(Path(src), out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise data_mod.DatasetError(f"output folder '{out}' is not empty: choose a new one")
    kinds = [data_mod.is_recording(Path(s)) for s in sources]
    folders = [data_mod.scan_dataset(s) for s, rec in zip(sources, kinds) if not rec]
    recordings = []
    if any(kinds):
        names = data_mod.recording_classes(folders)
        success = data_mod.success_index_of(names)
        # Every recording is opened (its labels checked) before a file is written; its
        # frames then stream to disk, not all into memory as scan_sources holds them.
        recordings = open_recordings([s for s, rec in zip(sources, kinds) if rec], options.read)
    groups = {safe_group(r.info.group): r.info.group for r in recordings}
    if len(groups) < len(recordings):
        raise data_mod.DatasetError(
            'two recordings give the same file-name group: ' + ', '.join(sorted(groups))
        )
    rows: list[list[str]] = []
    counts: dict[str, int] = {}
    written: set[str] = set()

    def claim(cls: str, name: str) -> Path:
        rel = f'{cls}/{name}'
        if rel in written:
            raise data_mod.DatasetError(f"two images would both be '{out / rel}'")
        written.add(rel)
        counts[cls] = counts.get(cls, 0) + 1
        (out / cls).mkdir(parents=True, exist_ok=True)
        return out / rel

    read = iter(folders)
    # a source is one recording, or a folder of bags (a capture folder): all of its bags
    by_source: dict[Path, list[Any]] = {}
    for r in recordings:
        by_source.setdefault(Path(r.info.origin or r.info.path), []).append(r)
    for src, is_rec in zip(sources, kinds):
        if not is_rec:
            for s in next(read).samples:
                shutil.copyfile(s.path, claim(s.class_name, s.path.name))
                rows.append([f'{s.class_name}/{s.path.name}', s.class_name, s.group, '', ''])
            continue
        for rec in by_source[Path(src)]:
            _extract_recording(rec, names, success, claim, rows, log)
    if not rows:
        raise data_mod.DatasetError('no labelled frame could be read from the recordings')
    with open(out / GROUPS_FILE, 'w', newline='') as fh:
        w = csv.writer(fh)
        w.writerow(['file', 'class', 'group', 'episode', 'stamp'])
        w.writerows(rows)
    return counts


def _extract_recording(
    rec: Any,
    names: tuple[str, ...],
    success: int,
    claim: Callable[[str, str], Path],
    rows: list[list[str]],
    log: Any,
) -> None:
    """Write one recording's frames as images; add their rows to ``groups.csv``."""
    from grasp_classifier_ros.bag.sheets import write_png
    from grasp_classifier_ros.core.stamps import NS

    for f in rec.frames():
        cls = names[success if f.label else 1 - success]
        name = f'{safe_group(f.group)}_{f.key.rsplit("/", 1)[1]}.png'
        try:
            write_png(str(claim(cls, name)), f.image[..., ::-1])
        except OSError as exc:
            raise data_mod.DatasetError(str(exc)) from exc
        # Exact from the integer nanoseconds (a float of epoch seconds keeps ~0.2 us).
        stamp = '' if f.t_ns is None else f'{f.t_ns // NS}.{f.t_ns % NS:09d}'
        rows.append([f'{cls}/{name}', cls, f.group, f'{f.group}#{f.episode}', stamp])
    if log is not None:
        log(rec.info.summary())
        for note in rec.info.notes:
            log(f'note: {note}')


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        'extract',
        help='write recordings (and class folders) as class folders of images plus groups.csv',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        'data',
        nargs='+',
        type=Path,
        help='rosbag2 bag(s), video(s), class folder(s) or folders of bags (a capture_dir)',
    )
    p.add_argument('--out', type=Path, required=True, help='new (or empty) folder to write')
    data_mod.add_source_args(p, params=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    counts = extract(list(args.data), args.out, data_mod.source_options(args), log=print)
    total = sum(counts.values())
    per_class = ', '.join(f'{n} {c}' for c, n in sorted(counts.items()))
    print(f'wrote {total} images ({per_class}) to {args.out}; groups: {args.out / GROUPS_FILE}')
    return 0
