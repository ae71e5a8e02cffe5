# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Inspect an image folder before training: counts, sizes, duplicates, leakage, outliers.

Writes ``report.json`` (everything), ``report.md`` (the key numbers) and contact
sheets: ``sheet_<class>.png`` (up to 64 thumbnails per class), ``sheet_outliers.png``
(dark and blurred frames) and ``sheet_near_duplicates.png`` (pairs side by side,
cross-split pairs first).

- Exact duplicates: identical file contents (SHA-256).
- Near duplicates: perceptual hash (``imagehash.phash``) Hamming distance <=
  ``--near-threshold``.
- Leakage: a duplicate pair whose two images land in different splits of the
  group split (``data.group_split``; groups never span splits, so these pairs
  cross groups). Near duplicates across groups suggest the group regex misses
  that the frames come from the same video.
- Dark: mean brightness < 40/255, or a robust z-score (median/MAD) below -3.5.
- Blurred: sharpness (variance of the Laplacian on a 128x128 grey copy, rescaled
  as if the frame's mean brightness were mid-grey, so dark frames do not count
  as blurred) below 0.2 x the data set's median.
"""

from __future__ import annotations

import argparse
from collections import Counter
import hashlib
import itertools
import json
from pathlib import Path
import re
import sys
from typing import Any

import cv2
from grasp_classifier_ros.bag.sheets import caption, sheet, thumbnail
from grasp_classifier_ros.core.errors import GraspClassifierError
import numpy as np
from tqdm import tqdm

from .data import (
    add_source_args,
    check_out_outside,
    Dataset,
    DatasetError,
    DEFAULT_GROUP_REGEX,
    group_split,
    Sample,
    sample_key,
    scan_sources,
    source_options,
    SourceOptions,
)

METRIC_SIZE = 128  # brightness and sharpness are measured at one resolution
DARK_LEVEL = 40.0
ROBUST_Z = 3.5
MAD_FLOOR = 5.0  # grey levels; a tiny MAD would make ordinary frames outliers
BLUR_FRACTION = 0.2
SHEET_PER_CLASS = 64
SHEET_MAX_OUTLIERS = 64
SHEET_MAX_PAIRS = 32
THUMB = 96


def _robust_z(values: np.ndarray, floor: float = 0.0) -> np.ndarray:
    med = float(np.median(values))
    mad = max(float(np.median(np.abs(values - med))), floor)
    if mad == 0.0:
        return np.zeros_like(values)
    return 0.6745 * (values - med) / mad


def _measure(rgb: np.ndarray) -> tuple[float, float, float]:
    """Return (mean brightness, Laplacian variance, sharpness) on a fixed-size grey copy."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(grey, (METRIC_SIZE, METRIC_SIZE), interpolation=cv2.INTER_AREA)
    g = grey.astype(np.float32)
    mean = float(g.mean())
    lap_var = float(cv2.Laplacian(g, cv2.CV_32F).var())
    # Dimming a frame by a factor k scales the Laplacian variance by k**2; undo that.
    return mean, lap_var, lap_var * (128.0 / max(mean, 10.0)) ** 2


def _hamming_pairs(bits: np.ndarray, threshold: int) -> list[tuple[int, int, int]]:
    """Return (i, j, distance) for i < j with Hamming distance <= threshold."""
    n = len(bits)
    a = bits.astype(np.float32)
    na = 1.0 - a
    out: list[tuple[int, int, int]] = []
    block = 1024
    for start in range(0, n, block):
        stop = min(n, start + block)
        d = a[start:stop] @ na.T + na[start:stop] @ a.T
        rows, cols = np.nonzero(d <= threshold + 0.5)
        for r, c in zip(rows.tolist(), cols.tolist()):
            i = start + r
            if c > i:
                out.append((i, c, int(round(float(d[r, c])))))
    return out


