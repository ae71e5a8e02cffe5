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
"""Frame records hold the pipeline's result; the report files come from them."""

from __future__ import annotations

import json
from pathlib import Path
import sys

from grasp_classifier_ros.bag.replay import DROPPED, FrameRecord, ReplayRun
from grasp_classifier_ros.bag.report import build_metrics, write_report
from grasp_classifier_ros.core.decision import Decision, Verdict
from grasp_classifier_ros.core.pipeline import FrameResult
import numpy as np

S = 1_000_000_000


def ok_record(i: int, p: float) -> FrameRecord:
    result = FrameResult(
        None,
        i * S,
        i * S,
        'ok',
        decision=Decision(Verdict.SUCCESS if p >= 0.5 else Verdict.FAILURE, p, p, 0.01),
        probabilities=np.array([1 - p, p]),
        success_probability=p,
        timings_ms={'total': 1.0},
    )
    return FrameRecord(i, i * S, i * S, result=result, label=True)


def test_record_reads_its_result_and_a_dropped_frame_has_none():
    rec = ok_record(1, 0.75)
    assert (rec.status, rec.probability, rec.smoothed, rec.verdict) == (
        'ok',
        0.75,
        0.75,
        'success',
    )
    assert rec.probabilities == [0.25, 0.75] and rec.age_ms == 10.0 and rec.error == ''
    assert rec.timings_ms is rec.result.timings_ms
    dropped = FrameRecord(2, 2 * S, 2 * S)
    assert (dropped.status, dropped.probability, dropped.verdict) == (DROPPED, None, '')
    assert (dropped.smoothed, dropped.age_ms, dropped.timings_ms) == (None, None, {})


def test_report_without_matplotlib_notes_it_and_writes_the_rest(tmp_path: Path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'matplotlib', None)  # import matplotlib -> ImportError
    records = [ok_record(1, 0.75), FrameRecord(2, 2 * S, 2 * S)]
    run = ReplayRun('fast', records, 1.0, 2, 1, 1)
    data = build_metrics(run, [], threshold=0.5, info={'bag': 'b'})
    write_report(tmp_path, records, [], data, 0, 0.05, plot=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'episodes.csv',
        'frames.csv',
        'metrics.json',
    ]
    assert json.loads((tmp_path / 'metrics.json').read_text())['frames']['dropped'] == 1


def test_no_plot_removes_a_stale_timeline(tmp_path: Path):
    (tmp_path / 'timeline.png').write_bytes(b'old')
    records = [ok_record(1, 0.75)]
    data = build_metrics(ReplayRun('fast', records, 1.0, 1, 1, 0), [], threshold=0.5, info={})
    write_report(tmp_path, records, [], data, 0, 0.05, plot=False)
    assert not (tmp_path / 'timeline.png').exists()
