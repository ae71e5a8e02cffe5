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
Ground truth for bag frames: a std_msgs/Bool topic or a file of labelled intervals.

Interval files (YAML or CSV) list episodes as ``start, end, label`` with times
in seconds and ``label`` one of success/failure (also true/false, 1/0,
grasped/notgrasped). YAML::

    time_base: relative        # or absolute; optional (detected when missing)
    bag_start_ns: 1700000000000000000   # optional: what 'relative' is relative to
    episodes:
      - {start: 0.0, end: 2.5, label: success}
      - {start: 3.0, end: 5.5, label: failure}

CSV: a header row ``start,end,label`` (optional ``name`` column); leading
``# time_base: relative`` / ``# bag_start_ns: N`` comment lines are honoured.

Times are compared with frame header stamps. ``absolute`` means bag time in
seconds since the epoch; ``relative`` means seconds since ``bag_start_ns``
when the file gives it, else since the first message of the evaluated bag.
Without ``time_base`` the base is detected: intervals that lie within the
bag's absolute time span are absolute, intervals within [0, duration] are
relative, and a file that fits both or neither is rejected with the numbers.
A frame belongs to an episode when ``start <= stamp <= end``.

``plan_labels`` picks a bag's label source (``--labels``, the label topic, a
sidecar ``<bag>.labels.yaml`` beside the bag or the bag's own episodes.yaml) and
``attach_labels`` gives every frame record its label and episode. For recordings
not labelled yet, ``split_episodes`` finds the grasp attempts (at gaps between
frames, or at the messages of a trigger topic, ``trigger_events``) and
``episodes_yaml`` writes them as an interval file to be labelled.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
import csv
from dataclasses import dataclass, field
import math
from pathlib import Path
from typing import Any, TYPE_CHECKING

import numpy as np
import yaml

from ..core.errors import GraspClassifierError
from ..core.interfaces import BOOL_TYPE, LABEL
from ..core.stamps import NS

if TYPE_CHECKING:
    from .io import BagReader
    from .replay import FrameRecord

EPISODES_FILE = 'episodes.yaml'  # the interval file make_bag writes inside a bag directory
SIDECAR_SUFFIX = '.labels.yaml'  # <bag>.labels.yaml beside a bag or video (grasp-train label)
TIME_BASES = ('auto', 'absolute', 'relative')
SUCCESS_WORDS = frozenset({'success', 'succeeded', 'true', '1', 'yes', 'grasped', 'positive'})
FAILURE_WORDS = frozenset(
    {'failure', 'failed', 'fail', 'false', '0', 'no', 'notgrasped', 'not_grasped', 'negative'}
)
# Labelled intervals may overhang the recorded span by this much and still be detected.
DETECT_TOLERANCE_S = 1.0


class LabelError(GraspClassifierError, ValueError):
    """A label file or label topic is malformed."""


def parse_label(value: Any, where: str = 'label') -> bool:
    """Map success/failure words (or a bool) to True/False; raise LabelError otherwise."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in SUCCESS_WORDS:
        return True
    if text in FAILURE_WORDS:
        return False
    raise LabelError(f'{where}: label {value!r} is neither success nor failure')


def label_name(success: bool | None) -> str:
    """Render a label as 'success', 'failure' or '' (unlabelled)."""
    return '' if success is None else ('success' if success else 'failure')


@dataclass(frozen=True)
class Interval:
    start_s: float
    end_s: float
    success: bool
    name: str = ''


@dataclass(frozen=True)
class IntervalFile:
    path: str
    intervals: tuple[Interval, ...]
    time_base: str = 'auto'
    bag_start_ns: int | None = None


@dataclass(frozen=True)
class Episode:
    """One labelled grasp attempt on the bag's time axis (inclusive bounds)."""

    index: int
    start_ns: int
    end_ns: int
    success: bool | None
    name: str = ''

    def contains(self, t_ns: int) -> bool:
        return self.start_ns <= t_ns <= self.end_ns


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool):
        raise LabelError(f'{where}: {value!r} is not a number of seconds')
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise LabelError(f'{where}: {value!r} is not a number of seconds') from None
    if not math.isfinite(out):
        raise LabelError(f'{where}: {value!r} is not finite')
    return out


def _time_base(value: Any, where: str) -> str:
    text = str(value).strip().lower()
    if text not in TIME_BASES:
        raise LabelError(f'{where}: time_base {value!r} must be absolute, relative or auto')
    return text