def _thumb(sample: Sample, size: int = THUMB) -> np.ndarray:
    """Return a BGR square thumbnail, grey if the file cannot be read."""
    if sample.image is not None:
        return thumbnail(sample.image[..., ::-1], size)
    img = cv2.imdecode(np.fromfile(str(sample.path), np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return np.full((size, size, 3), 128, np.uint8)
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)


def _safe_name(name: str) -> str:
    return re.sub(r'[^A-Za-z0-9_.-]', '_', name)


def inspect(
    data_dir: str | Path,
    out_dir: str | Path,
    *,
    group_regex: str = DEFAULT_GROUP_REGEX,
    near_threshold: int = 4,
    seed: int = 0,
    strategy: str = 'images',
    val_fraction: float = 0.15,
    test_fraction: float = 0.2,
    sources: SourceOptions | None = None,
) -> dict[str, Any]:
    """
    Inspect ``data_dir``, write the report and contact sheets to ``out_dir``, return the report.

    ``data_dir``: a class folder, or a bag or video (read with ``sources``; one group).

    The split (``strategy``, fractions, ``seed``) is the one ``data.group_split``
    makes; cross-split duplicates are judged against it.
    """
    import imagehash
    from PIL import Image

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if near_threshold < 0:
        raise DatasetError(f'near threshold {near_threshold} must be >= 0')
    check_out_outside(data_dir, out_dir)
    ds: Dataset = scan_sources(
        [data_dir], group_regex=group_regex, options=sources or SourceOptions(), log=print
    )[0]
    split = group_split(
        ds,
        seed=seed,
        group_regex=group_regex,
        strategy=strategy,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
    )
    split_of = {sample_key(s): name for name, subset in split.subsets().items() for s in subset}
    samples = ds.samples
    rel = [sample_key(s) for s in samples]  # class/file, or recording/frame

    n = len(samples)
    sha: list[str] = []
    sizes: list[tuple[int, int]] = []
    bits = np.zeros((n, 64), bool)
    brightness = np.zeros(n)
    lap_var = np.zeros(n)
    sharpness = np.zeros(n)
    for i, s in enumerate(tqdm(samples, desc='inspect', unit='img', disable=None)):
        if s.image is not None:  # a recording's frame: its decoded pixels
            rgb = s.image
            sha.append(hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest())
        else:
            raw = s.path.read_bytes()
            sha.append(hashlib.sha256(raw).hexdigest())
            bgr = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        sizes.append((rgb.shape[1], rgb.shape[0]))
        brightness[i], lap_var[i], sharpness[i] = _measure(rgb)
        bits[i] = np.asarray(imagehash.phash(Image.fromarray(rgb)).hash).reshape(-1)

    def pair(i: int, j: int, distance: int) -> dict[str, Any]:
        a, b = samples[i], samples[j]
        return {
            'a': rel[i],
            'b': rel[j],
            'distance': distance,
            'exact': sha[i] == sha[j],
            'class_a': a.class_name,
            'class_b': b.class_name,
            'group_a': a.group,
            'group_b': b.group,
            'split_a': split_of[rel[i]],
            'split_b': split_of[rel[j]],
        }

    by_sha: dict[str, list[int]] = {}
    for i, h in enumerate(sha):
        by_sha.setdefault(h, []).append(i)
    exact_sets = [idx for idx in by_sha.values() if len(idx) > 1]
    exact_pairs = [pair(i, j, 0) for idx in exact_sets for i, j in itertools.combinations(idx, 2)]
    near_pairs = [
        pair(i, j, d) for i, j, d in _hamming_pairs(bits, near_threshold) if sha[i] != sha[j]
    ]
    pairs = exact_pairs + near_pairs
    cross_split = [p for p in pairs if p['split_a'] != p['split_b']]
    cross_group = [p for p in pairs if p['group_a'] != p['group_b']]
    cross_class = [p for p in pairs if p['class_a'] != p['class_b']]

    z_bright = _robust_z(brightness, MAD_FLOOR)
    median_sharp = float(np.median(sharpness))
    dark = [
        {'path': rel[i], 'brightness': round(float(brightness[i]), 2), 'z': round(float(z), 2)}
        for i, z in enumerate(z_bright)
        if brightness[i] < DARK_LEVEL or z < -ROBUST_Z
    ]
    blurred = [
        {
            'path': rel[i],
            'sharpness': round(float(sharpness[i]), 4),
            'fraction_of_median': round(float(sharpness[i] / median_sharp), 3),
        }
        for i in range(n)
        if sharpness[i] < BLUR_FRACTION * median_sharp
    ]

    size_hist = Counter(f'{w}x{h}' for w, h in sizes)
    split_counts = {
        name: dict(Counter(s.class_name for s in subset))
        for name, subset in split.subsets().items()
    }
    summary = {
        'images': n,
        'unreadable': len(ds.skipped),
        'classes': ds.counts(),
        'groups': len({s.group for s in samples}),
        'sizes': dict(size_hist.most_common()),
        'exact_duplicate_sets': len(exact_sets),
        'exact_duplicate_extra_files': sum(len(idx) - 1 for idx in exact_sets),
        'near_duplicate_pairs': len(near_pairs),
        'cross_split_pairs': len(cross_split),
        'cross_group_pairs': len(cross_group),
        'cross_class_pairs': len(cross_class),
        'dark': len(dark),
        'blurred': len(blurred),
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    files = _write_sheets(ds, rel, out_dir, seed, dark, blurred, cross_split, pairs)
    report: dict[str, Any] = {
        'data': str(ds.root.resolve()),
        'out': str(out_dir),
        'group_regex': group_regex,
        'summary': summary,
        'split': {
            'strategy': strategy,
            'val_fraction': val_fraction,
            'test_fraction': test_fraction,
            'seed': seed,
            'counts': split_counts,
        },
        'thresholds': {
            'near_hamming': near_threshold,
            'dark_level': DARK_LEVEL,
            'robust_z': ROBUST_Z,
            'mad_floor': MAD_FLOOR,
            'blur_fraction_of_median': BLUR_FRACTION,
            'median_sharpness': round(median_sharp, 4),
            'median_brightness': round(float(np.median(brightness)), 2),
        },
        'unreadable': [{'path': str(p), 'reason': r} for p, r in ds.skipped],
        'exact_duplicates': [[rel[i] for i in idx] for idx in exact_sets],
        'near_duplicates': near_pairs,
        'cross_split_pairs': cross_split,
        'cross_group_pairs': cross_group,
        'cross_class_pairs': cross_class,
        'dark': dark,
        'blurred': blurred,
        'images': [
            {
                'path': rel[i],
                'class': s.class_name,
                'group': s.group,
                'split': split_of[rel[i]],
                'width': sizes[i][0],
                'height': sizes[i][1],
                'sha256': sha[i],
                'brightness': round(float(brightness[i]), 2),
                'laplacian_var': round(float(lap_var[i]), 2),
                'sharpness': round(float(sharpness[i]), 4),
            }
            for i, s in enumerate(samples)
        ],
        'files': files,
    }
    (out_dir / 'report.json').write_text(json.dumps(report, indent=1))
    (out_dir / 'report.md').write_text(_markdown(report))
    files['report_json'] = str(out_dir / 'report.json')
    files['report_md'] = str(out_dir / 'report.md')
    return report


def _write_sheets(
    ds: Dataset,
    rel: list[str],
    out_dir: Path,
    seed: int,
    dark: list[dict[str, Any]],
    blurred: list[dict[str, Any]],
    cross_split: list[dict[str, Any]],
    pairs: list[dict[str, Any]],
) -> dict[str, str]:
    files: dict[str, str] = {}
    by_name = dict(zip(rel, ds.samples))
    rng = np.random.default_rng(seed)
    for cls in ds.class_names:
        members = [s for s in ds.samples if s.class_name == cls]
        if len(members) > SHEET_PER_CLASS:
            keep = np.sort(rng.choice(len(members), SHEET_PER_CLASS, replace=False))
            members = [members[k] for k in keep]
        tiles = [caption(_thumb(s), Path(sample_key(s)).stem) for s in members]
        path = out_dir / f'sheet_{_safe_name(cls)}.png'
        cv2.imwrite(str(path), sheet(tiles, 8, f'{cls}: {len(members)} shown'))
        files[f'sheet_{cls}'] = str(path)

    flagged = [(d['path'], f'dark {d["brightness"]:.1f}') for d in dark]
    flagged += [(b['path'], f'blur {b["fraction_of_median"]:.2f} x med') for b in blurred]
    tiles = [
        caption(_thumb(by_name[p]), why, Path(p).stem) for p, why in flagged[:SHEET_MAX_OUTLIERS]
    ]
    path = out_dir / 'sheet_outliers.png'
    cv2.imwrite(str(path), sheet(tiles, 8, f'outliers: {len(flagged)} (dark, blurred)'))
    files['sheet_outliers'] = str(path)

    # Cross-split pairs matter most (leakage), then cross-group ones (regex), then the rest.
    ordered = sorted(
        pairs,
        key=lambda p: (p['split_a'] == p['split_b'], p['group_a'] == p['group_b'], p['distance']),
    )
    tiles = []
    for p in ordered[:SHEET_MAX_PAIRS]:
        both = np.hstack([_thumb(by_name[p['a']]), _thumb(by_name[p['b']])])
        tag = 'exact' if p['exact'] else f'distance {p["distance"]}'
        tiles.append(
            caption(
                both,
                f'{tag}, {p["split_a"]} / {p["split_b"]}',
                Path(p['a']).stem,
                Path(p['b']).stem,
            )
        )
    path = out_dir / 'sheet_near_duplicates.png'
    title = f'duplicate pairs: {len(pairs)} ({len(cross_split)} across splits)'
    cv2.imwrite(str(path), sheet(tiles, 4, title))
    files['sheet_near_duplicates'] = str(path)
    return files


def _markdown(report: dict[str, Any]) -> str:
    s, t, sp = report['summary'], report['thresholds'], report['split']
    lines = [
        f'# Data inspection: `{report["data"]}`',
        '',
        f'- images: {s["images"]} readable, {s["unreadable"]} unreadable; '
        f'{s["groups"]} groups (regex `{report["group_regex"]}`)',
        '- per class: ' + ', '.join(f'{c} {k}' for c, k in s['classes'].items()),
        '- sizes (WxH): ' + ', '.join(f'{k} x{v}' for k, v in s['sizes'].items()),
        f'- exact duplicates: {s["exact_duplicate_sets"]} sets, '
        f'{s["exact_duplicate_extra_files"]} extra copies',
        f'- near duplicates (phash distance <= {t["near_hamming"]}, not identical): '
        f'{s["near_duplicate_pairs"]} pairs',
        f'- duplicate pairs across splits (leakage): **{s["cross_split_pairs"]}** '
        f'(split: {sp["strategy"]}, val {sp["val_fraction"]}, test {sp["test_fraction"]}, '
        f'seed {sp["seed"]})',
        f'- duplicate pairs across groups (group regex misses a shared video?): '
        f'{s["cross_group_pairs"]}',
        f'- duplicate pairs with different labels: {s["cross_class_pairs"]}',
        f'- dark (mean < {t["dark_level"]:.0f}/255 or robust z < -{t["robust_z"]}): {s["dark"]}',
        f'- blurred (sharpness < {t["blur_fraction_of_median"]} x median): {s["blurred"]}',
        '',
        '| split | ' + ' | '.join(s['classes']) + ' |',
        '|---|' + '---|' * len(s['classes']),
    ]
    for name, counts in sp['counts'].items():
        lines.append(
            f'| {name} | ' + ' | '.join(str(counts.get(c, 0)) for c in s['classes']) + ' |'
        )
    lines += ['', 'Contact sheets: ' + ', '.join(Path(f).name for f in report['files'].values())]
    if report['cross_split_pairs']:
        lines += ['', '## Cross-split pairs (first 20)', '']
        lines += [
            f'- `{p["a"]}` ({p["split_a"]}) ~ `{p["b"]}` ({p["split_b"]}), '
            f'distance {p["distance"]}'
            for p in report['cross_split_pairs'][:20]
        ]
    if report['unreadable']:
        lines += ['', '## Unreadable files', '']
        lines += [f'- `{u["path"]}`: {u["reason"]}' for u in report['unreadable']]
    return '\n'.join(lines) + '\n'


def register(subparsers: Any) -> None:
    from .config import load_config

    # Leakage is judged on the split `grasp-train train` makes with its default config.
    dcfg = load_config()['data']
    p = subparsers.add_parser(
        'inspect',
        help='report counts, sizes, duplicates, cross-split leakage and outliers of a data folder',
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        'data', type=Path, help='ImageFolder (one sub-folder per class), a rosbag2 bag or a video'
    )
    p.add_argument('--out', type=Path, required=True, help='folder for the report and sheets')
    p.add_argument(
        '--group-regex',
        default=DEFAULT_GROUP_REGEX,
        help='regex on the file stem; its "group" names the video/session (default: %(default)s)',
    )
    p.add_argument(
        '--near-threshold',
        type=int,
        default=4,
        help='max phash Hamming distance (of 64 bits) of near duplicates (default 4)',
    )
    p.add_argument('--seed', type=int, default=0, help='split seed, as train (default 0)')
    p.add_argument(
        '--split-strategy',
        choices=('images', 'sessions'),
        default=dcfg['split_strategy'],
        help='group split strategy (default: train default config, %(default)s)',
    )
    p.add_argument(
        '--val-fraction',
        type=float,
        default=float(dcfg['val_fraction']),
        help='validation fraction (default: %(default)s)',
    )
    p.add_argument(
        '--test-fraction',
        type=float,
        default=float(dcfg['test_fraction']),
        help='test fraction (default: %(default)s)',
    )
    add_source_args(p, params=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        sources = source_options(args)
        report = inspect(
            args.data,
            args.out,
            group_regex=args.group_regex,
            near_threshold=args.near_threshold,
            seed=args.seed,
            strategy=args.split_strategy,
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
            sources=sources,
        )
    except (DatasetError, GraspClassifierError) as exc:
        print(f'grasp-train inspect: error: {exc}', file=sys.stderr)
        return 2
    s = report['summary']
    print(
        f'{s["images"]} images ({", ".join(f"{c} {k}" for c, k in s["classes"].items())}), '
        f'{s["unreadable"]} unreadable, {s["groups"]} groups; sizes {s["sizes"]}'
    )
    print(
        f'exact duplicates: {s["exact_duplicate_extra_files"]} extra copies; near-duplicate '
        f'pairs: {s["near_duplicate_pairs"]}; across splits: {s["cross_split_pairs"]}; '
        f'across groups: {s["cross_group_pairs"]}; across classes: {s["cross_class_pairs"]}'
    )
    print(f'dark: {s["dark"]}; blurred: {s["blurred"]}')
    print(f'report: {report["files"]["report_md"]} (and report.json, sheet_*.png)')
    return 0
