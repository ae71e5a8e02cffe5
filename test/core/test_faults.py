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
Injected faults and their exact outcomes: model output, CUDA, camera, stamps, hot reload.

Load-time model faults (missing, truncated, not TorchScript, bad metadata, output
shape) are in test_model.py; a single NaN frame and a broken reload file are in
test_pipeline.py. This file adds the sequences, the diagnostics and ``~/check``
answers they lead to, and the hot-reload variants.
"""

from __future__ import annotations

import json
from pathlib import Path
import re
import threading
import time
import zipfile

from grasp_classifier_ros.core.configure import build_pipeline, reload_model
from grasp_classifier_ros.core.decision import DecisionConfig
from grasp_classifier_ros.core.errors import DeviceError, ModelLoadError
from grasp_classifier_ros.core.metadata import METADATA_FILE
from grasp_classifier_ros.core.model import file_sha256, load_model
from grasp_classifier_ros.core.params import Params, validate_all
from grasp_classifier_ros.core.pipeline import NewestFrameWorker, Pipeline
from grasp_classifier_ros.core.stats import assess
from model_factory import (
    brightness_metadata,
    BrightnessModel,
    ConstantModel,
    flat_probability,
    write_model,
)
from msg_factory import make_image
import numpy as np
import pytest
import torch
from torch import nn

S = 1_000_000_000
MS = 1_000_000
NAN_ERROR = 'model output is NaN/inf; frame skipped (check the model file)'
CFG = DecisionConfig(threshold=0.5, hysteresis=0.05, smoothing='ema', window=3, max_frame_age=0.5)


class FlakyModel(nn.Module):
    """Brightness logits, except NaN for very bright frames and +inf for bright ones."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x.float().mean(dim=(1, 2, 3))
        logit = 10.0 * (m - 0.5)
        logit = torch.where(m > 0.95, torch.full_like(logit, float('nan')), logit)
        logit = torch.where((m > 0.85) & (m <= 0.95), torch.full_like(logit, float('inf')), logit)
        return torch.stack([torch.zeros_like(logit), logit], dim=1)


GOOD, BAD = 200, 30  # confident success / failure
NAN, INF = 250, 230  # FlakyModel outputs NaN / +inf


def image(grey: int, stamp_ns: int) -> object:
    return make_image(np.full((16, 16, 3), grey, np.uint8), 'bgr8', stamp_ns=stamp_ns)


@pytest.fixture(scope='module')
def flaky(tmp_path_factory):
    path = write_model(
        tmp_path_factory.mktemp('m') / 'flaky.pt', FlakyModel(), brightness_metadata(16)
    )
    return load_model(path, device='cpu', warmup_runs=0)  # zeros in: finite out, so it loads


@pytest.fixture(scope='module')
def good(tmp_path_factory):
    path = tmp_path_factory.mktemp('m') / 'good.pt'
    return load_model(write_model(path, meta=brightness_metadata(16)), device='cpu', warmup_runs=0)


class FakeClock:
    def __init__(self, ns: int) -> None:
        self.ns = ns

    def __call__(self) -> int:
        return self.ns


def feed(pl: Pipeline, clock: FakeClock, frames: list[tuple[int, int]]) -> list:
    """Submit (grey, stamp) frames one by one through the realtime worker, 1 ms after capture."""
    results: list = []
    worker = NewestFrameWorker(pl, results.append, clock_ns=clock).start()
    try:
        for grey, stamp in frames:
            clock.ns = stamp + MS
            worker.submit(image(grey, stamp))
            assert worker.wait_idle(10.0)
    finally:
        worker.stop()
    return results


# --- NaN / inf model output at run time ---------------------------------------------------


