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
What a new user hits first with evaluate_bag / make_bag: each step just works or says why.

The success class of recorded results, --threshold in replay, output paths
checked before any work, options that would be ignored, flat image folders,
episodes without a verdict, and how episode spans print.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from bag_factory import make_flat_bag
import cv2
from grasp_classifier_ros.bag import evaluate_bag, make_bag
from grasp_classifier_ros.bag.make_bag import BagSpec, SourceEpisode, SourceFrame, write_bag
from model_factory import write_model
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / 'data' / 'demo' / 'grasp_demo'
QUIET = ['--no-plot', '--quiet']


@pytest.fixture(scope='module')
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_model(tmp_path_factory.mktemp('model') / 'brightness.pt')


def metrics(out: Path) -> dict:
    return json.loads((out / 'metrics.json').read_text())


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def grey(path: Path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full((8, 8, 3), value, np.uint8))


# -- 6: the README's live-node scoring, with the shipped model ---------------------------------


def test_readme_round_trip_scores_the_shipped_models_classes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """evaluate_bag data/demo/grasp_demo --out-bag out/annotated, then score it --recorded."""
    (tmp_path / 'data').symlink_to(REPO / 'data')
    monkeypatch.chdir(tmp_path)
    assert evaluate_bag.main(['data/demo/grasp_demo', '--out-bag', 'out/annotated']) == 0
    replay = metrics(tmp_path / 'out' / 'grasp_demo')
    argv = ['out/annotated', '--recorded', '--labels', 'data/demo/grasp_demo/episodes.yaml']
    assert evaluate_bag.main(argv) == 0
    assert "scoring 'grasped' as success (from the model)" in capsys.readouterr().err
    # the default report folder out/<bag name> would be the bag itself: it goes beside it
    recorded = metrics(tmp_path / 'out' / 'annotated_report')
    assert not (tmp_path / 'out' / 'annotated' / 'metrics.json').exists()
    assert recorded['success_class'] == 'grasped'
    # the node's own results, scored again: the same episodes, the same verdicts
    assert recorded['episodes'] == replay['episodes']
    assert recorded['frames']['fresh'] == replay['frames']['fresh']


def test_success_class_from_label_info_names_or_the_flag(tmp_path: Path, model: Path) -> None:
    bag = tmp_path / 'bag'
    make_flat_bag(bag)
    annotated = tmp_path / 'annotated'
    argv = [str(bag), '--model', str(model), '--out', str(tmp_path / 'r0'), *QUIET]
    assert evaluate_bag.main([*argv, '--out-bag', str(annotated)]) == 0
    # the test model's classes are failure/success, the shipped model's success class is
    # 'grasped': not among them, so the one success word is taken
    out = tmp_path / 'r1'
    assert evaluate_bag.main([str(annotated), '--recorded', '--out', str(out), *QUIET]) == 0
    assert metrics(out)['success_class'] == 'success'
    out = tmp_path / 'r2'
    argv = [str(annotated), '--recorded', '--success-class', 'failure', '--out', str(out)]
    assert evaluate_bag.main([*argv, *QUIET]) == 0
    assert metrics(out)['success_class'] == 'failure'


# -- 7: --threshold applies in replay; options that would be ignored are rejected --------------


def test_threshold_applies_in_replay(tmp_path: Path, model: Path) -> None:
    bag = tmp_path / 'bag'
    make_flat_bag(bag, [(True, [140] * 4)])  # p(140) ~ 0.72
    base = [str(bag), '--model', str(model), *QUIET]
    assert evaluate_bag.main([*base, '--out', str(tmp_path / 'a')]) == 0
    assert evaluate_bag.main([*base, '--threshold', '0.9', '--out', str(tmp_path / 'b')]) == 0
    assert metrics(tmp_path / 'a')['threshold'] == 0.5
    assert metrics(tmp_path / 'b')['threshold'] == 0.9
    assert metrics(tmp_path / 'b')['decision']['threshold'] == 0.9
    assert {r['predicted'] for r in rows(tmp_path / 'a' / 'frames.csv')} == {'success'}
    assert {r['predicted'] for r in rows(tmp_path / 'b' / 'frames.csv')} == {'failure'}


