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
"""Tests for the default-model resolver (``paths``)."""

from __future__ import annotations

from pathlib import Path
import sys

from grasp_classifier_ros.core import paths
from grasp_classifier_ros.core.configure import resolve_model_path
import pytest

REPO = Path(__file__).resolve().parents[2]


def _model(share: Path) -> Path:
    return share / 'models' / 'grasp_classifier.pt'


@pytest.fixture
def no_ament(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, '_ament_share_dir', lambda: None)


@pytest.fixture
def fake_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    prefix = tmp_path / 'prefix'
    monkeypatch.setattr(sys, 'prefix', str(prefix))
    return prefix


def test_source_root_is_the_repository() -> None:
    assert paths.source_root() == REPO
    assert (paths.source_root() / 'grasp_classifier_ros' / 'core' / 'paths.py').is_file()


def test_candidates_without_ament_are_prefix_share_then_source(no_ament, fake_prefix) -> None:
    assert paths.candidate_model_paths() == [
        _model(fake_prefix / 'share' / 'grasp_classifier_ros'),
        REPO / 'models' / 'grasp_classifier.pt',
    ]


def test_ament_share_comes_first(tmp_path, fake_prefix, monkeypatch) -> None:
    share = tmp_path / 'install' / 'share' / 'grasp_classifier_ros'
    monkeypatch.setattr(paths, '_ament_share_dir', lambda: share)
    assert paths.candidate_model_paths()[0] == _model(share)


def test_first_existing_candidate_wins(tmp_path, fake_prefix, monkeypatch) -> None:
    share = tmp_path / 'install' / 'share' / 'grasp_classifier_ros'
    monkeypatch.setattr(paths, '_ament_share_dir', lambda: share)
    wheel_model = _model(fake_prefix / 'share' / 'grasp_classifier_ros')
    wheel_model.parent.mkdir(parents=True)
    wheel_model.write_bytes(b'x')
    assert paths.default_model_path() == wheel_model  # ament share has none
    _model(share).parent.mkdir(parents=True)
    _model(share).write_bytes(b'x')
    assert paths.default_model_path() == _model(share)


def test_missing_everywhere_names_ament_share_in_ros(tmp_path, fake_prefix, monkeypatch) -> None:
    share = tmp_path / 'install' / 'share' / 'grasp_classifier_ros'
    monkeypatch.setattr(paths, '_ament_share_dir', lambda: share)
    monkeypatch.setattr(paths, 'source_root', lambda: tmp_path / 'src')
    assert paths.default_model_path() == _model(share)


def test_missing_everywhere_names_source_tree_without_ros(
    no_ament, fake_prefix, tmp_path, monkeypatch
):
    monkeypatch.setattr(paths, 'source_root', lambda: tmp_path / 'src')
    assert paths.default_model_path() == tmp_path / 'src' / 'models' / 'grasp_classifier.pt'


def test_ament_lookup_outside_ros_is_none() -> None:
    try:
        import ament_index_python  # noqa: F401
    except ImportError:
        assert paths._ament_share_dir() is None
    else:
        pytest.skip(
            'ament_index_python is installed: the ROS branch is exercised by the node tests'
        )


def test_pipeline_resolves_empty_model_path_to_default(no_ament, fake_prefix) -> None:
    assert resolve_model_path('') == str(paths.default_model_path())
    assert resolve_model_path('/x/y.pt') == '/x/y.pt'