def test_nonfinite_frames_are_skipped_counted_and_do_not_touch_the_decider(flaky):
    t = [100 * S + i * 33 * MS for i in range(7)]
    seq = [(GOOD, t[0]), (NAN, t[1]), (INF, t[2]), (BAD, t[3]), (NAN, t[4]), (GOOD, t[5])]
    pl = Pipeline(flaky, decision=CFG)
    check = pl.check.request(k=5, timeout_s=0.01, now_ns=t[0], threshold=0.5)
    clock = FakeClock(t[0])
    results = feed(pl, clock, seq)
    assert [r.status for r in results] == ['ok', 'nonfinite', 'nonfinite', 'ok', 'nonfinite', 'ok']
    for r in results:
        if r.status == 'nonfinite':
            assert r.decision is None and r.success is False and r.success_probability is None
            assert r.error == NAN_ERROR and np.isnan(r.probabilities).any()
    snap = pl.stats.snapshot(clock.ns)
    assert snap['counts'] == {'ok': 3, 'nonfinite': 3}
    assert assess(snap, 1.0) == ('WARN', '50% of recent frames rejected (3 nonfinite)')
    # The verdicts are exactly those of the ok frames alone: skipped frames left no trace.
    ref = Pipeline(flaky, decision=CFG)
    alone = [ref.process(image(g, s), now_ns=s + MS) for g, s in seq if g in (GOOD, BAD)]
    assert [r.decision for r in results if r.status == 'ok'] == [r.decision for r in alone]
    # EMA (alpha 0.5) over the ok frames only; NaN frames would have dragged it to NaN.
    e1 = flat_probability(GOOD)
    e2 = 0.5 * flat_probability(BAD) + 0.5 * e1
    e3 = 0.5 * flat_probability(GOOD) + 0.5 * e2
    assert [r.decision.smoothed for r in alone] == pytest.approx([e1, e2, e3], abs=1e-5)
    out = check.outcome()
    assert (out.success, out.frames_used) == (False, 3)
    assert out.message == (
        'no verdict: timeout: only 3 of 5 fresh frames within 0.01 s (3 nonfinite frames ignored)'
    )


def test_nonfinite_frames_do_not_advance_the_last_stamp(flaky):
    pl = Pipeline(flaky, decision=CFG)
    assert pl.process(image(GOOD, 100 * S), now_ns=100 * S).status == 'ok'
    assert (
        pl.process(image(NAN, 100 * S + 20 * MS), now_ns=100 * S + 20 * MS).status == 'nonfinite'
    )
    # Older than the NaN frame but newer than the last verdict: accepted, not out_of_order.
    late = pl.process(image(GOOD, 100 * S + 10 * MS), now_ns=100 * S + 21 * MS)
    assert late.status == 'ok' and late.success


def test_a_model_that_always_outputs_nan_is_an_error_in_diagnostics(flaky):
    pl = Pipeline(flaky, decision=CFG)
    clock = FakeClock(0)
    results = feed(pl, clock, [(NAN, 100 * S + i * 33 * MS) for i in range(5)])
    assert [r.status for r in results] == ['nonfinite'] * 5
    assert not any(r.success for r in results)
    assert assess(pl.stats.snapshot(clock.ns), 1.0) == (
        'ERROR',
        'no verdict from any of the last 5 frames (5 nonfinite)',
    )


@pytest.mark.parametrize(
    ('row', 'kind', 'status', 'p'),
    [
        ([float('nan'), 0.0], 'logits', 'nonfinite', None),
        ([0.0, float('inf')], 'logits', 'nonfinite', None),  # softmax of inf is NaN
        ([float('-inf'), float('-inf')], 'logits', 'nonfinite', None),
        ([0.5, float('inf')], 'probabilities', 'nonfinite', None),
        ([0.5, float('nan')], 'probabilities', 'nonfinite', None),
        # Only non-finite *probabilities* are faults: a -inf failure logit is a well-defined
        # certain success (softmax gives exactly 1), as the same logit in float32 would be.
        ([float('-inf'), 0.0], 'logits', 'ok', 1.0),
        ([0.0, float('-inf')], 'logits', 'ok', 0.0),
    ],
)
def test_which_outputs_count_as_nonfinite(tmp_path, row, kind, status, p):
    meta = brightness_metadata(16, output_kind=kind)
    model = load_model(write_model(tmp_path / 'c.pt', ConstantModel(row), meta), device='cpu')
    r = Pipeline(model, decision=CFG).process(image(GOOD, S), now_ns=S)
    assert r.status == status and r.success_probability == p
    assert r.success is (p == 1.0)


