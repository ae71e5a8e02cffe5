# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Where a model came from: git revision, library versions, dataset licences."""

from __future__ import annotations

import datetime as dt
from importlib import metadata as importlib_metadata
from pathlib import Path
import platform
import subprocess
from typing import Any

LIBRARIES = (
    'torch',
    'torchvision',
    'lightning',
    'torchmetrics',
    'numpy',
    'opencv-python-headless',
    'optuna',
    'grasp_classifier_ros',
    'grasp-classifier-training',
)
LICENSE_FILES = ('LICENSE', 'LICENSE.txt', 'LICENSE.md', 'COPYING')


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')


def git_revision(path: Path | None = None) -> dict[str, Any]:
    """Return ``{'commit': sha, 'dirty': bool}`` of the repository holding ``path``."""
    cwd = str(path or Path(__file__).resolve().parent)
    try:
        sha = subprocess.run(
            ['git', 'rev-parse', 'HEAD'], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ['git', 'status', '--porcelain', '--untracked-files=no'],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return {'commit': 'unknown', 'dirty': None}
    return {'commit': sha, 'dirty': bool(status.strip())}


def library_versions() -> dict[str, str]:
    """Return installed versions of the libraries that shape training results."""
    out = {'python': platform.python_version(), 'platform': platform.platform()}
    for name in LIBRARIES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = 'not installed'
    return out


def licence_note(folder: Path) -> str:
    """Describe the licence of a data folder from its LICENSE/COPYING file, if any."""
    for name in LICENSE_FILES:
        f = folder / name
        if f.is_file():
            head = ' '.join(f.read_text(errors='replace').split()[:12]).upper()
            if 'GNU GENERAL PUBLIC LICENSE' in head and 'VERSION 3' in head:
                return f'GPL-3.0 (see {f.name} in the dataset folder)'
            first = next((ln.strip() for ln in f.read_text().splitlines() if ln.strip()), '')
            return f'{first[:80]} (see {f.name} in the dataset folder)'
    return 'no licence file in the dataset folder'