@pytest.mark.parametrize(
    ('extra', 'message'),
    [
        (['--threshold', '1.5'], "parameter 'threshold'=1.5 rejected: must be <= 1.0"),
        (['--fps', '10'], '--fps only applies with --from-images; drop it'),
        (['--success-class', 'x'], '--success-class only applies with --recorded; drop it'),
        (['--out-storage', 'sqlite3'], '--out-storage only applies with --out-bag; drop it'),
        (['--rate', '2'], '--rate only applies with --realtime; drop it'),
        (['--realtime', '--nominal-latency', '0.02'], '--nominal-latency only applies with'),
        (['--recorded', '--image-topic', '/x'], '--image-topic only applies with a replay'),
        (['--labels-time', 'absolute'], '--labels-time only applies with --labels; drop it'),
    ],
)
def test_options_that_would_be_ignored_are_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    bag = tmp_path / 'bag'
    make_flat_bag(bag, [(True, [200] * 2)])
    argv = [str(bag), '--out', str(tmp_path / 'o'), *QUIET, *extra]
    assert evaluate_bag.main(argv) == 2
    assert message in capsys.readouterr().err


# -- 8: output paths are checked before any work ---------------------------------------------


@pytest.mark.parametrize('mode', [[], ['--realtime']])
def test_bad_out_fails_before_the_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], mode
) -> None:
    def no_replay(*args: object, **kwargs: object) -> None:
        raise AssertionError('the replay ran before the output path was checked')

    monkeypatch.setattr(evaluate_bag, 'replay_fast', no_replay)
    monkeypatch.setattr(evaluate_bag, 'replay_realtime', no_replay)
    monkeypatch.setattr(evaluate_bag, 'build_pipeline', no_replay)
    (tmp_path / 'afile').write_text('x')
    argv = [str(DEMO), *mode, *QUIET]
    assert evaluate_bag.main([*argv, '--out', str(tmp_path / 'afile' / 'x')]) == 2
    err = capsys.readouterr().err
    assert err.startswith("evaluate_bag: error: --out '") and "afile' is a file" in err
    assert evaluate_bag.main([*argv, '--out', str(tmp_path / 'afile')]) == 2
    assert 'is a file; give a folder' in capsys.readouterr().err
    out_bag = ['--out', str(tmp_path / 'r'), '--out-bag', str(tmp_path / 'afile' / 'b')]
    assert evaluate_bag.main([*argv, *out_bag]) == 2
    assert "--out-bag '" in capsys.readouterr().err


# -- 9: flat image folders and messages that name the fix ------------------------------------


def test_make_bag_takes_a_flat_class_folder(tmp_path: Path) -> None:
    for i in range(3):
        grey(tmp_path / 'grasped' / f'image_6_{i}.png', 200)
    assert make_bag.main([str(tmp_path / 'bag'), '--images', str(tmp_path / 'grasped')]) == 0
    (ep,) = make_bag.image_folder_episodes(tmp_path / 'grasped')
    assert (ep.name, ep.success, len(ep.frames)) == ('grasped/image_6', True, 3)


def test_make_bag_messages_name_the_option_that_fixes_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    grey(tmp_path / 'frames' / 'f_1.png', 10)
    assert make_bag.main([str(tmp_path / 'b1'), '--images', str(tmp_path / 'frames')]) == 2
    assert '--episodes FILE' in capsys.readouterr().err
    grey(tmp_path / 'imgs' / 'held' / 'x_1.png', 1)
    assert make_bag.main([str(tmp_path / 'b2'), '--images', str(tmp_path / 'imgs')]) == 2
    assert '--success-dirs/--failure-dirs' in capsys.readouterr().err
    argv = [str(tmp_path / 'b3'), '--images', str(tmp_path / 'imgs'), '--success-dirs', 'held']
    assert make_bag.main(argv) == 0
    assert make_bag.main(argv) == 2
    assert 'pass --overwrite to replace it' in capsys.readouterr().err
    assert make_bag.main([*argv, '--overwrite']) == 0