# --- CUDA requested but absent ------------------------------------------------------------


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 0)


@pytest.mark.parametrize('device', ['cuda', 'cuda:0', 'cuda:3'])
def test_from_params_cuda_absent_without_fallback_refuses_to_start(tmp_path, no_cuda, device):
    path = str(write_model(tmp_path / 'm.pt', meta=brightness_metadata(16)))
    with pytest.raises(DeviceError) as err:
        build_pipeline(
            validate_all({'model_path': path, 'device': device, 'cuda_fallback': False})
        )
    assert str(err.value) == (
        f"device='{device}' requested but CUDA is not available; "
        'set device:=cpu or cuda_fallback:=true'
    )


@pytest.mark.parametrize('device', ['cuda', 'cuda:3'])
def test_from_params_cuda_absent_with_fallback_serves_on_cpu(tmp_path, no_cuda, device):
    path = str(write_model(tmp_path / 'm.pt', meta=brightness_metadata(16)))
    with pytest.warns(UserWarning, match=f"device='{device}' requested but CUDA is not avail"):
        pl = build_pipeline(
            validate_all({'model_path': path, 'device': device, 'cuda_fallback': True})
        )
    assert pl.model.device == torch.device('cpu') and pl.model.dtype == torch.float32
    assert pl.process(image(GOOD, S), now_ns=S).success


# --- camera faults and diagnostics --------------------------------------------------------


def test_camera_stops_error_once_camera_timeout_passes(good):
    pl = Pipeline(good, decision=CFG)
    assert assess(pl.stats.snapshot(0), 1.0) == (
        'ERROR',
        'no frames received yet: is the camera publishing on image_topic?',
    )
    clock = FakeClock(0)
    feed(pl, clock, [(GOOD, 100 * S + i * 33 * MS) for i in range(5)])
    last = clock.ns
    assert assess(pl.stats.snapshot(last + 250 * MS), 0.25) == ('OK', 'classifying')  # == timeout
    assert assess(pl.stats.snapshot(last + 250 * MS + 1), 0.25) == (
        'ERROR',
        'camera stopped: no frame for 0.25 s (camera_timeout=0.25 s)',
    )
    assert assess(pl.stats.snapshot(last + 3 * S), 1.0) == (
        'ERROR',
        'camera stopped: no frame for 3.00 s (camera_timeout=1.0 s)',
    )


@pytest.mark.parametrize(('lag_ns', 'status'), [(2 * S, 'stale'), (-2 * S, 'future')])
def test_stamps_go_stale_warn_then_error_never_a_verdict(good, lag_ns, status):
    pl = Pipeline(good, decision=CFG)
    clock = FakeClock(0)
    t = [100 * S + i * 33 * MS for i in range(40)]
    feed(pl, clock, [(GOOD, s) for s in t[:10]])  # recent window: the last 30 statuses
    results: list = []
    lagging = NewestFrameWorker(pl, results.append, clock_ns=clock).start()
    try:
        for i, s in enumerate(t[10:], start=1):
            clock.ns = s + MS
            lagging.submit(image(GOOD, s - lag_ns))  # the camera clock drifted by lag_ns
            assert lagging.wait_idle(10.0)
            level, message = assess(pl.stats.snapshot(clock.ns), 1.0)
            if i < 30:
                assert (level, message) == (
                    'WARN',
                    f'{i / min(30, 10 + i):.0%} of recent frames stale',
                )
            else:
                assert (level, message) == (
                    'ERROR',
                    'all recent frames are stale or future-stamped: no verdicts are published',
                )
    finally:
        lagging.stop()
    assert [r.status for r in results] == [status] * 30
    assert not any(r.success or r.decision for r in results)


