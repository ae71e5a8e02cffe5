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
"""Scoring /grasp/result messages recorded from a live node."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from grasp_classifier_ros.bag import io as bag_io
from grasp_classifier_ros.bag.evaluate_bag import main
from grasp_classifier_ros.bag.io import BagWriter
import pytest

NS = 1_000_000_000
T0 = 1_700_000_000 * NS
LATENCY_NS = 20_000_000
PERIOD_NS = NS // 30
# (label, success score) per result; episodes split by a 1 s gap
RESULTS = [
    [(True, 0.9), (True, 0.8), (True, 0.3), (True, 0.7)],
    [(False, 0.2), (False, 0.6), (False, 0.1), (False, 0.1)],
    [(True, 0.4), (True, 0.45), (True, 0.3), (True, 0.2)],
]


def write_recorded(
    path: Path,
    class_ids: tuple[str, str] = ('failure', 'success'),
    label_info: bool = True,
    log_offset_ns: int = 0,
) -> None:
    """
    Write a bag as `ros2 bag record` captures it: labels, results 20 ms after a frame.

    ``log_offset_ns``: the recorder's clock minus the node's (a node on sim time replaying
    an old bag, recorded without --use-sim-time: the header stamps are the bag's).
    """
    with BagWriter(path, 'mcap') as w:
        if label_info:
            w.write(
                '/grasp/label_info', T0, bag_io.label_info_msg(T0, ['failure', 'success'], 0.5)
            )
        t = T0
        for episode in RESULTS:
            for label, p in episode:
                t += PERIOD_NS
                w.write('/grasp/label', t + log_offset_ns, bag_io.bool_msg(label))
                msg = bag_io.classification_msg(bag_io.header(t, 'cam'), class_ids, [1 - p, p])
                w.write('/grasp/result', t + LATENCY_NS + log_offset_ns, msg)
            t += NS


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.parametrize('class_ids', [('failure', 'success'), ('0', '1')])
def test_recorded_results_are_scored(tmp_path: Path, class_ids: tuple[str, str]) -> None:
    bag = tmp_path / 'rec'
    write_recorded(bag, class_ids)
    out = tmp_path / 'report'
    assert main([str(bag), '--recorded', '--out', str(out), '--no-plot', '--quiet']) == 0
    m = read_json(out / 'metrics.json')
    cls = m['classification']
    # success frames: .9 .8 .7 right, .3 wrong; .4 .45 .3 .2 wrong -> tp 3, fn 5
    # failure frames: .6 wrong -> tn 3, fp 1
    assert cls['confusion_matrix']['matrix'] == [[3, 1], [5, 3]]
    assert cls['accuracy'] == pytest.approx(6 / 12)
    e2e = m['latency_ms']['end_to_end']
    assert e2e['count'] == 12
    assert e2e['p50'] == pytest.approx(20.0) and e2e['p99'] == pytest.approx(20.0)
    assert m['labels']['matched_on'] == 'log time'
    with (out / 'episodes.csv').open() as f:
        eps = list(csv.DictReader(f))
    # ~/check over the last 3 results: mean(.8,.3,.7)=.6 success; mean(.6,.1,.1) failure;
    # mean(.45,.3,.2) failure (a missed success)
    assert [(e['label'], e['verdict']) for e in eps] == [
        ('success', 'success'),
        ('failure', 'failure'),
        ('success', 'failure'),
    ]
    assert m['episodes']['correct'] == 2


def test_recorded_without_label_info_uses_success_class(tmp_path: Path) -> None:
    bag = tmp_path / 'rec'
    write_recorded(bag, ('nope', 'held'), label_info=False)
    out = tmp_path / 'report'
    argv = [str(bag), '--recorded', '--out', str(out), '--no-plot', '--quiet']
    assert main([*argv, '--success-class', 'held', '--threshold', '0.35']) == 0
    m = read_json(out / 'metrics.json')
    assert m['threshold'] == 0.35
    # at 0.35: success .9 .8 .7 .4 .45 right; .3 .3 .2 wrong; failure .6 wrong
    assert m['classification']['confusion_matrix']['matrix'] == [[3, 1], [3, 5]]


def test_recorded_without_success_class_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / 'rec'
    write_recorded(bag, ('nope', 'held'), label_info=False)
    assert main([str(bag), '--recorded', '--out', str(tmp_path / 'o'), '--quiet']) == 2
    err = capsys.readouterr().err.strip()
    assert err.count('\n') == 0
    # neither the model's success class nor a success word: the flag is the fix
    assert 'cannot tell which class is success' in err and 'held, nope' in err
    assert err.endswith('pass --success-class')


def test_a_clock_mismatch_is_named_and_no_latency_of_years_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The bag was recorded in 2023 (T0); replayed with --clock to a node on sim time, and
    # recorded without --use-sim-time a year later: log time - stamp is a year, not a latency.
    bag = tmp_path / 'rec'
    write_recorded(bag, log_offset_ns=365 * 24 * 3600 * NS)
    out = tmp_path / 'report'
    assert main([str(bag), '--recorded', '--out', str(out), '--no-plot', '--quiet']) == 0
    (warning,) = [line for line in capsys.readouterr().err.splitlines() if 'warning' in line]
    assert warning == (
        'warning: the results were logged a median 3.15e+07 s after their header stamps: not '
        'a latency but two clocks (the node on sim time, the recorder on wall time); '
        'end-to-end latency left out. Record with `ros2 bag record --use-sim-time` while '
        '`ros2 bag play --clock` drives the node (use_sim_time:=true)'
    )
    m = read_json(out / 'metrics.json')
    assert 'end_to_end' not in m['latency_ms']
    assert m['clock_mismatch'] == warning.removeprefix('warning: ')
    # the verdicts do not depend on the recorder's clock: scored as before
    assert m['classification']['confusion_matrix']['matrix'] == [[3, 1], [5, 3]]


@pytest.mark.parametrize(('offset_s', 'reported'), [(59.0, True), (61.0, False)])
def test_the_mismatch_threshold_is_a_minute(tmp_path: Path, offset_s: float, reported: bool):
    bag = tmp_path / 'rec'
    write_recorded(bag, log_offset_ns=round(offset_s * NS) - LATENCY_NS)  # median = offset
    out = tmp_path / 'report'
    assert main([str(bag), '--recorded', '--out', str(out), '--no-plot', '--quiet']) == 0
    assert ('end_to_end' in read_json(out / 'metrics.json')['latency_ms']) is reported
