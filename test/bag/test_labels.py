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
"""Label sources: interval files (YAML/CSV, absolute/relative), Bool tracks, episode runs."""

from __future__ import annotations

from pathlib import Path

from grasp_classifier_ros.bag.labels import (
    Episode,
    episode_at,
    episodes_from_runs,
    episodes_yaml,
    LabelError,
    LabelTrack,
    load_intervals,
    parse_label,
    resolve_intervals,
    split_episodes,
)
import pytest

NS = 1_000_000_000
START = 1_700_000_000 * NS
END = START + 20 * NS


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_yaml_mapping_relative(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        'l.yaml',
        'time_base: relative\nepisodes:\n'
        '  - {start: 3.0, end: 5.5, label: failure, name: b}\n'
        '  - {start: 0.0, end: 2.5, label: success}\n',
    )
    f = load_intervals(p)
    assert f.time_base == 'relative'
    eps, base = resolve_intervals(f, START, END)
    assert base == 'relative'
    assert eps == [
        Episode(0, START, START + 2_500_000_000, True, ''),
        Episode(1, START + 3 * NS, START + 5_500_000_000, False, 'b'),
    ]


def test_yaml_bare_list_absolute_is_detected(tmp_path: Path) -> None:
    p = write(tmp_path, 'l.yml', '- {start: 1700000001.5, end: 1700000002, label: grasped}\n')
    eps, base = resolve_intervals(load_intervals(p), START, END)
    assert base == 'absolute'
    assert eps == [Episode(0, START + 1_500_000_000, START + 2 * NS, True, '')]


def test_relative_is_detected_and_bag_start_ns_is_honoured(tmp_path: Path) -> None:
    p = write(tmp_path, 'l.csv', 'start,end,label\n1,2,0\n')
    eps, base = resolve_intervals(load_intervals(p), START, END)
    assert (base, eps[0].start_ns, eps[0].success) == ('relative', START + NS, False)
    ref = START - 7 * NS  # e.g. the original bag's start, for a re-recorded bag
    p2 = write(
        tmp_path, 'l2.csv', f'# bag_start_ns: {ref}\n# time_base: relative\n' + p.read_text()
    )
    eps2, _ = resolve_intervals(load_intervals(p2), START, END)
    assert eps2[0].start_ns == ref + NS


def test_command_line_time_base_overrides(tmp_path: Path) -> None:
    p = write(tmp_path, 'l.csv', 'start,end,label\n1,2,success\n')
    eps, base = resolve_intervals(load_intervals(p), 0, 30 * NS, time_base='absolute')
    assert (base, eps[0].start_ns) == ('absolute', NS)