def _bag_start(raw: dict[str, Any], where: str) -> int | None:
    if raw.get('bag_start_ns') is not None:
        v = raw['bag_start_ns']
        if isinstance(v, bool) or not isinstance(v, (int, str)) or not str(v).strip().isdigit():
            raise LabelError(f'{where}: bag_start_ns {v!r} must be an integer of nanoseconds')
        return int(v)
    if raw.get('bag_start') is not None:
        return round(_number(raw['bag_start'], f'{where}: bag_start') * NS)
    return None


def _interval(item: Any, where: str) -> Interval:
    if not isinstance(item, dict):
        raise LabelError(f'{where}: expected a mapping with start, end, label; got {item!r}')
    keys = {str(k).strip().lower(): v for k, v in item.items()}
    missing = [k for k in ('start', 'end') if k not in keys]
    label_key = next((k for k in ('label', 'success', 'outcome') if k in keys), None)
    if missing or label_key is None:
        need = [*missing, *([] if label_key else ['label'])]
        raise LabelError(f'{where}: missing {", ".join(need)} (have {", ".join(keys) or "none"})')
    start = _number(keys['start'], f'{where}: start')
    end = _number(keys['end'], f'{where}: end')
    if end <= start:
        raise LabelError(f'{where}: end {end} is not after start {start}')
    name = keys.get('name')
    return Interval(
        start, end, parse_label(keys[label_key], where), '' if name is None else str(name)
    )


def _check_order(intervals: list[Interval], path: str) -> tuple[Interval, ...]:
    ordered = sorted(intervals, key=lambda i: i.start_s)
    for a, b in zip(ordered, ordered[1:]):
        if b.start_s < a.end_s:
            raise LabelError(
                f'{path}: intervals [{a.start_s}, {a.end_s}] and [{b.start_s}, {b.end_s}] overlap'
            )
    if not ordered:
        raise LabelError(f'{path}: no labelled intervals')
    return tuple(ordered)


def load_intervals(path: str | Path) -> IntervalFile:
    """Read a YAML (.yaml/.yml) or CSV (.csv) interval file; raise LabelError on any fault."""
    p = Path(path)
    if not p.is_file():
        raise LabelError(f"label file '{p}' does not exist")
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelError(f"cannot read label file '{p}': {exc}") from exc
    if p.suffix.lower() == '.csv':
        return _load_csv(str(p), text)
    if p.suffix.lower() in ('.yaml', '.yml'):
        return _load_yaml(str(p), text)
    raise LabelError(f"label file '{p}' must end in .yaml, .yml or .csv")


def _load_yaml(path: str, text: str) -> IntervalFile:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else 'syntax error'
        raise LabelError(f'{path}: not valid YAML ({first})') from exc
    meta: dict[str, Any] = {}
    if isinstance(raw, dict):
        if 'episodes' not in raw:
            raise LabelError(f"{path}: expected an 'episodes' list (keys: {', '.join(raw)})")
        meta, items = raw, raw['episodes']
    else:
        items = raw
    if not isinstance(items, list):
        raise LabelError(f'{path}: episodes must be a list of {{start, end, label}} mappings')
    intervals = [_interval(item, f'{path}: episode {i}') for i, item in enumerate(items)]
    return IntervalFile(
        path,
        _check_order(intervals, path),
        _time_base(meta.get('time_base', 'auto'), path),
        _bag_start(meta, path),
    )


def _load_csv(path: str, text: str) -> IntervalFile:
    meta: dict[str, Any] = {}
    body: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith('#'):
            key, sep, value = stripped[1:].partition(':')
            if sep and key.strip() in ('time_base', 'bag_start_ns', 'bag_start'):
                meta[key.strip()] = value.strip()
            continue
        if stripped:
            body.append(line)
    reader = csv.DictReader(body)
    rows = list(reader)
    if not rows:
        raise LabelError(f'{path}: no labelled intervals (expected a header start,end,label)')
    header = [str(h).strip().lower() for h in (reader.fieldnames or [])]
    for need in ('start', 'end', 'label'):
        if need not in header:
            raise LabelError(f'{path}: CSV header must contain start,end,label (got {header})')
    intervals = []
    for i, row in enumerate(rows):
        if None in row:
            raise LabelError(f'{path}: row {i + 2} has more fields than the header')
        intervals.append(_interval(row, f'{path}: row {i + 2}'))
    return IntervalFile(
        path,
        _check_order(intervals, path),
        _time_base(meta.get('time_base', 'auto'), path),
        _bag_start(meta, path),
    )


