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
Header stamps, property-based: never a verdict from a stale, future, old or unstamped frame.

The rules are those of ``decision``'s module docstring; ``expected_status`` below
restates them independently and every frame's status must match it exactly.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
import types

from grasp_classifier_ros.core.decision import DecisionConfig
from grasp_classifier_ros.core.model import load_model
from grasp_classifier_ros.core.pipeline import NewestFrameWorker, Pipeline, STATUSES
from grasp_classifier_ros.core.stamps import ns_to_stamp, stamp_to_ns
from hypothesis import event, given, HealthCheck, settings
from hypothesis import strategies as st
from model_factory import brightness_metadata, flat_probability, write_model
from msg_factory import Header, make_image, Time
import numpy as np
import pytest

S = 1_000_000_000
MS = 1_000_000
INT32 = (-(2**31), 2**31 - 1)
UINT32_MAX = 2**32 - 1
PROPS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp('m') / 'm.pt'
    return load_model(write_model(path, meta=brightness_metadata(16)), device='cpu', warmup_runs=0)


def frame(grey: int, sec: object, nanosec: object) -> object:
    """Return a 16x16 bgr8 Image whose header.stamp holds exactly these field values."""
    msg = make_image(np.full((16, 16, 3), grey, np.uint8), 'bgr8')
    msg.header = Header(stamp=Time(sec=sec, nanosec=nanosec), frame_id='cam')
    return msg


def split(stamp_ns: int) -> tuple[int, int]:
    return stamp_ns // S, stamp_ns % S


@dataclass
class Step:
    sec: int
    nanosec: int
    now_ns: int
    grey: int

    @property
    def stamp_ns(self) -> int:
        return self.sec * S + self.nanosec


def jumped_back(cfg: DecisionConfig, stamp: int, last_ok: int | None) -> float:
    """Return how far ``stamp`` lies before ``last_ok`` if that starts a new stream, else 0."""
    if stamp == 0 or last_ok is None:
        return 0.0
    limit = cfg.camera_timeout
    if cfg.max_frame_age > 0:
        limit = cfg.max_frame_age + cfg.max_future_skew
    back = (last_ok - stamp) / S
    return back if back > limit else 0.0


def expected_status(cfg: DecisionConfig, stamp: int, now: int, last_ok: int | None) -> str:
    """Restate decision.py's freshness rules."""
    age = (now - stamp) / S
    if cfg.max_frame_age > 0:
        if stamp == 0 or age > cfg.max_frame_age:
            return 'stale'
        if -age > cfg.max_future_skew:
            return 'future'
    if stamp != 0 and last_ok is not None and stamp <= last_ok:
        # far enough back, it is the first frame of a new stream (camera restart, bag loop)
        return 'ok' if jumped_back(cfg, stamp, last_ok) else 'out_of_order'
    return 'ok'


# Stamps near a moving "camera clock", with every awkward case mixed in: zero, equal,
# backwards, negative seconds, int32 extremes, nanosec beyond 1e9 (uint32 allows it).
_deltas = st.sampled_from([0, 1, -1, 33 * MS, -33 * MS, 500 * MS, S, -S]) | st.integers(-2 * S, S)
_ages = (
    st.sampled_from([0, 1, -1, 100 * MS, 100 * MS + 1, -100 * MS, -100 * MS - 1])
    | st.sampled_from([500 * MS, 500 * MS + 1, -(10**18), 10**18])
    | st.integers(-300 * MS, 700 * MS)
)


@st.composite
def sequences(draw) -> list[Step]:
    t = draw(st.sampled_from([0, 1, 10**9, 1_700_000_000 * S, -5 * S]) | st.integers(0, 2**62))
    steps = []
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(['near'] * 6 + ['zero', 'raw', 'int32']))
        if kind == 'near':
            t += draw(_deltas)
            sec, nanosec = split(t)
        elif kind == 'zero':
            sec, nanosec = 0, 0
        elif kind == 'raw':
            sec = draw(st.integers(*INT32))
            nanosec = draw(st.integers(0, UINT32_MAX))
        else:
            sec, nanosec = draw(st.sampled_from([INT32[0], INT32[1], -1])), 0
        stamp = sec * S + nanosec
        now = draw(st.sampled_from([stamp, t]) | st.integers(0, 2**62)) + draw(_ages)
        steps.append(Step(sec, nanosec, now, draw(st.integers(0, 255))))
    return steps


