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
"""The shared pipeline and newest-frame worker, with real ROS 2 message classes."""

from __future__ import annotations

import threading
import time

from grasp_classifier_ros.core.configure import (
    apply_params,
    build_pipeline,
    decision_config,
    reload_model,
)
from grasp_classifier_ros.core.decision import DecisionConfig, Verdict
from grasp_classifier_ros.core.interfaces import input_kind
from grasp_classifier_ros.core.model import load_model
from grasp_classifier_ros.core.params import Params, validate_all
from grasp_classifier_ros.core.pipeline import NewestFrameWorker, Pipeline
from grasp_classifier_ros.core.preprocess import crop_resize, normalize_batch, Preprocessor
from grasp_classifier_ros.core.stamps import stamp_to_ns
from grasp_classifier_ros.core.stats import assess
from model_factory import (
    brightness_metadata,
    BrightnessModel,
    ConstantModel,
    flat_probability,
    write_model,
)
from msg_factory import make_compressed, make_image
import numpy as np
import pytest
import torch

S = 1_000_000_000
MS = 1_000_000


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    return load_model(write_model(tmp_path_factory.mktemp('m') / 'm.pt'), device='cpu')


def flat(value: int, h: int = 48, w: int = 64) -> np.ndarray:
    return np.full((h, w, 3), value, np.uint8)


def cfg(**kw) -> DecisionConfig:
    base = {
        'threshold': 0.5,
        'hysteresis': 0.0,
        'smoothing': 'none',
        'window': 1,
        'max_frame_age': 0.5,
    }
    base.update(kw)
    return DecisionConfig(**base)


def params(**kw) -> Params:
    """Node parameters asking for ``cfg(**kw)``'s rules (threshold: the model's unless given)."""
    base = {'hysteresis': 0.0, 'smoothing': 'none', 'window': 1, 'device': 'cpu'}
    return validate_all({**base, **kw})


def test_probability_matches_closed_form_for_every_transport(model):
    for value in (40, 128, 200):
        for compressed in (False, True):
            pl = Pipeline(model, decision=cfg(), input_kind=input_kind(compressed))
            msg = (
                make_compressed(flat(value), fmt='png', stamp_ns=S)
                if compressed
                else make_image(flat(value), 'bgr8', stamp_ns=S)
            )
            r = pl.process(msg, now_ns=S + MS)
            assert r.status == 'ok'
            assert r.success_probability == pytest.approx(flat_probability(value), abs=1e-5)
            assert r.success == (flat_probability(value) >= 0.5)
            assert r.header is msg.header
            assert r.stamp_ns == S
            assert set(r.timings_ms) == {
                'decode',
                'preprocess',
                'inference',
                'decision',
                'familiarity',
                'total',
            }


def test_stale_frame_never_yields_a_verdict_and_skips_inference(model, monkeypatch):
    pl = Pipeline(model, decision=cfg(max_frame_age=0.5))
    calls = []
    monkeypatch.setattr(pl.model, 'classify', lambda x: calls.append(1))
    r = pl.process(make_image(flat(250), 'bgr8', stamp_ns=S), now_ns=S + 600 * MS)
    assert r.status == 'stale' and r.decision is None and not r.success
    assert 'max_frame_age=0.5' in r.error
    assert calls == []
    assert pl.stats.counts['stale'] == 1


def test_bad_image_is_a_per_frame_fault(model):
    pl = Pipeline(model, decision=cfg())
    msg = make_image(flat(100), 'bgr8', stamp_ns=S)
    msg.encoding = 'weird16'
    r = pl.process(msg, now_ns=S)
    assert r.status == 'bad_image' and r.decision is None
    assert "encoding='weird16'" in r.error
    ok = pl.process(make_image(flat(100), 'bgr8', stamp_ns=S + MS), now_ns=S + MS)
    assert ok.status == 'ok'


