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
setup.py installs what colcon and pip users need, and nothing else.

Builds real wheels (``pip wheel``, no network, ~1 s each) from a copy of the
packaging files in a temporary directory and inspects their contents.
"""

from __future__ import annotations

import configparser
from pathlib import Path
import shutil
import subprocess
import sys
import zipfile

import pytest

REPO = Path(__file__).resolve().parent.parent
PKG = 'grasp_classifier_ros'
DATA = f'{PKG}-0.1.0.data/data/'
ENTRY_POINTS = {
    'grasp_classifier_node': f'{PKG}.ros.node:main',
    'evaluate_bag': f'{PKG}.bag.evaluate_bag:main',
    'make_bag': f'{PKG}.bag.make_bag:main',
}


def _copy_tree(dst: Path, *, with_payload: bool) -> Path:
    """Copy the packaging inputs to ``dst``; optionally add launch/config/model/msg files."""
    for name in ('setup.py', 'setup.cfg', 'package.xml'):
        shutil.copy2(REPO / name, dst / name)
    shutil.copytree(REPO / 'resource', dst / 'resource')
    shutil.copytree(
        REPO / PKG, dst / PKG, ignore=shutil.ignore_patterns('__pycache__', '*.pyc', 'msg_defs')
    )
    (dst / 'training').mkdir()
    (dst / 'training' / '__init__.py').write_text('')
    (dst / 'tools').mkdir()
    (dst / 'tools' / 'x.py').write_text('')
    for folder in ('launch', 'config', 'models'):
        (dst / folder).mkdir()
    if with_payload:
        (dst / 'launch' / 'classify.launch.py').write_text('# launch\n')
        (dst / 'launch' / 'notes.txt').write_text('not a launch file\n')
        (dst / 'config' / 'classifier.yaml').write_text('a: 1\n')
        (dst / 'models' / 'grasp_classifier.pt').write_bytes(b'pt')
        (dst / 'models' / 'MODEL_CARD.md').write_text('# card\n')
        (dst / PKG / 'bag' / 'msg_defs').mkdir()
        (dst / PKG / 'bag' / 'msg_defs' / 'Classification.msg').write_text('string a\n')
    return dst


def _build_wheel(src: Path, out: Path) -> zipfile.ZipFile:
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q']
        + ['-w', str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = out.glob('*.whl')
    return zipfile.ZipFile(wheel)


@pytest.fixture(scope='module')
def full_wheel(tmp_path_factory) -> list[str]:
    base = tmp_path_factory.mktemp('full')
    src = base / 'src'
    src.mkdir()
    with _build_wheel(_copy_tree(src, with_payload=True), base / 'dist') as zf:
        return zf.namelist()


def test_wheel_installs_share_files(full_wheel) -> None:
    data = sorted(n.removeprefix(DATA) for n in full_wheel if n.startswith(DATA))
    assert data == [
        f'share/ament_index/resource_index/packages/{PKG}',
        f'share/{PKG}/config/classifier.yaml',
        f'share/{PKG}/launch/classify.launch.py',
        f'share/{PKG}/models/MODEL_CARD.md',
        f'share/{PKG}/models/grasp_classifier.pt',
        f'share/{PKG}/package.xml',
    ]


def test_wheel_holds_only_the_runtime_package(full_wheel) -> None:
    tops = {n.split('/')[0] for n in full_wheel}
    assert tops == {PKG, f'{PKG}-0.1.0.data', f'{PKG}-0.1.0.dist-info'}
    assert f'{PKG}/bag/msg_defs/Classification.msg' in full_wheel
    modules = {n for n in full_wheel if n.startswith(f'{PKG}/') and n.endswith('.py')}
    assert f'{PKG}/core/paths.py' in modules and f'{PKG}/__init__.py' in modules
    # every subpackage, so an installed node finds its core and bag tools
    assert {f'{PKG}/{sub}/__init__.py' for sub in ('core', 'ros', 'bag')} <= modules
    assert f'{PKG}/ros/node.py' in modules and f'{PKG}/bag/evaluate_bag.py' in modules


def test_empty_folders_still_build(tmp_path) -> None:
    src = tmp_path / 'src'
    src.mkdir()
    with _build_wheel(_copy_tree(src, with_payload=False), tmp_path / 'dist') as zf:
        data = sorted(n.removeprefix(DATA) for n in zf.namelist() if n.startswith(DATA))
    assert data == [f'share/ament_index/resource_index/packages/{PKG}', f'share/{PKG}/package.xml']


def test_entry_points_and_requirements(tmp_path) -> None:
    src = tmp_path / 'src'
    src.mkdir()
    with _build_wheel(_copy_tree(src, with_payload=False), tmp_path / 'dist') as zf:
        info = f'{PKG}-0.1.0.dist-info/'
        entry = configparser.ConfigParser()
        entry.read_string(zf.read(info + 'entry_points.txt').decode())
        metadata = zf.read(info + 'METADATA').decode()
    assert dict(entry['console_scripts']) == ENTRY_POINTS
    requires = sorted(
        line.split(':', 1)[1].strip()
        for line in metadata.splitlines()
        if line.startswith('Requires-Dist:')
    )
    assert requires == sorted(
        [
            'setuptools',
            'numpy',
            'opencv-python-headless',
            'torch',
            'pyyaml',
            'rosbags>=0.10',
        ]
    )


def test_setup_cfg_puts_scripts_where_ros2_run_looks() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / 'setup.cfg')
    assert cfg['develop']['script_dir'] == f'$base/lib/{PKG}'
    assert cfg['install']['install_scripts'] == f'$base/lib/{PKG}'