_configs = st.builds(
    DecisionConfig,
    threshold=st.floats(0.0, 1.0),
    hysteresis=st.sampled_from([0.0, 0.05, 0.2]),
    smoothing=st.sampled_from(['none', 'ema', 'vote']),
    window=st.integers(1, 5),
    max_frame_age=st.sampled_from([0.5, 0.1, 1e-9, 60.0]) | st.floats(1e-6, 60.0),
    max_future_skew=st.sampled_from([0.0, 0.1, 10.0]) | st.floats(0.0, 10.0),
    camera_timeout=st.sampled_from([1.0, 0.05, 60.0]),
)


def run(pl: Pipeline, steps: list[Step]) -> list:
    return [pl.process(frame(s.grey, s.sec, s.nanosec), now_ns=s.now_ns) for s in steps]


@PROPS
@given(_configs, sequences())
def test_verdicts_only_from_fresh_in_order_stamped_frames(model, cfg, steps):
    pl = Pipeline(model, decision=cfg)
    results = run(pl, steps)
    last_ok: int | None = None
    for s, r in zip(steps, results):
        assert r.stamp_ns == s.stamp_ns
        assert r.status == expected_status(cfg, s.stamp_ns, s.now_ns, last_ok)
        event(r.status)
        if r.status == 'ok':
            age = (s.now_ns - s.stamp_ns) / S
            assert r.decision is not None and r.decision.age_s == age
            assert -cfg.max_future_skew <= age <= cfg.max_frame_age
            back = jumped_back(cfg, s.stamp_ns, last_ok)
            if back:
                event('new stream')
            assert r.decision.new_stream_after_s == back
            assert s.stamp_ns != 0 and (last_ok is None or s.stamp_ns > last_ok or back > 0)
            assert r.success_probability == pytest.approx(flat_probability(s.grey), abs=1e-5)
            assert r.success == (r.decision.verdict.value == 'success')
            last_ok = s.stamp_ns
        else:
            assert r.decision is None and r.success is False and r.success_probability is None
            assert r.error  # every rejection says why
    counts = pl.stats.snapshot(0)['counts']
    assert counts == Counter(r.status for r in results)  # every status, not only 'ok'


@PROPS
@given(sequences())
def test_with_freshness_checks_off_only_order_is_enforced(model, steps):
    # max_frame_age=0 disables age, zero-stamp and future checks; zero stamps never count
    # as out of order, every other stamp must still be strictly newer than the last ok one,
    # unless it lies more than camera_timeout before it (a new stream).
    cfg = DecisionConfig(max_frame_age=0.0)
    pl = Pipeline(model, decision=cfg)
    last_ok: int | None = None
    for s, r in zip(steps, run(pl, steps)):
        assert r.status == expected_status(cfg, s.stamp_ns, s.now_ns, last_ok)
        assert r.status in ('ok', 'out_of_order')
        if r.status == 'ok' and s.stamp_ns != 0:
            last_ok = s.stamp_ns
        assert r.success is (r.status == 'ok' and r.decision.verdict.value == 'success')


@PROPS
@given(_configs, sequences())
def test_rejected_frames_leave_no_trace_in_the_verdict(model, cfg, steps):
    # Feeding the full sequence must give, for every ok frame, exactly the decision the
    # same pipeline gives when only the ok frames are fed: rejected frames change nothing.
    full = run(Pipeline(model, decision=cfg), steps)
    ok_steps = [s for s, r in zip(steps, full) if r.status == 'ok']
    only_ok = run(Pipeline(model, decision=cfg), ok_steps)
    assert [r.status for r in only_ok] == ['ok'] * len(ok_steps)
    assert [r.decision for r in only_ok] == [r.decision for r in full if r.status == 'ok']