def test_nonfinite_output_skipped_and_counted(tmp_path):
    meta = brightness_metadata(16)
    nan_model = load_model(
        write_model(tmp_path / 'nan.pt', ConstantModel([0.0, 0.0]), meta), device='cpu'
    )
    pl = Pipeline(nan_model, decision=cfg())
    pl.model.runner.module = torch.jit.script(ConstantModel([float('nan'), 0.0]))
    r = pl.process(make_image(flat(100), 'bgr8', stamp_ns=S), now_ns=S)
    assert r.status == 'nonfinite' and r.decision is None and not r.success
    assert pl.stats.counts == {'nonfinite': 1}
    assert assess(pl.stats.snapshot(S), 1.0)[0] == 'ERROR'  # nothing received via worker


def test_unexpected_exception_is_contained(model, monkeypatch):
    pl = Pipeline(model, decision=cfg())

    def boom(x):
        raise RuntimeError('kaboom')

    monkeypatch.setattr(pl.model, 'classify', boom)
    r = pl.process(make_image(flat(100), 'bgr8', stamp_ns=S), now_ns=S)
    assert r.status == 'error' and r.error == 'RuntimeError: kaboom'


def test_message_without_header(model):
    r = Pipeline(model).process(object(), now_ns=S)
    assert r.status == 'bad_image' and r.error == 'message has no header.stamp'


def test_roi_changes_what_the_model_sees(model):
    img = flat(0, 40, 40)
    img[:, 20:] = 255  # right half white
    pl = Pipeline(model, decision=cfg(), roi=(0.5, 0.0, 0.5, 1.0))
    r = pl.process(make_image(img, 'bgr8', stamp_ns=S), now_ns=S)
    assert r.success_probability == pytest.approx(flat_probability(255), abs=1e-5)
    apply_params(pl, params(threshold=0.5, roi=[0.0, 0.0, 0.5, 1.0]))
    r = pl.process(make_image(img, 'bgr8', stamp_ns=S + MS), now_ns=S + MS)
    assert r.success_probability == pytest.approx(flat_probability(0), abs=1e-5)


def test_apply_params_and_model_threshold(model):
    pl = Pipeline(model, decision=cfg(threshold=0.5))
    apply_params(pl, params(threshold=0.8, hysteresis=0.1, smoothing='vote', window=4))
    assert pl.decider.config == cfg(threshold=0.8, hysteresis=0.1, smoothing='vote', window=4)
    apply_params(pl, params(threshold=-1.0))
    assert pl.threshold == model.metadata.threshold


def test_swap_model_uses_new_metadata(tmp_path, model):
    pl = Pipeline(model, decision=cfg())
    other = load_model(
        write_model(tmp_path / 'o.pt', BrightnessModel(), brightness_metadata(24, threshold=0.7)),
        device='cpu',
    )
    pl.swap_model(other, decision_config(params(), other.metadata.threshold))
    assert pl.model is other and pl.threshold == 0.7
    assert pl.preprocessor.meta.input_size == (24, 24)
    r = pl.process(make_image(flat(128), 'bgr8', stamp_ns=S), now_ns=S)
    assert r.status == 'ok'


def test_results_carry_the_class_names_of_the_model_that_scored_them(tmp_path, model):
    pl = Pipeline(model, decision=cfg(max_frame_age=0.0))
    first = pl.process(make_image(flat(200), 'bgr8', stamp_ns=S), now_ns=S)
    renamed = load_model(
        write_model(tmp_path / 'r.pt', meta=brightness_metadata(class_names=('lost', 'held'))),
        device='cpu',
    )
    pl.swap_model(renamed, pl.decision)
    second = pl.process(make_image(flat(200), 'bgr8', stamp_ns=2 * S), now_ns=2 * S)
    assert first.class_names == ('failure', 'success')  # unchanged by the later swap
    assert second.class_names == ('lost', 'held')


def test_worker_stop_from_its_own_callback_does_not_deadlock(model):
    pl = Pipeline(model, decision=cfg(max_frame_age=0.0))
    results = []

    def stop_on_result(result):
        results.append(result)
        worker.stop()  # e.g. the node finds its context shut down

    worker = NewestFrameWorker(pl, stop_on_result, clock_ns=time.time_ns).start()
    worker.submit(make_image(flat(10), 'bgr8', stamp_ns=S))
    assert worker.wait_idle(5.0)
    worker._thread.join(5.0)
    assert not worker._thread.is_alive() and len(results) == 1