def test_frozen_stamp_stream_is_an_error_once_no_recent_frame_is_classified(good):
    pl = Pipeline(good, decision=CFG)
    clock = FakeClock(0)
    results = feed(pl, clock, [(GOOD, 100 * S)] * 31)  # driver keeps republishing one stamp
    assert [r.status for r in results] == ['ok'] + ['out_of_order'] * 30
    assert assess(pl.stats.snapshot(clock.ns), 1.0) == (
        'ERROR',
        'no verdict from any of the last 30 frames (30 out_of_order)',
    )


# --- ~/check while the camera is stale, stopped or in the future --------------------------


def run_check_while(pl: Pipeline, camera_lag_ns: int | None, timeout_s: float) -> tuple:
    """
    Answer a ~/check on another thread while a 200 Hz camera feeds stamps lagging by ``lag``.

    ``camera_lag_ns=None`` means the camera is stopped. Returns (outcome, seconds taken).
    """
    worker = NewestFrameWorker(pl, lambda r: None, clock_ns=time.time_ns).start()
    stop = threading.Event()

    def camera() -> None:
        while not stop.is_set():
            worker.submit(image(GOOD, time.time_ns() - camera_lag_ns))
            stop.wait(0.005)

    cam = threading.Thread(target=camera, daemon=True)
    if camera_lag_ns is not None:
        cam.start()
    answer: dict = {}

    def call() -> None:
        t0 = time.monotonic()
        answer['out'] = pl.check.run_check(3, timeout_s, time.time_ns, pl.threshold)
        answer['s'] = time.monotonic() - t0

    caller = threading.Thread(target=call, daemon=True)
    try:
        caller.start()
        caller.join(timeout_s + 10.0)  # a generous ceiling: it must come back at all
        assert not caller.is_alive(), '~/check did not return'
    finally:
        stop.set()
        if cam.is_alive():
            cam.join(5.0)
        worker.stop()
    return answer['out'], answer['s']


@pytest.mark.parametrize('lag_ns', [2 * S, None], ids=['stale', 'stopped'])
def test_check_answers_no_verdict_when_the_camera_is_stale_or_stopped(good, lag_ns):
    pl = Pipeline(good, decision=CFG)
    out, _ = run_check_while(pl, lag_ns, 0.3)
    assert (out.success, out.frames_used, out.mean_probability) == (False, 0, None)
    if lag_ns is None:
        assert out.message == 'no verdict: no fresh frames within 0.3 s'
    else:  # the stale frames were captured before the call, 1 to 2.x s before it (load)
        assert re.fullmatch(
            r'no verdict: no fresh frames within 0\.3 s \(\d+ frames captured before the call '
            r'ignored, the newest [12]\.\d+ s before it: are the camera and the node on '
            r'different clocks\? \(use_sim_time:=true with ros2 bag play --clock\)\)',
            out.message,
        ), out.message
    assert pl.check.pending == 0
    if lag_ns is not None:
        assert pl.stats.counts['stale'] > 0 and pl.stats.counts['ok'] == 0


def test_check_answers_no_verdict_when_stamps_are_in_the_future(good):
    pl = Pipeline(good, decision=CFG)
    out, _ = run_check_while(pl, -2 * S, 0.3)
    assert (out.success, out.frames_used) == (False, 0)
    assert re.fullmatch(
        r'no verdict: no fresh frames within 0\.3 s \(\d+ future frames ignored\)', out.message
    )


# --- hot reload failures keep the old model serving --------------------------------------


def _rewrite_metadata(src: Path, dst: Path, text: str | bytes) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w') as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.endswith('/extra/' + METADATA_FILE):
                data = text if isinstance(text, bytes) else text.encode()
            zout.writestr(item, data)
    return dst