@pytest.mark.parametrize(
    ('sec', 'nanosec', 'now_ns', 'status'),
    [
        (0, 0, 100 * S, 'stale'),  # unstamped
        (0, 1, 100 * S, 'stale'),  # 1 ns after the epoch: 100 s old
        (-1, 0, 100 * S, 'stale'),  # negative seconds: far in the past
        (INT32[0], 0, 100 * S, 'stale'),
        (INT32[1], UINT32_MAX, 100 * S, 'future'),
        (100, 0, 100 * S, 'ok'),
        (99, 500_000_000, 100 * S, 'ok'),  # exactly max_frame_age old
        (99, 499_999_999, 100 * S, 'stale'),  # 1 ns older
        (100, 100_000_000, 100 * S, 'ok'),  # exactly max_future_skew ahead
        (100, 100_000_001, 100 * S, 'future'),
        (99, 2_000_000_000, 100 * S, 'future'),  # nanosec >= 1e9 is added as-is (as rclpy does)
    ],
)
def test_single_frame_boundaries(model, sec, nanosec, now_ns, status):
    cfg = DecisionConfig(max_frame_age=0.5, max_future_skew=0.1)
    r = Pipeline(model, decision=cfg).process(frame(250, sec, nanosec), now_ns=now_ns)
    assert r.status == status
    assert r.success is (status == 'ok')  # grey 250 is a confident success when fresh


@pytest.mark.parametrize(
    'sec',
    [float('inf'), float('-inf'), float('nan'), None, 'x', [1], 10**400],
)
def test_malformed_stamp_fields_never_raise_and_never_verdict(model, sec):
    msg = make_image(np.full((16, 16, 3), 250, np.uint8), 'bgr8')
    msg.header = types.SimpleNamespace(stamp=types.SimpleNamespace(sec=sec, nanosec=0))
    pl = Pipeline(model, decision=DecisionConfig(max_frame_age=0.0))  # even with checks off
    r = pl.process(msg, now_ns=100 * S)
    assert r.decision is None and r.success is False
    assert r.status in ('bad_image', 'error') and r.error
    ok = pl.process(frame(250, 101, 0), now_ns=101 * S)  # the stream carries on
    assert ok.status == 'ok' and ok.success


def test_equal_stamps_only_the_first_counts(model):
    pl = Pipeline(model, decision=DecisionConfig(max_frame_age=0.5))
    statuses = [pl.process(frame(250, 100, 0), now_ns=100 * S + i).status for i in range(3)]
    assert statuses == ['ok', 'out_of_order', 'out_of_order']


def test_worker_thread_survives_every_stamp_fault(model):
    results = []
    pl = Pipeline(model, decision=DecisionConfig(max_frame_age=0.5))
    worker = NewestFrameWorker(pl, results.append, clock_ns=lambda: 100 * S).start()
    bad = make_image(np.full((16, 16, 3), 250, np.uint8), 'bgr8')
    bad.header = types.SimpleNamespace(stamp=types.SimpleNamespace(sec=float('inf'), nanosec=0))
    frames = [frame(250, 0, 0), bad, frame(250, 200, 0), frame(250, 100, 0), frame(250, 100, 0)]
    try:
        for f in frames:
            worker.submit(f)
            assert worker.wait_idle(10.0)
    finally:
        worker.stop()
    assert [r.status for r in results] == ['stale', 'bad_image', 'future', 'ok', 'out_of_order']
    assert [r.success for r in results] == [False, False, False, True, False]
    assert set(pl.stats.snapshot(0)['counts']) <= set(STATUSES)


def test_stamp_to_ns_sums_fields_like_rclpy():
    assert stamp_to_ns(Time(sec=1, nanosec=2)) == S + 2
    assert stamp_to_ns(Time(sec=-1, nanosec=0)) == -S
    assert stamp_to_ns(Time(sec=1, nanosec=UINT32_MAX)) == S + UINT32_MAX


@pytest.mark.parametrize('t_ns', [0, 1, S - 1, S, 1_700_000_000 * S + 123_456_789])
def test_ns_to_stamp_inverts_stamp_to_ns(t_ns):
    sec, nanosec = ns_to_stamp(t_ns)
    assert 0 <= nanosec < S
    assert stamp_to_ns(Time(sec=sec, nanosec=nanosec)) == t_ns