def resolve_intervals(
    f: IntervalFile, bag_start_ns: int, bag_end_ns: int, time_base: str = 'auto'
) -> tuple[list[Episode], str]:
    """
    Place intervals on the bag's time axis; return the episodes and the base used.

    ``time_base`` (from the command line) overrides the file's unless 'auto'.
    """
    base = time_base if time_base != 'auto' else f.time_base
    first = min(i.start_s for i in f.intervals)
    last = max(i.end_s for i in f.intervals)
    ref_ns = f.bag_start_ns if f.bag_start_ns is not None else bag_start_ns
    if base == 'auto':
        tol = DETECT_TOLERANCE_S
        b0, b1 = bag_start_ns / NS, bag_end_ns / NS
        duration = (bag_end_ns - ref_ns) / NS
        fits_abs = first >= b0 - tol and last <= b1 + tol
        fits_rel = first >= -tol and last <= duration + tol
        if fits_abs and fits_rel:
            raise LabelError(
                f'{f.path}: intervals [{first:g}, {last:g}] s fit both absolute bag time '
                f'[{b0:.3f}, {b1:.3f}] and time relative to the bag start; set time_base'
            )
        if not (fits_abs or fits_rel):
            raise LabelError(
                f'{f.path}: intervals [{first:g}, {last:g}] s fit neither absolute bag time '
                f'[{b0:.3f}, {b1:.3f}] s nor relative time [0, {duration:.3f}] s; '
                'wrong file for this bag?'
            )
        base = 'absolute' if fits_abs else 'relative'
    offset = 0 if base == 'absolute' else ref_ns
    episodes = [
        Episode(k, offset + round(i.start_s * NS), offset + round(i.end_s * NS), i.success, i.name)
        for k, i in enumerate(f.intervals)
    ]
    return episodes, base


class LabelTrack:
    """Labels published on a std_msgs/Bool topic: a frame gets the latest one at or before it."""

    def __init__(self, times_ns: list[int], values: list[bool]) -> None:
        order = np.argsort(np.asarray(times_ns, dtype=np.int64), kind='stable')
        self.times_ns = np.asarray(times_ns, dtype=np.int64)[order]
        self.values = [bool(values[i]) for i in order]

    def __len__(self) -> int:
        return len(self.values)

    def label_at(self, t_ns: int) -> bool | None:
        """Return the latest label at or before ``t_ns``, or None before the first one."""
        idx = int(np.searchsorted(self.times_ns, t_ns, side='right')) - 1
        return None if idx < 0 else self.values[idx]


def episode_at(episodes: list[Episode], t_ns: int) -> Episode | None:
    """Return the episode containing ``t_ns`` (episodes sorted, non-overlapping)."""
    # Called once per frame: bisect in place rather than building an array of starts.
    idx = bisect_right(episodes, t_ns, key=lambda e: e.start_ns) - 1
    if idx >= 0 and episodes[idx].contains(t_ns):
        return episodes[idx]
    return None


def episodes_from_runs(
    stamps_ns: list[int], labels: list[bool | None], max_gap_ns: int
) -> list[Episode]:
    """Split labelled frames into episodes at label changes and at gaps over ``max_gap_ns``."""
    episodes: list[Episode] = []
    start = prev = None
    current: bool | None = None
    for t, lab in zip(stamps_ns, labels):
        split = lab != current or (prev is not None and t - prev > max_gap_ns)
        if split and start is not None and current is not None:
            episodes.append(Episode(len(episodes), start, prev, current))  # type: ignore[arg-type]
        if split:
            start, current = t, lab
        prev = t
    if start is not None and current is not None and prev is not None:
        episodes.append(Episode(len(episodes), start, prev, current))
    return episodes


