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
"""Realtime replay: a slow model drops frames and never classifies a stale one."""

from __future__ import annotations

import csv
import json
from pathlib import Path
import time
from typing import Any

from bag_factory import make_flat_bag
from grasp_classifier_ros.bag.evaluate_bag import main
from grasp_classifier_ros.bag.io import BagReader
from grasp_classifier_ros.bag.replay import DROPPED, replay_realtime
from grasp_classifier_ros.core.decision import DecisionConfig
from grasp_classifier_ros.core.model import load_model, LoadedModel
from grasp_classifier_ros.core.pipeline import Pipeline, STATUSES
from model_factory import write_model
import pytest

SLEEP_S = 0.1  # three frame periods at 30 fps: most frames must be dropped
SPEC = [(True, [200] * 12), (False, [40] * 12)]


@pytest.fixture(scope='module')
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp('model') / 'brightness.pt')


@pytest.fixture(scope='module')
def bag(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp('bags') / 'bag'
    make_flat_bag(path, SPEC, gap_s=0.1)
    return path


def slow(classify: Any) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        time.sleep(SLEEP_S)
        return classify(*args, **kwargs)

    return wrapped


@pytest.mark.parametrize('max_frame_age', [0.05, 0.5])
def test_slow_model_drops_frames_and_never_classifies_stale(
    bag: Path, model_path: Path, max_frame_age: float
) -> None:
    model = load_model(model_path, device='cpu', warmup_runs=0)
    model.classify = slow(model.classify)  # type: ignore[method-assign]
    pipeline = Pipeline(model, decision=DecisionConfig(max_frame_age=max_frame_age))
    with BagReader(bag) as reader:
        run = replay_realtime(pipeline, reader.messages(['/camera/image_raw']))
    recs = run.records
    assert len(recs) == 24 == run.submitted
    assert run.dropped > 0
    assert run.processed + run.dropped == run.submitted
    assert sum(1 for r in recs if r.status == DROPPED) == run.dropped
    assert {r.status for r in recs} <= {*STATUSES, DROPPED}
    ok = [r for r in recs if r.status == 'ok']
    for r in ok:
        assert r.age_ms is not None and r.age_ms <= max_frame_age * 1e3
        assert r.probability is not None
    for r in recs:
        if r.status in ('stale', DROPPED):
            assert r.probability is None and r.verdict == ''
    # The last frame is never replaced, so it is always processed.
    assert recs[-1].status != DROPPED


def test_cli_realtime_reports_drops(
    bag: Path, model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LoadedModel, 'classify', slow(LoadedModel.classify))
    params = tmp_path / 'params.yaml'
    params.write_text('/**:\n  ros__parameters:\n    max_frame_age: 0.05\n    warmup_runs: 0\n')
    out = tmp_path / 'report'
    argv = [str(bag), '--realtime', '--model', str(model_path), '--params', str(params)]
    assert main([*argv, '--out', str(out), '--no-plot', '--quiet']) == 0
    m = json.loads((out / 'metrics.json').read_text())
    assert m['mode'] == 'realtime'
    assert m['decision']['max_frame_age'] == 0.05
    assert m['frames']['total'] == 24
    assert m['frames']['dropped'] > 0
    assert m['frames']['dropped'] == m['frames']['by_status'][DROPPED]
    with (out / 'frames.csv').open() as f:
        rows = list(csv.DictReader(f))
    assert sum(1 for r in rows if r['status'] == DROPPED) == m['frames']['dropped']
    for r in rows:
        if r['status'] == 'ok':
            assert float(r['age_ms']) <= 50.0
            assert r['e2e_ms'] != ''
