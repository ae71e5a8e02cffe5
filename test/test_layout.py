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
The folders show the architecture and the imports follow it.

``core`` (the ROS-free pipeline) depends on nothing else of ours; ``ros`` (the
rclpy adapter) and ``bag`` (offline bag tools) build on ``core``; ``bag`` may
use the ROS-free message builders in ``ros.conversions`` so an annotated bag
holds exactly the node's messages; the runtime never imports the training
package (which builds on the runtime). A syntax-tree scan, so it holds without
ROS or the training package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = 'grasp_classifier_ros'
PKG_DIR = Path(__file__).resolve().parent.parent / PKG
SUBPACKAGES = ('core', 'ros', 'bag')
# subpackage -> what it may import of ours (besides itself)
ALLOWED = {
    'core': set(),
    'ros': {'core', 'bag.capture'},  # the node's capture writer, imported only when capturing
    'bag': {'core', 'ros.conversions'},
}


def _ours(path: Path) -> set[str]:
    """Dotted names of our modules that ``path`` imports (``core.params``, ``ros.conversions``)."""
    sub = path.parent.name
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.startswith(PKG + '.'):
                base = node.module.removeprefix(PKG + '.')
            elif node.level == 1:
                base = f'{sub}.{node.module}' if node.module else sub
            elif node.level == 2:
                base = node.module or ''
            else:
                continue
            if base in SUBPACKAGES:  # from ..core import params
                out.update(f'{base}.{a.name}' for a in node.names)
            else:
                out.add(base)
        elif isinstance(node, ast.Import):
            out.update(
                a.name.removeprefix(PKG + '.') for a in node.names if a.name.startswith(PKG + '.')
            )
    return out


def _imports_training(path: Path) -> bool:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
            a.name.startswith('grasp_classifier_training') for a in node.names
        ):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or '').startswith(
            'grasp_classifier_training'
        ):
            return True
        if isinstance(node, ast.Constant) and str(node.value).startswith(
            'grasp_classifier_training'
        ):
            return True  # importlib.import_module('grasp_classifier_training...')
    return False


MODULES = sorted(p for p in PKG_DIR.rglob('*.py') if p.parent != PKG_DIR)


def test_package_top_level_holds_only_the_subpackages() -> None:
    assert sorted(p.name for p in PKG_DIR.glob('*.py')) == ['__init__.py']
    assert {p.name for p in PKG_DIR.iterdir() if (p / '__init__.py').is_file()} == set(SUBPACKAGES)


@pytest.mark.parametrize('path', MODULES, ids=lambda p: str(p.relative_to(PKG_DIR)))
def test_imports_follow_the_layers(path: Path) -> None:
    sub = path.parent.name
    allowed = ALLOWED[sub] | {sub}
    bad = sorted(
        name
        for name in _ours(path)
        if not any(name == a or name.startswith(a + '.') for a in allowed)
    )
    assert not bad, f'{sub}/{path.name} imports {bad} (allowed: {sorted(allowed)})'


def test_layer_scan_sees_relative_and_absolute_imports(tmp_path: Path) -> None:
    bag = tmp_path / 'bag'
    bag.mkdir()
    mod = bag / 'm.py'
    mod.write_text(
        'from .io import x\nfrom ..core import params, model\n'
        'from ..ros.conversions import y\nimport grasp_classifier_ros.core.stats\n'
    )
    assert _ours(mod) == {'bag.io', 'core.params', 'core.model', 'ros.conversions', 'core.stats'}


@pytest.mark.parametrize('path', MODULES, ids=lambda p: str(p.relative_to(PKG_DIR)))
def test_runtime_never_imports_the_training_package(path: Path) -> None:
    assert not _imports_training(path)