def episodes_yaml(
    episodes: list[Episode],
    bag_start_ns: int,
    comment: str = '',
    extra: dict | None = None,
    *,
    fields: Sequence[dict[str, Any]] | None = None,
    notes: Sequence[str] | None = None,
) -> str:
    """
    Render episodes as an interval file (relative times, exact ``bag_start_ns``).

    ``fields``: more keys per episode (the reader ignores them); ``notes``: a comment at
    the end of each episode's line (one episode per line then, however long).
    """
    lines = [f'# {c}' for c in comment.splitlines()] if comment else []
    body: dict[str, Any] = {'time_base': 'relative', 'bag_start_ns': int(bag_start_ns)}
    body.update(extra or {})
    items = [
        {
            'name': e.name or f'episode_{e.index}',
            'start': round((e.start_ns - bag_start_ns) / NS, 9),
            'end': round((e.end_ns - bag_start_ns) / NS, 9),
            'label': label_name(e.success),
            **(fields[k] if fields else {}),
        }
        for k, e in enumerate(episodes)
    ]
    if notes is None:
        body['episodes'] = items
        text = yaml.safe_dump(body, sort_keys=False, default_flow_style=None, width=120)
        return '\n'.join([*lines, text])
    head = yaml.safe_dump(body, sort_keys=False, default_flow_style=False, width=120)
    rows = [
        '- '
        + yaml.safe_dump(item, sort_keys=False, default_flow_style=True, width=math.inf).strip()
        + (f'  # {note}' if note else '')
        for item, note in zip(items, notes)
    ]
    return '\n'.join([*lines, head + 'episodes:', *rows, ''])


def split_episodes(
    stamps_ns: Sequence[int],
    *,
    max_gap_ns: int = 0,
    triggers: Sequence[tuple[int, bool]] | None = None,
) -> list[Episode]:
    """
    Split unlabelled frames into grasp attempts (``success`` None), in time order.

    Without ``triggers``: a gap between frame stamps longer than ``max_gap_ns`` ends an
    attempt. With ``triggers`` (``trigger_events``: time, starts), gaps do not count: a
    start begins an attempt (ending the open one), an end closes it; frames before the
    first start or after an end belong to none. A frame at a trigger's time follows it.
    Attempts without frames are left out; bounds are the first and last frame stamps.
    """
    times = sorted(int(t) for t in stamps_ns)
    runs: list[list[int]] = []
    if triggers is None:
        for t in times:
            if runs and t - runs[-1][-1] <= max_gap_ns:
                runs[-1].append(t)
            else:
                runs.append([t])
    else:
        events = sorted((int(t), bool(starts)) for t, starts in triggers)
        k, is_open = 0, False
        for t in times:
            while k < len(events) and events[k][0] <= t:
                is_open = events[k][1]
                if is_open:
                    runs.append([])
                k += 1
            if is_open:
                runs[-1].append(t)
    runs = [r for r in runs if r]
    return [Episode(i, r[0], r[-1], None) for i, r in enumerate(runs)]


def trigger_events(reader: BagReader, topic: str) -> list[tuple[int, bool]]:
    """
    Read a bag's trigger topic as ``(log time, starts)`` per message, in time order.

    ``std_msgs/Bool``: true starts a grasp attempt, false ends it. Any other type
    (``std_msgs/Empty``, ...): every message starts one; only its time is read.
    """
    if topic not in reader.topics:
        raise LabelError(
            f"trigger topic '{topic}' is not in the bag; topics: {reader.topic_summary()}"
        )
    if reader.topics[topic].msgtype == BOOL_TYPE:
        events = [(m.log_ns, bool(m.msg.data)) for m in reader.messages([topic])]
    else:
        events = [(log_ns, True) for _, log_ns, _ in reader.raw_messages([topic])]
    if not events:
        raise LabelError(f"trigger topic '{topic}' has no messages in '{reader.path}'")
    return sorted(events)


# -- label planning: which source labels a bag ------------------------------------------


def sidecar_path(recording: Path) -> Path:
    """``<bag>.labels.yaml`` beside a bag directory, ``<name>.labels.yaml`` beside a file."""
    name = recording.name if recording.is_dir() else recording.stem
    return recording.with_name(name + SIDECAR_SUFFIX)


@dataclass
class LabelPlan:
    """Where labels and episodes come from, resolved against the bag."""

    source: str = 'none'
    track: LabelTrack | None = None
    episodes: list[Episode] | None = None
    episodes_source: str = 'none'
    time_base: str = ''
    by_log_time: bool = False  # match labels on log time instead of header stamps
    notes: list[str] = field(default_factory=list)  # label files found but not used, and why

    @property
    def labelled(self) -> bool:
        return self.track is not None or bool(self.episodes)