class VectorOut(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float().mean(dim=(0, 2, 3))[:2]  # (2,) instead of (1, 2)


class ScalarOut(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float().mean()


class ExtraDim(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros([x.shape[0], 2, 1])


def _bad_models(tmp: Path, good_path: Path) -> dict[str, tuple[Path, str, str]]:
    """Name -> (file, expected_sha256 to pass, regex the ModelLoadError message must match)."""
    meta = brightness_metadata(16)
    wrong = _rewrite_metadata(good_path, tmp / 'wrong_meta.pt', json.dumps({'schema_version': 1}))
    dd = meta.to_dict()
    dd['threshold'] = 7
    return {
        'metadata not JSON': (
            _rewrite_metadata(good_path, tmp / 'not_json.pt', '{"input_height": 16,'),
            '',
            'metadata is not valid JSON',
        ),
        'metadata incomplete': (wrong, '', "metadata field 'input_height' is missing"),
        'metadata out of range': (
            _rewrite_metadata(good_path, tmp / 'thr.pt', json.dumps(dd)),
            '',
            "metadata field 'threshold'=7 is invalid: must be in 0..1",
        ),
        'metadata binary junk': (
            _rewrite_metadata(good_path, tmp / 'junk_meta.pt', b'\xff\xfe\x00\xd8garbage'),
            '',
            'metadata is not valid JSON',
        ),
        'sha mismatch': (good_path, 'f' * 64, f'sha256 {file_sha256(good_path)} does not match'),
        'output (1, 3)': (
            write_model(tmp / 'three.pt', BrightnessModel(num_classes=3), meta),
            '',
            r'output shape \(1, 3\) does not match metadata \(expected \(1, 2\)',
        ),
        'output (2,)': (
            write_model(tmp / 'vec.pt', VectorOut(), meta),
            '',
            r'output shape \(2,\) does not match metadata',
        ),
        'output scalar': (
            write_model(tmp / 'scalar.pt', ScalarOut(), meta),
            '',
            r'output shape \(\) does not match metadata',
        ),
        'output (1, 2, 1)': (
            write_model(tmp / 'extra.pt', ExtraDim(), meta),
            '',
            r'output shape \(1, 2, 1\) does not match metadata',
        ),
        'empty file': (_touch(tmp / 'empty.pt'), '', 'not a TorchScript archive'),
        'a directory': (tmp, '', 'file does not exist'),
        'NUL in path': (Path(str(tmp / 'm') + '\x00.pt'), '', 'file does not exist'),
    }


def _touch(p: Path) -> Path:
    p.write_bytes(b'')
    return p


def reload_params(path: Path, sha: str = '') -> Params:
    """Return the node's parameters after a model_path (+ model_sha256) change."""
    return validate_all(
        {'model_path': str(path), 'model_sha256': sha, 'device': 'cpu', 'warmup_runs': 0}
    )


def test_every_failed_hot_reload_keeps_the_old_model_and_its_state(tmp_path, good):
    good_path = write_model(tmp_path / 'good.pt', meta=brightness_metadata(16, threshold=0.4))
    cases = _bad_models(tmp_path, good_path)
    pl = Pipeline(good, decision=CFG)
    ref = Pipeline(good, decision=CFG)  # never asked to reload
    t = 100 * S
    for i, (name, (path, sha, message)) in enumerate(cases.items()):
        for p in (pl, ref):
            p.process(image(GOOD if i % 2 else BAD, t), now_ns=t)
        with pytest.raises(ModelLoadError, match=message):
            reload_model(pl, reload_params(path, sha))
        assert pl.model is good and pl.threshold == good.metadata.threshold, name
        t += 33 * MS
        got, want = (p.process(image(140, t), now_ns=t) for p in (pl, ref))
        assert got.status == 'ok' and got.decision == want.decision, name
        t += 33 * MS
    assert len(cases) == 12
    assert reload_model(pl, reload_params(good_path)).metadata.threshold == 0.4
    assert pl.threshold == 0.4
