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
"""The docs name what exists: modules, call signatures, the default model input size."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
import re

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
PKG_DIR = REPO / 'grasp_classifier_ros'
ARCHITECTURE = (REPO / 'docs' / 'ARCHITECTURE.md').read_text()
MODULES = sorted(
    f'{p.parent.name}.{p.stem}' for p in PKG_DIR.glob('*/*.py') if p.stem != '__init__'
)


def _table_modules() -> set[str]:
    """``sub.module`` for every backticked module named in the module table, by folder."""
    out, sub = set(), ''
    for line in ARCHITECTURE.split('| module | owns |\n|---|---|\n', 1)[1].splitlines():
        if not line.startswith('|'):
            break
        first = line.split('|')[1]
        if first.strip().startswith('**'):
            sub = first.strip().strip('*/ ')
        out.update(f'{sub}.{name}' for name in re.findall(r'`(\w+)`', first))
    return out


def test_architecture_lists_every_module_and_only_real_ones() -> None:
    assert _table_modules() == set(MODULES)


NEEDS_ROS = {'ros.adapter', 'ros.intake'}  # rclpy: importable only where ROS 2 is sourced


def _importable(module: str) -> object:
    """Import ``grasp_classifier_ros.<module>``; a module that needs ROS is empty without it."""
    try:
        return importlib.import_module(f'grasp_classifier_ros.{module}')
    except ImportError:
        if module not in NEEDS_ROS:
            raise
        return type('NoRos', (), {})  # vars() of it holds none of the documented names


SIGNATURE = re.compile(r'`(\w+)\(([a-z_, ]*)\)`')


@pytest.mark.parametrize(('name', 'args'), SIGNATURE.findall(ARCHITECTURE))
def test_architecture_signatures_match_the_code(name: str, args: str) -> None:
    found = [getattr(mod, name) for mod in map(_importable, MODULES) if name in vars(mod)]
    assert found, f'{name} is not defined in the package'
    params = [p for p in inspect.signature(found[0]).parameters if p != 'self']
    assert [a.strip() for a in args.split(',') if a.strip()] == params


def test_docs_state_the_default_model_input_size() -> None:
    config = yaml.safe_load(
        (REPO / 'training' / 'grasp_classifier_training' / 'configs' / 'default.yaml').read_text()
    )
    h, w = config['model']['input_size']
    assert config['model']['name'] == 'grasp_net'
    training = (REPO / 'training' / 'README.md').read_text()
    bench = (REPO / 'benchmarks' / 'README.md').read_text()
    assert re.search(rf'`grasp_net` \(default for `train`, fast, {h}x{w}\b', training)
    assert f'(`configs/default.yaml`: `grasp_net`, {h}x{w})' in bench


def test_docs_state_the_shipped_model_input_size() -> None:
    from grasp_classifier_ros.core.model import read_metadata

    h, w = read_metadata(REPO / 'models' / 'grasp_classifier.pt').input_size
    readme = (REPO / 'README.md').read_text()
    card = (REPO / 'models' / 'MODEL_CARD.md').read_text()
    assert f'{h}x{w} input' in readme
    assert f'| input | {h}x{w} RGB' in card