def test_from_params_loads_and_validates(tmp_path):
    p = write_model(tmp_path / 'm.pt', meta=brightness_metadata(threshold=0.42))
    pl = build_pipeline(validate_all({'model_path': str(p), 'device': 'cpu', 'window': 5}))
    assert pl.threshold == 0.42 and pl.decider.config.window == 5


def test_preprocess_matches_reference_normalisation():
    meta = brightness_metadata(8, mean=(0.1, 0.2, 0.3), std=(0.5, 0.25, 0.125))
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    got = Preprocessor(meta).to_tensor(small)
    ref = (
        torch.from_numpy(small).permute(2, 0, 1)[None].float() / 255
        - torch.tensor(meta.mean).view(1, 3, 1, 1)
    ) / torch.tensor(meta.std).view(1, 3, 1, 1)
    assert torch.allclose(got, ref, atol=1e-5)
    batch = torch.from_numpy(small).permute(2, 0, 1)[None]
    assert torch.allclose(normalize_batch(batch, meta), ref, atol=1e-5)


def test_crop_resize_reorders_channels():
    meta = brightness_metadata(8)  # rgb
    bgr = np.zeros((16, 16, 3), np.uint8)
    bgr[..., 0] = 255  # blue
    out = crop_resize(bgr, 'bgr', meta)
    assert out.shape == (8, 8, 3) and out.flags.c_contiguous
    assert (out[..., 2] == 255).all() and (out[..., 0] == 0).all()
    assert (crop_resize(bgr, 'rgb', meta)[..., 0] == 255).all()


def test_stamp_to_ns():
    msg = make_image(flat(1), 'bgr8', stamp_ns=12 * S + 345)
    assert stamp_to_ns(msg.header.stamp) == 12 * S + 345


class SlowModel:
    """Wraps a model's classify with a delay to force frame drops."""

    def __init__(self, predict) -> None:
        self.inner_predict = predict
        self.started = threading.Event()
        self.release = threading.Event()

    def predict(self, x):
        self.started.set()
        self.release.wait(5.0)
        return self.inner_predict(x)


def test_worker_keeps_only_the_newest_frame(model, monkeypatch):
    pl = Pipeline(model, decision=cfg(max_frame_age=0.0))
    slow = SlowModel(pl.model.classify)
    monkeypatch.setattr(pl.model, 'classify', slow.predict)
    results = []
    worker = NewestFrameWorker(pl, results.append, clock_ns=lambda: 10 * S).start()
    try:
        assert worker.submit(make_image(flat(10), 'bgr8', stamp_ns=1 * S), 1) is False
        assert slow.started.wait(5.0)  # frame 1 is in inference now
        assert worker.submit(make_image(flat(20), 'bgr8', stamp_ns=2 * S), 2) is False
        assert worker.submit(make_image(flat(30), 'bgr8', stamp_ns=3 * S), 3) is True
        assert worker.submit(make_image(flat(40), 'bgr8', stamp_ns=4 * S), 4) is True
        slow.release.set()
        assert worker.wait_idle(5.0)
    finally:
        worker.stop()
    assert [r.stamp_ns for r in results] == [1 * S, 4 * S]
    assert (worker.submitted, worker.dropped, worker.processed) == (4, 2, 2)
    assert pl.stats.dropped == 2 and pl.stats.received == 4


def test_worker_survives_callback_errors(model):
    pl = Pipeline(model, decision=cfg(max_frame_age=0.0))

    def bad_callback(result):
        raise ValueError('publisher gone')

    worker = NewestFrameWorker(pl, bad_callback, clock_ns=time.time_ns).start()
    try:
        worker.submit(make_image(flat(10), 'bgr8', stamp_ns=S))
        assert worker.wait_idle(5.0)
        worker.submit(make_image(flat(10), 'bgr8', stamp_ns=2 * S))
        assert worker.wait_idle(5.0)
    finally:
        worker.stop()
    assert worker.processed == 2 and worker.callback_errors == 2