def plan_labels(
    reader: BagReader,
    *,
    labels: Path | None = None,
    labels_time: str = 'auto',
    label_topic: str | None = None,
    recorded: bool = False,
) -> LabelPlan:
    """
    Resolve where a bag's labels and episodes come from.

    In order: the interval file ``labels`` (given explicitly, it wins); the
    Bool label topic (``label_topic``, default /grasp/label); the sidecar
    ``<bag>.labels.yaml`` beside the bag (``grasp-train label`` writes it); the
    bag's own episodes.yaml. A label file found but not used is named in
    ``plan.notes``. ``recorded``: labels were re-published while a live node
    ran, so they are matched on log time and episodes come from label runs,
    unless the bag's episodes.yaml says ``log_time: true`` (the node's capture
    bags: their intervals hold both the frame stamps and the log times).
    """
    plan = LabelPlan()
    topic = label_topic or LABEL.in_bag
    bag_episodes = reader.path / EPISODES_FILE if reader.path.is_dir() else None
    if bag_episodes is not None and not bag_episodes.is_file():
        bag_episodes = None
    sidecar = sidecar_path(reader.path)
    has_sidecar = sidecar.is_file() and (labels is None or sidecar.resolve() != labels.resolve())
    if labels is not None:
        _plan_episodes(plan, reader, labels, labels_time)
        plan.source = plan.episodes_source = f'{labels} ({plan.time_base} times)'
        if topic in reader.topics:
            plan.notes.append(f'--labels {labels} is used instead of the label topic {topic}')
        if has_sidecar:
            plan.notes.append(f'--labels {labels} is used instead of the sidecar {sidecar}')
        return plan
    if topic in reader.topics:
        info = reader.topics[topic]
        if info.msgtype != LABEL.msg_type:
            raise LabelError(
                f"label topic '{topic}' is of type {info.msgtype}, expected {LABEL.msg_type}"
            )
        times, values = [], []
        for m in reader.messages([topic]):
            times.append(m.log_ns)
            values.append(bool(m.msg.data))
        plan.track = LabelTrack(times, values)
        plan.source = f'topic {topic} ({len(values)} labels)'
        # A recorded bag re-publishes labels at play time: match them on the recorder's clock.
        plan.by_log_time = recorded
        if bag_episodes is not None and (not recorded or _on_log_time(bag_episodes)):
            _plan_episodes(plan, reader, bag_episodes)
        if has_sidecar:
            plan.notes.append(
                f'the sidecar {sidecar} is not used: the label topic {topic} labels this bag '
                f'(pass --labels {sidecar} to use the file instead)'
            )
        return plan
    if label_topic:
        raise LabelError(
            f"label topic '{label_topic}' is not in the bag; topics: {reader.topic_summary()}"
        )
    if has_sidecar:
        _plan_episodes(plan, reader, sidecar)
        plan.source = f'{sidecar} ({plan.time_base} times)'
        return plan
    if bag_episodes is not None:
        _plan_episodes(plan, reader, bag_episodes)
        plan.source = plan.episodes_source
    return plan


def _on_log_time(path: Path) -> bool:
    """Return True when an interval file says its intervals hold log times too (capture)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # _plan_episodes is not reached; nothing to say about it here
    return isinstance(raw, dict) and raw.get('log_time') is True


def _plan_episodes(
    plan: LabelPlan, reader: BagReader, path: Path, time_base: str = 'auto'
) -> None:
    """Take the plan's episodes from the interval file ``path``."""
    f = load_intervals(path)
    plan.episodes, plan.time_base = resolve_intervals(f, reader.start_ns, reader.end_ns, time_base)
    plan.episodes_source = str(path)


def attach_labels(records: list[FrameRecord], plan: LabelPlan, episode_gap_s: float) -> None:
    """Give every frame its label and episode; derive episodes from label runs if needed."""

    def key(r: FrameRecord) -> int:
        return r.log_ns if plan.by_log_time else r.stamp_ns

    ordered = sorted(records, key=key)
    if plan.track is not None:
        for r in ordered:
            r.label = plan.track.label_at(key(r))
    if plan.episodes is None and plan.track is not None:
        plan.episodes = episodes_from_runs(
            [key(r) for r in ordered], [r.label for r in ordered], round(episode_gap_s * NS)
        )
        plan.episodes_source = f'runs of equal labels (split at gaps > {episode_gap_s:g} s)'
    for r in ordered:
        ep = episode_at(plan.episodes, key(r)) if plan.episodes else None
        r.episode = None if ep is None else ep.index
        if plan.track is None and ep is not None:
            r.label = ep.success
