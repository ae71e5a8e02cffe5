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
Reference statistics of a model's training inputs, for the node's out-of-depth monitor.

``grasp-train familiarity MODEL --data DATA --out OUT`` adds them to an exported model
(``grasp-train export --familiarity DATA`` at export; ``grasp-train adapt`` from its
recordings). The images are read as the node would see them (``--params``: its roi and
mount) and fitted by ``grasp_classifier_ros.core.familiarity.fit_record_from_images``: the
threshold comes from the data's own sessions (groups), each scored by statistics fitted without it.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
import shlex
import sys
from typing import Any

from grasp_classifier_ros.bag.image_folder import natural_key
from grasp_classifier_ros.core.familiarity import fit_record_from_images
from grasp_classifier_ros.core.metadata import FAMILIARITY_FILE, FamiliarityRecord, ModelMetadata
import numpy as np

from . import data as data_mod


def record_from_inputs(
    images: list[np.ndarray],
    groups: list[str],
    details: dict[str, Any] | None = None,
) -> FamiliarityRecord:
    """Fit the record on model-input-sized RGB images, in frame order within each group."""
    return fit_record_from_images(images, groups, details=details)


def record_from_sources(
    sources: list[Path],
    meta: ModelMetadata,
    view: data_mod.SourceOptions | None = None,
    *,
    command: str | None = None,
    log: Any = print,
) -> FamiliarityRecord:
    """Read ``sources`` as the node sees them (``view``) and fit the model's record."""
    from .cv import cache_images_from

    view = view or data_mod.SourceOptions()
    datasets = data_mod.scan_sources(sources, options=view, class_names=meta.class_names)
    samples = [s for ds in datasets for s in ds.samples]
    if not samples:
        raise data_mod.DatasetError(f'no images in {", ".join(map(str, sources))}')
    samples.sort(key=lambda s: (s.group, natural_key(data_mod.sample_key(s).split('/')[-1])))
    images = cache_images_from(
        [data_mod.sample_image(s) for s in samples], meta.input_size, meta, view
    )
    groups = [s.group for s in samples]
    details = {
        'data': [str(Path(s).resolve()) for s in sources],
        'view': {
            'image_rotation': view.mount.rotation,
            'image_flip': view.mount.flip,
            'roi': list(view.roi),
        },
        'command': command or shlex.join(sys.argv),
        'date': dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds'),
    }
    record = record_from_inputs(images, groups, details)
    log(
        f'familiarity: {record.images} frames of {record.groups} sessions; limits: distance '
        f'{record.threshold:.2f}, turn ratio {record.orientation_threshold:.2f}, '
        f'{len(record.geometry.names) if record.geometry else 0} camera-geometry checks (window '
        f'{record.window}, out of fold)'
    )
    return record


def add_to_file(
    model: Path,
    sources: list[Path],
    out: Path,
    *,
    view: data_mod.SourceOptions | None = None,
    command: str | None = None,
    log: Any = print,
) -> FamiliarityRecord:
    """Write ``model`` with the statistics of ``sources`` (replacing any) to ``out``."""
    from grasp_classifier_ros.core.model import load_model, read_familiarity, read_metadata

    from .quantize import attach

    meta = read_metadata(model)
    record = record_from_sources(sources, meta, view, command=command, log=log)
    staging = out.with_name(f'.{out.name}.staging')
    try:
        attach(
            model,
            staging,
            {FAMILIARITY_FILE: record.to_json().encode()},
            summary(record),
            key='familiarity',
        )
        if read_familiarity(staging) != record:
            raise RuntimeError('the written record does not read back')
        load_model(staging, device='cpu', fp16=False, warmup_runs=0)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    staging.replace(out)
    log(f'wrote {out}')
    return record


def summary(record: FamiliarityRecord) -> dict[str, Any]:
    """Return the short form kept in the model's provenance."""
    return {
        'images': record.images,
        'groups': record.groups,
        'threshold': record.threshold,
        'orientation_threshold': record.orientation_threshold,
        'geometry_checks': list(record.geometry.names) if record.geometry else [],
        'window': record.window,
        'record': FAMILIARITY_FILE,
    }


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        'familiarity',
        help="add reference statistics of the training inputs to a model (the node's "
        'out-of-depth monitor)',
        description='Fit what the training images look like to the model (an 8x8 thumbnail of '
        'the preprocessed input: mean, shrunk covariance; a small network telling them from '
        "their own copies seen by a pitched camera or another lens; limits from the data's own "
        'sessions, each scored without its fold) and embed it in the model file, so the '
        "node's diagnostics warn when live frames are unlike them.",
    )
    p.add_argument('model', type=Path, help='exported model (.pt with embedded metadata)')
    p.add_argument(
        '--data',
        nargs='+',
        type=Path,
        required=True,
        metavar='DATA',
        help='the training images: class folder(s), bags or videos (at least 2 sessions)',
    )
    p.add_argument('--out', type=Path, required=True, help='model file to write (may be MODEL)')
    data_mod.add_source_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    view = data_mod.source_options(args, print)
    add_to_file(args.model, list(args.data), args.out, view=view)
    return 0