def test_evaluate_from_images_takes_a_flat_class_folder_and_custom_names(
    tmp_path: Path, model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(4):
        grey(tmp_path / 'held' / f'image_1_{i}.png', 200)
    base = ['--model', str(model), *QUIET]
    out = tmp_path / 'r'
    argv = ['--from-images', str(tmp_path / 'held'), '--out', str(out), *base]
    assert evaluate_bag.main(argv) == 2
    assert '--success-dirs/--failure-dirs' in capsys.readouterr().err
    assert evaluate_bag.main([*argv, '--success-dirs', 'held']) == 0
    assert metrics(out)['frames']['labelled_fresh'] == 4


# -- 10/11: episodes without a verdict, names and spans in the summary -----------------------


def short_session_bag(path: Path) -> None:
    name = 'session_2024_05_01_left_hand_cam_attempt_7'  # longer than any old column
    episodes = [
        SourceEpisode(name, True, [SourceFrame(rgb=np.full((16, 16, 3), 200, np.uint8))] * 4),
        SourceEpisode('short', True, [SourceFrame(rgb=np.full((16, 16, 3), 200, np.uint8))] * 2),
        SourceEpisode('wrong', False, [SourceFrame(rgb=np.full((16, 16, 3), 220, np.uint8))] * 4),
    ]
    write_bag(path, episodes, BagSpec())


def test_no_verdict_is_reported_apart_from_wrong(
    tmp_path: Path, model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / 'bag'
    short_session_bag(bag)
    out = tmp_path / 'r'
    assert evaluate_bag.main([str(bag), '--model', str(model), '--out', str(out), *QUIET]) == 0
    ep = metrics(out)['episodes']
    assert (ep['labelled'], ep['with_verdict'], ep['correct'], ep['wrong']) == (3, 2, 1, 1)
    assert ep['no_verdict'] == 1
    assert ep['accuracy'] == 0.5 and ep['coverage'] == pytest.approx(2 / 3)
    assert [r['correct'] for r in rows(out / 'episodes.csv')] == ['1', '', '0']
    text = capsys.readouterr().out
    lines = [line for line in text.splitlines() if ' #' in line]
    assert lines[0].startswith('  ok   #0   session_2024_05_01_left_hand_cam_attempt_7 ')
    assert lines[1].startswith('  n/v  #1 ') and lines[2].startswith('  MISS #2 ')
    assert '   0.00 .. ' in lines[0] and '-0.0' not in text  # the first span starts at 0
    assert 'Episode accuracy 50.0% (1 of 2 labelled episodes with a verdict' in text
    assert 'coverage 66.7%: 1 of 3 without a verdict' in text


def test_timeline_draws_no_verdict_apart_and_in_the_legend(tmp_path: Path, model: Path) -> None:
    pytest.importorskip('matplotlib')
    from grasp_classifier_ros.bag import labels, plots, report
    from grasp_classifier_ros.bag.io import BagReader
    from grasp_classifier_ros.bag.replay import replay_fast
    from grasp_classifier_ros.core.configure import build_pipeline
    from grasp_classifier_ros.core.params import validate_all

    bag = tmp_path / 'bag'
    short_session_bag(bag)
    pipeline = build_pipeline(validate_all({'model_path': str(model), 'device': 'cpu'}))
    with BagReader(bag) as reader:
        run = replay_fast(pipeline, reader.messages(['/camera/image_raw']))
        plan = labels.plan_labels(reader)
        labels.attach_labels(run.records, plan, 0.5)
        start = reader.start_ns
    results = report.episode_verdicts(
        run.records, plan.episodes or [], check_frames=3, check_timeout=1.0, threshold=0.5
    )
    fig = plots.timeline_figure(
        run.records, results, bag_start_ns=start, threshold=0.5, hysteresis=0.05
    )
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {'~/check verdict, wrong', 'no verdict (too few frames)'} <= set(legend)
    hollow = [ln for ln in ax.lines if ln.get_markerfacecolor() == 'none' and ln.get_xdata().size]
    assert len(hollow) == 1  # the short episode's ring