def test_check_service_logic_through_the_pipeline(model):
    pl = Pipeline(model, decision=cfg(threshold=0.5))
    req = pl.check.request(k=2, timeout_s=1.0, now_ns=5 * S, threshold=pl.threshold)
    pl.process(make_image(flat(250), 'bgr8', stamp_ns=4 * S), now_ns=5 * S - MS)  # before call
    pl.process(make_image(flat(250), 'bgr8', stamp_ns=5 * S + MS), now_ns=5 * S + 2 * MS)
    pl.process(make_image(flat(240), 'bgr8', stamp_ns=5 * S + 2 * MS), now_ns=5 * S + 3 * MS)
    out = req.outcome()
    mean = (flat_probability(250) + flat_probability(240)) / 2
    assert out.success and out.frames_used == 2
    assert out.mean_probability == pytest.approx(mean, abs=1e-5)


def test_health_assessment():
    from grasp_classifier_ros.core.stats import StreamStats

    st = StreamStats()
    assert assess(st.snapshot(S), 1.0)[0] == 'ERROR'
    st.record_input(S)
    st.record_result('ok', 1.0, 0.01)
    assert assess(st.snapshot(S + 100 * MS), 1.0) == ('OK', 'classifying')
    level, msg = assess(st.snapshot(S + 2 * S), 1.0)
    assert level == 'ERROR' and msg.startswith('camera stopped: no frame for 2.00 s')
    st.record_result('stale', None, 2.0)
    assert assess(st.snapshot(S + 100 * MS), 1.0) == ('WARN', '50% of recent frames stale')
    st.record_result('bad_image', None, None)
    assert assess(st.snapshot(S), 1.0)[0] == 'WARN'
    for _ in range(30):
        st.record_result('stale', None, 2.0)
    assert assess(st.snapshot(S), 1.0)[0] == 'ERROR'
    assert st.snapshot(S)['latency_ms_p50'] == 1.0


def test_verdict_enum_values_are_stable():
    assert [v.value for v in Verdict] == ['success', 'failure', 'uncertain', 'stale', 'no_data']


def test_hot_reload_failure_keeps_the_old_model_serving(tmp_path):
    from grasp_classifier_ros.core.errors import ModelLoadError

    good = load_model(write_model(tmp_path / 'good.pt'), device='cpu')
    pl = Pipeline(good, decision=cfg())
    broken = tmp_path / 'broken.pt'
    broken.write_bytes(b'PK\x03\x04 truncated')
    with pytest.raises(ModelLoadError, match='broken.pt'):
        reload_model(pl, params(model_path=str(broken)))
    assert pl.model is good
    r = pl.process(make_image(flat(200), 'bgr8', stamp_ns=S), now_ns=S)
    assert r.status == 'ok'
    assert r.success_probability == pytest.approx(flat_probability(200), abs=1e-5)
    new = reload_model(
        pl,
        params(
            model_path=str(
                write_model(tmp_path / 'new.pt', meta=brightness_metadata(threshold=0.9))
            )
        ),
    )
    assert pl.model is new and pl.threshold == 0.9


def test_facade_answers_what_the_node_asks(model):
    pl = Pipeline(model, decision=cfg(threshold=0.5), roi=(0.25, 0.0, 0.5, 1.0))
    assert pl.roi == (0.25, 0.0, 0.5, 1.0) and pl.decision == cfg(threshold=0.5)
    assert pl.previews is False
    assert pl.process(make_image(flat(250), 'bgr8', stamp_ns=S), now_ns=S).preview is None
    pl.keep_previews(True)
    rgb = make_image(flat(250)[..., ::-1].copy(), 'rgb8', stamp_ns=S + MS)
    np.testing.assert_array_equal(pl.process(rgb, now_ns=S + MS).preview, flat(250))  # BGR
    answer = {}

    def clock() -> int:
        return 2 * S

    asking = threading.Thread(target=lambda: answer.update(out=pl.run_check(1, 5.0, clock)))
    asking.start()
    while pl.check.pending == 0:
        time.sleep(0.001)
    pl.process(make_image(flat(250), 'bgr8', stamp_ns=2 * S + MS), now_ns=2 * S + MS)
    asking.join()
    assert answer['out'].success and '(threshold 0.500)' in answer['out'].message
    assert pl.snapshot(2 * S)['processed'] == 3