def test_ambiguous_and_unplaceable_intervals(tmp_path: Path) -> None:
    p = write(tmp_path, 'l.csv', 'start,end,label\n1,2,success\n')
    with pytest.raises(LabelError, match='fit both'):
        resolve_intervals(load_intervals(p), NS // 2, 20 * NS)  # sim-time bag near zero
    far = write(tmp_path, 'far.csv', 'start,end,label\n100,200,success\n')
    with pytest.raises(LabelError, match='fit neither'):
        resolve_intervals(load_intervals(far), START, END)


@pytest.mark.parametrize(
    ('name', 'text', 'message'),
    [
        ('a.yaml', 'episodes: [{start: 2, end: 1, label: success}]', 'not after start'),
        ('a.yaml', 'episodes: [{start: 0, end: 1, label: maybe}]', 'neither success nor failure'),
        ('a.yaml', 'episodes: [{start: 0, label: success}]', 'missing end'),
        ('a.yaml', 'episodes: [{start: x, end: 1, label: success}]', "'x' is not a number"),
        ('a.yaml', 'episodes: [{start: .nan, end: 1, label: success}]', 'not finite'),
        ('a.yaml', 'foo: 1', "expected an 'episodes' list"),
        ('a.yaml', 'episodes: [1, 2]', 'expected a mapping'),
        ('a.yaml', 'episodes: []', 'no labelled intervals'),
        ('a.yaml', 'episodes: [{start: 0, end: 1, label: success}\n', 'not valid YAML'),
        ('a.yaml', 'time_base: later\nepisodes: [{start: 0, end: 1, label: 1}]', 'time_base'),
        ('a.yaml', 'bag_start_ns: 1.5\nepisodes: [{start: 0, end: 1, label: 1}]', 'bag_start_ns'),
        (
            'a.yaml',
            'episodes: [{start: 0, end: 2, label: 1}, {start: 1, end: 3, label: 0}]',
            'overlap',
        ),
        ('a.csv', 'begin,end,label\n0,1,success\n', 'start,end,label'),
        ('a.csv', 'start,end,label\n0,1,success,extra\n', 'more fields'),
        ('a.csv', '', 'no labelled intervals'),
        ('a.txt', 'start,end,label\n', 'must end in'),
    ],
)
def test_malformed_files_raise_clear_errors(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    p = write(tmp_path, name, text)
    with pytest.raises(LabelError, match=message) as info:
        load_intervals(p)
    assert str(p) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LabelError, match='does not exist'):
        load_intervals(tmp_path / 'none.yaml')


def test_parse_label_words() -> None:
    assert parse_label('Grasped') is True
    assert parse_label(' notgrasped ') is False
    assert parse_label(True) is True
    assert parse_label(0) is False
    with pytest.raises(LabelError):
        parse_label('2')


def test_label_track_latest_at_or_before() -> None:
    track = LabelTrack([30, 10, 20], [False, True, True])
    assert track.label_at(9) is None
    assert track.label_at(10) is True
    assert track.label_at(29) is True
    assert track.label_at(30) is False
    assert track.label_at(10**12) is False


def test_episodes_from_runs_split_on_change_and_gap() -> None:
    stamps = [0, 10, 20, 30, 40, 200, 210, 220]
    labels: list[bool | None] = [True, True, False, False, None, False, False, True]
    eps = episodes_from_runs(stamps, labels, max_gap_ns=50)
    assert [(e.start_ns, e.end_ns, e.success) for e in eps] == [
        (0, 10, True),
        (20, 30, False),
        (200, 210, False),
        (220, 220, True),
    ]
    assert episode_at(eps, 25) == eps[1]
    assert episode_at(eps, 100) is None
    assert [episode_at(eps, t) for t in (20, 30, 220)] == [eps[1], eps[1], eps[3]]
    assert episode_at(eps, -1) is None and episode_at([], 5) is None


def test_episodes_yaml_round_trip(tmp_path: Path) -> None:
    eps = [
        Episode(0, START - 16_666_667, START + 500_000_000, True, 'a'),
        Episode(1, START + 2 * NS, START + 3 * NS + 1, False, 'b'),
    ]
    p = write(tmp_path, 'e.yaml', episodes_yaml(eps, START, 'made by a test', {'fps': 30.0}))
    assert p.read_text().startswith('# made by a test\n')
    f = load_intervals(p)
    back, base = resolve_intervals(f, START + 5 * NS, END)  # a different bag start: ignored
    assert base == 'relative'
    assert back == eps


def test_episodes_yaml_with_fields_and_notes_reads_back_the_same(tmp_path: Path) -> None:
    eps = [
        Episode(0, START, START + 2 * NS, True),
        Episode(1, START + 3 * NS, START + 5 * NS + 7, False, 'long ' * 40),
    ]
    text = episodes_yaml(
        eps,
        START,
        'proposals',
        fields=[{'proposed': 'success', 'confidence': 0.9}, {'proposed': 'failure'}],
        notes=['confirm or flip', ''],
    )
    lines = text.splitlines()
    rows = [ln for ln in lines if ln.startswith('- ')]
    assert len(rows) == 2  # one line per episode, however long
    assert rows[0] == (
        '- {name: episode_0, start: 0.0, end: 2.0, label: success, proposed: success, '
        'confidence: 0.9}  # confirm or flip'
    )
    assert '#' not in rows[1]
    back, _ = resolve_intervals(load_intervals(write(tmp_path, 'p.yaml', text)), 0, 1)
    assert [(e.start_ns, e.end_ns, e.success) for e in back] == [
        (e.start_ns, e.end_ns, e.success) for e in eps
    ]


def test_split_episodes_at_gaps_longer_than_the_limit() -> None:
    stamps = [0, 10, 20, 80, 90, 200, 150]  # out of order on purpose
    eps = split_episodes(stamps, max_gap_ns=50)
    assert [(e.index, e.start_ns, e.end_ns, e.success) for e in eps] == [
        (0, 0, 20, None),
        (1, 80, 90, None),
        (2, 150, 200, None),
    ]
    # gaps of exactly the limit do not split
    assert [(e.start_ns, e.end_ns) for e in split_episodes(stamps, max_gap_ns=60)] == [(0, 200)]
    assert split_episodes([], max_gap_ns=5) == []


def test_split_episodes_at_triggers_ignores_gaps() -> None:
    stamps = list(range(0, 100, 10))  # 0 .. 90, no gaps
    # Empty-like triggers: every message starts an attempt; frames before the first: none
    starts = [(15, True), (55, True), (57, True), (200, True)]
    eps = split_episodes(stamps, max_gap_ns=1, triggers=starts)
    assert [(e.start_ns, e.end_ns) for e in eps] == [(20, 50), (60, 90)]  # 55 holds no frame
    # Bool-like: true starts, false ends; a frame at a trigger's time follows it
    onoff = [(10, True), (30, False), (60, True), (70, True), (80, False)]
    eps = split_episodes(stamps, triggers=onoff)
    assert [(e.start_ns, e.end_ns) for e in eps] == [(10, 20), (60, 60), (70, 70)]
    assert [e.index for e in eps] == [0, 1, 2]
    assert split_episodes(stamps, triggers=[(95, True)]) == []
