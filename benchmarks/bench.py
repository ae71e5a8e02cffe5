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
Latency, throughput and real-time replay of the product pipeline vs the notebook baseline.

``python benchmarks/bench.py --out bench.json`` (``make bench``) times
``Pipeline.process`` -- the node's own path, with its per-stage timings -- on
640x480 and 1280x720 frames as raw ``bgr8`` Images and JPEG CompressedImages,
on CPU (and CUDA when present); runs the original notebook pipeline on the same
frames; replays frames through ``NewestFrameWorker`` at 30/60/120 Hz; measures what
self-labelled capture costs the verdict (``capture_cost.py``); prints
one table and writes everything, with the machine description and the
real-time targets, to a JSON file. The ``familiarity`` stage is the out-of-depth
monitor (``core.familiarity``), on with the model's reference statistics (or, for a
model without them, statistics fitted on rendered frames: the cost is the same).
"""

from __future__ import annotations

import argparse
from collections import Counter
import json
import math
from pathlib import Path
import sys
import tempfile
import threading
import time
from typing import Any

import capture_cost
import frames as bench_frames
from grasp_classifier_ros.core import int8_backend, onnx_backend
from grasp_classifier_ros.core.decision import DecisionConfig
from grasp_classifier_ros.core.interfaces import COMPRESSED_TYPE, IMAGE_TYPES, input_kind
from grasp_classifier_ros.core.metadata import ModelMetadata
from grasp_classifier_ros.core.metrics import latency_summary
from grasp_classifier_ros.core.model import load_model, LoadedModel, save_model
from grasp_classifier_ros.core.params import SPECS
from grasp_classifier_ros.core.paths import default_model_path
from grasp_classifier_ros.core.pipeline import FrameResult, NewestFrameWorker, Pipeline
import machine
import numpy as np
import torch

STAGES = ('decode', 'preprocess', 'inference', 'decision', 'familiarity', 'total')
SIZES = ((480, 640), (720, 1280))
TRANSPORTS = ('bgr8', 'jpeg')
NO_FUSION = 'torchscript-nofusion'  # bench-only configuration: fusion off
WARMUP_S = 0.5
DEMO_BAG = Path(__file__).resolve().parent.parent / 'data' / 'demo' / 'grasp_demo'
# Issue 20's node-path targets (640x480 bgr8, 1 thread); JPEG and replay as before.
TARGETS = {
    'total_p50_ms': 1.2,
    'total_p99_ms': 2.0,
    'jpeg_total_p50_ms': 5.0,
    'speedup_vs_notebook': 110.0,
    'replay_60hz_e2e_p99_ms': 10.0,
    'familiarity_p50_ms': 0.1,  # issue 19: the out-of-depth monitor's per-frame cost
}
INT8 = int8_backend.NAME


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', type=Path, default=Path('bench.json'), help='JSON report path')
    p.add_argument('--model', type=Path, help='model .pt (default: the shipped model)')
    p.add_argument('--frames', type=int, default=500, help='timed frames per case')
    p.add_argument('--warmup', type=int, default=50, help='untimed frames per case first')
    p.add_argument(
        '--baseline-frames', type=int, default=30, help='notebook-baseline frames (0: skip)'
    )
    p.add_argument(
        '--threads',
        type=int,
        default=None,
        help="torch threads of the node-default config (default: the node's num_threads; "
        '0 = all cores)',
    )
    p.add_argument(
        '--sweep-threads',
        default='1,0',
        help='thread counts tried for every CPU backend (0 = all cores)',
    )
    p.add_argument(
        '--backends',
        default=f'torchscript,{NO_FUSION},onnxruntime,{INT8}',
        help=f'CPU backends to sweep ({NO_FUSION}: TorchScript without oneDNN fusion, to weigh '
        f'it; onnxruntime is skipped when not installed, {INT8} also when the model carries '
        'no int8 variant)',
    )
    p.add_argument(
        '--case-seconds',
        type=float,
        default=30.0,
        help='stop a case early after this many timed seconds (heavily loaded machines)',
    )
    p.add_argument('--devices', default='auto', help='cpu, cuda or auto (cpu, plus cuda if any)')
    p.add_argument('--replay-rates', default='30,60,120', help='replay rates in Hz ("" to skip)')
    p.add_argument('--replay-seconds', type=float, default=5.0, help='seconds per replay rate')
    p.add_argument('--bag', type=Path, default=DEMO_BAG, help='bag replayed in real time')
    p.add_argument(
        '--capture-seconds',
        type=float,
        default=8.0,
        help='seconds of 30 Hz frames per arm (capture off / on) for the capture cost; 0 skips',
    )
    return p.parse_args(argv)


# -- model ---------------------------------------------------------------------------------------


def resolve_model(arg: Path | None, tmp: Path) -> tuple[Path, str]:
    """Return the model file to benchmark and a sentence saying where it came from."""
    if arg is not None:
        return arg, f'given: {arg}'
    shipped = default_model_path()
    if shipped.is_file():
        return shipped, f'shipped model {shipped}'
    path, name, size = export_random_default(tmp / 'grasp_classifier.pt')
    return path, (
        f'no shipped model at {shipped}: exported the training default {name} '
        f'({size[0]}x{size[1]}) with RANDOM weights (timing only)'
    )


def export_random_default(path: Path) -> tuple[Path, str, tuple[int, int]]:
    """Export the training package's default architecture, randomly initialised."""
    from grasp_classifier_training.config import load_config
    from grasp_classifier_training.models import build_model, ModelConfig

    cfg = load_config()['model']
    mcfg = ModelConfig(
        name=cfg['name'],
        input_size=(int(cfg['input_size'][0]), int(cfg['input_size'][1])),
        width=float(cfg.get('width', 1.0)),
        dropout=float(cfg.get('dropout', 0.0)),
    )
    torch.manual_seed(0)
    model = build_model(mcfg).eval()
    meta = ModelMetadata(
        input_height=mcfg.input_size[0],
        input_width=mcfg.input_size[1],
        class_names=('failure', 'success'),
        success_index=1,
        architecture=mcfg.name,
        trained=False,
        provenance={'note': 'random weights exported by benchmarks/bench.py for timing only'},
    )
    try:
        from grasp_classifier_training.export import to_torchscript

        scripted = to_torchscript(model, meta)
    except ImportError:
        scripted = torch.jit.freeze(torch.jit.script(model))
    save_model(scripted, meta, path)
    return path, mcfg.name, mcfg.input_size


def with_familiarity(model: LoadedModel) -> str:
    """
    Give ``model`` reference statistics for the out-of-depth monitor if it has none.

    The monitor's cost does not depend on what the statistics say: a model without them
    gets ones fitted on rendered gripper frames, so the cases time the node with its monitor
    on (as it runs with a model exported with ``--familiarity``). Returns which.
    """
    if model.familiarity is not None:
        return "the model's own reference statistics"
    from grasp_classifier_ros.bag.synth import render_episode
    from grasp_classifier_ros.core.familiarity import fit_record_from_images
    from grasp_classifier_ros.core.preprocess import crop_resize

    rng = np.random.default_rng(0)
    rgb = model.metadata.with_updates(color_order='rgb')
    runs = [render_episode(rng, i % 2 == 0, 8, size=128) for i in range(12)]
    inputs = [crop_resize(f, 'rgb', rgb) for run in runs for f in run]
    groups = [str(i) for i, run in enumerate(runs) for _ in run]
    model.familiarity = fit_record_from_images(inputs, groups)  # with the geometry network
    return 'none in the model: fitted on rendered gripper frames (the cost is the same)'


def time_familiarity_state(model: LoadedModel, window: int = 30, rounds: int = 50) -> dict:
    """
    Time the monitor's verdict (``FamiliarityMonitor.state``) as diagnostics call it.

    Once a second, on the diagnostics thread: scoring the thumbnails of the frames that
    arrived since (``window`` here, 1 s at 30 Hz) and the window's medians.
    """
    from grasp_classifier_ros.core.familiarity import FamiliarityMonitor

    monitor = FamiliarityMonitor(model.familiarity, window=window)
    small = np.zeros((*model.metadata.input_size, 3), np.uint8)
    times = []
    for _ in range(rounds):
        for _ in range(window):
            monitor.observe(small)
        t0 = time.perf_counter()
        monitor.state()
        times.append((time.perf_counter() - t0) * 1e3)
    return {'window': window, 'new_frames_per_call': window, **latency_summary(times)}


def node_default_threads() -> int:
    """Return the node's ``num_threads`` default (0 = torch's default, all cores)."""
    return int(SPECS['num_threads'].default)


def apply_threads(n: int) -> int:
    """Set torch's intra-op threads (0 = all usable cores); return the count in effect."""
    torch.set_num_threads(n if n > 0 else machine.usable_cores())
    return torch.get_num_threads()


def load(path: Path, device: str, backend: str = 'torchscript') -> LoadedModel:
    """Load as the node does; ``NO_FUSION`` is TorchScript with oneDNN fusion switched off."""
    return load_model(
        path,
        device=device,
        backend='torchscript' if backend == NO_FUSION else backend,
        onednn_fusion=backend != NO_FUSION,
        fp16=bool(SPECS['fp16'].default),
        warmup_runs=int(SPECS['warmup_runs'].default),
    )


# -- per-frame latency ---------------------------------------------------------------------------


class _SyncedPreprocessor:
    """Wrap a CUDA Preprocessor so its stage time includes the device work (bench only)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __call__(self, img: Any) -> torch.Tensor:
        out = self._inner(img)
        torch.cuda.synchronize()
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def make_messages(images: list[np.ndarray], transport: str) -> list[Any]:
    if transport == 'jpeg':
        return [bench_frames.jpeg_msg(img) for img in images]
    return [bench_frames.image_msg(img) for img in images]


def summarise(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    return {k: {**latency_summary(v), 'min': float(min(v))} for k, v in samples.items() if v}


def timed_report(
    samples: dict[str, list[float]], done: int, frames: int, warmup: int, elapsed: float
) -> dict[str, Any]:
    """Return the fields every timed case reports: counts, latency summary, fps, peak RSS."""
    return {
        'frames': done,
        'frames_requested': frames,
        'truncated': done < frames,
        'warmup': warmup,
        'latency_ms': summarise(samples),
        'fps': done / elapsed if elapsed > 0 else math.nan,
        'peak_rss_mb': machine.peak_rss_mb(),
    }


def run_case(
    model: LoadedModel,
    msgs: list[Any],
    compressed: bool,
    frames: int,
    warmup: int,
    budget_s: float = math.inf,
) -> dict[str, Any]:
    """
    Time ``Pipeline.process`` over ``frames`` messages after ``warmup``; wall-clock stamps.

    Warm-up is ``warmup`` frames and at least ``WARMUP_S`` seconds. Stops early
    (``truncated``) once the timed frames took ``budget_s`` seconds,
    so a machine under heavy load cannot make the run last for ever.
    """
    pipeline = Pipeline(model, input_kind=input_kind(compressed))
    if model.device.type == 'cuda':
        synced = _SyncedPreprocessor(pipeline.preprocessor)
        pipeline.preprocessor = synced  # type: ignore[assignment]
    samples: dict[str, list[float]] = {s: [] for s in STAGES}
    statuses: Counter[str] = Counter()
    # Warm up for `warmup` frames and at least WARMUP_S: CPU clocks and caches settle.
    warm_until = time.perf_counter() + WARMUP_S
    i = 0
    while i < warmup or time.perf_counter() < warm_until:
        now = time.time_ns()
        pipeline.process(bench_frames.restamped(msgs[i % len(msgs)], now), now)
        i += 1
    start = time.perf_counter()
    done = 0
    for i in range(frames):
        now = time.time_ns()
        result = pipeline.process(bench_frames.restamped(msgs[i % len(msgs)], now), now)
        done += 1
        statuses[result.status] += 1
        for stage in STAGES:
            if stage in result.timings_ms:
                samples[stage].append(result.timings_ms[stage])
        if time.perf_counter() - start > budget_s:
            break
    elapsed = time.perf_counter() - start
    return {
        **timed_report(samples, done, frames, warmup, elapsed),
        'statuses': dict(statuses),
        'rss_mb': machine.rss_mb(),
    }


def run_baseline(
    msgs: list[Any], frames: int, warmup: int = 3, budget_s: float = math.inf
) -> dict[str, Any]:
    """Time the notebook pipeline (eager seed_cnn) on the same messages (``budget_s`` as above)."""
    from baseline import NotebookPipeline

    nb = NotebookPipeline()
    samples: dict[str, list[float]] = {s: [] for s in STAGES}
    start = 0.0
    done = 0
    for i in range(warmup + frames):
        if i == warmup:
            start = time.perf_counter()
        _, timings = nb.process(msgs[i % len(msgs)])
        if i < warmup:
            continue
        done += 1
        for stage in STAGES:
            if stage in timings:
                samples[stage].append(timings[stage])
        if time.perf_counter() - start > budget_s:
            break
    return timed_report(samples, done, frames, warmup, time.perf_counter() - start)


# -- real-time replay ----------------------------------------------------------------------------


def replay_messages(bag: Path, limit: int = 300) -> tuple[list[Any], bool, str]:
    """Return image messages from ``bag`` (or synthetic ones), whether compressed, and source."""
    if bag.exists():
        from grasp_classifier_ros.bag.io import BagReader

        with BagReader(bag) as reader:
            topics = reader.topics_of_type(*IMAGE_TYPES)
            if topics:
                topic = topics[0]
                msgs = []
                for m in reader.messages([topic]):
                    msgs.append(m.msg)
                    if len(msgs) >= limit:
                        break
                compressed = reader.topics[topic].msgtype == COMPRESSED_TYPE  # bench: a flag
                if msgs:
                    return msgs, compressed, f'bag {bag} topic {topic} ({len(msgs)} frames)'
    images = bench_frames.procedural_frames(480, 640)
    return make_messages(images, 'bgr8'), False, f'synthetic 640x480 bgr8 (no bag at {bag})'


def output_rate(times_ns: list[int]) -> float:
    """Results per second between the first and the last result."""
    if len(times_ns) < 2 or times_ns[-1] <= times_ns[0]:
        return math.nan
    return (len(times_ns) - 1) / ((times_ns[-1] - times_ns[0]) / 1e9)


def run_replay(
    model: LoadedModel, msgs: list[Any], compressed: bool, rate_hz: float, seconds: float
) -> dict[str, Any]:
    """
    Feed frames at ``rate_hz`` from a thread through a NewestFrameWorker in real time.

    Stamps are wall time at submit and the worker's clock is the wall clock, so
    end-to-end latency is stamp -> verdict callback; it splits into
    ``submit_to_start_ms`` (thread hand-off and wake-up) and ``process_ms``
    (``Pipeline.process``). ``busy_at_arrival`` counts
    frames that arrived while the worker still held the previous one;
    ``backlog_at_end`` is what was still unprocessed one period after the last
    frame (zero when the pipeline keeps up).
    """
    pipeline = Pipeline(model, input_kind=input_kind(compressed), decision=DecisionConfig())
    e2e_ms: list[float] = []
    wait_ms: list[float] = []
    process_ms: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()

    result_ns: list[int] = []

    def on_result(result: FrameResult) -> None:
        done = time.time_ns()
        with lock:
            result_ns.append(done)
            statuses[result.status] += 1
            if result.status == 'ok':
                total = result.timings_ms['total']
                e2e_ms.append((done - result.stamp_ns) / 1e6)
                process_ms.append(total)
                wait_ms.append((result.done_ns - result.receive_ns) / 1e6 - total)

    worker = NewestFrameWorker(pipeline, on_result).start()
    count = max(1, int(round(rate_hz * seconds)))
    period = 1.0 / rate_hz
    busy = 0
    late_ms: list[float] = []

    def feed() -> None:
        nonlocal busy
        t0 = time.perf_counter() + 0.05
        for i in range(count):
            due = t0 + i * period
            while (wait := due - time.perf_counter()) > 0:
                time.sleep(wait)
            late_ms.append((time.perf_counter() - due) * 1e3)
            if worker.submitted - worker.processed - worker.dropped > 0:
                busy += 1
            worker.submit(bench_frames.restamped(msgs[i % len(msgs)], time.time_ns()))

    feeder = threading.Thread(target=feed, name='bench-feeder')
    begin = time.perf_counter()
    feeder.start()
    feeder.join()
    time.sleep(period)
    backlog = worker.submitted - worker.processed - worker.dropped
    worker.wait_idle(5.0)
    elapsed = time.perf_counter() - begin
    worker.stop()
    return {
        'rate_hz': rate_hz,
        'seconds': seconds,
        'submitted': worker.submitted,
        'processed': worker.processed,
        'dropped': worker.dropped,
        'busy_at_arrival': busy,
        'backlog_at_end': backlog,
        'statuses': dict(statuses),
        'output_hz': output_rate(result_ns),
        'wall_s': elapsed,
        'e2e_ms': latency_summary(e2e_ms),
        'submit_to_start_ms': latency_summary(wait_ms),
        'process_ms': latency_summary(process_ms),
        'feeder_lateness_ms': latency_summary(late_ms),
    }


# -- report --------------------------------------------------------------------------------------


def evaluate_targets(report: dict[str, Any], config: str) -> dict[str, Any]:
    """Check the real-time targets against this run's 640x480 CPU cases of ``config``."""
    cases = {c['name']: c for c in report['cases']}
    main = cases.get(f'{config} 640x480 bgr8')
    jpeg = cases.get(f'{config} 640x480 jpeg')
    base = {b['name']: b for b in report['baseline']}.get('640x480 bgr8')
    replay60 = next(
        (r for r in report['replay'] if r['rate_hz'] == 60 and r['config'] == config), None
    )
    out: dict[str, Any] = {}

    def check(name: str, value: float, ok: bool, limit: str) -> None:
        out[name] = {'value': value, 'limit': limit, 'pass': bool(ok)}

    if main:
        lat = main['latency_ms']['total']
        for key, stat in (('total_p50_ms', 'p50'), ('total_p99_ms', 'p99')):
            check(key, lat[stat], lat[stat] <= TARGETS[key], f'<= {TARGETS[key]:g} ms')
    if main and 'familiarity' in main['latency_ms']:
        p50 = main['latency_ms']['familiarity']['p50']
        lim = TARGETS['familiarity_p50_ms']
        check('familiarity_p50_ms', p50, p50 <= lim, f'<= {lim:g} ms')
    if jpeg:
        p50 = jpeg['latency_ms']['total']['p50']
        check('jpeg_total_p50_ms', p50, p50 <= TARGETS['jpeg_total_p50_ms'], '<= 5 ms')
    if main and base:
        ratio = base['latency_ms']['total']['p50'] / main['latency_ms']['total']['p50']
        goal = TARGETS['speedup_vs_notebook']
        check('speedup_vs_notebook', ratio, ratio >= goal, f'>= {goal:g}x')
    if replay60:
        p99 = replay60['e2e_ms']['p99']
        lim = TARGETS['replay_60hz_e2e_p99_ms']
        check('replay_60hz_e2e_p99_ms', p99, p99 <= lim, '<= 10 ms')
        zero = replay60['backlog_at_end'] == 0 and replay60['dropped'] == 0
        check(
            'replay_60hz_zero_backlog',
            replay60['backlog_at_end'] + replay60['dropped'],
            zero,
            '0 backlog + dropped',
        )
    return out


def speedups(report: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Notebook total / ours for every CPU case with a baseline: by p50 and by best frame."""
    base = {b['name']: b['latency_ms']['total'] for b in report['baseline']}
    out = {}
    for c in report['cases']:
        b = base.get(c['case'])
        if b and c['device'] == 'cpu':
            ours = c['latency_ms']['total']
            out[c['name']] = {
                'p50_ratio': b['p50'] / ours['p50'],
                'min_ratio': b['min'] / ours['min'],
            }
    return out


def _pair(stats: dict[str, dict[str, float]], stage: str, digits: int = 2) -> str:
    s = stats.get(stage)
    return f'{s["p50"]:.{digits}f}/{s["p99"]:.{digits}f}' if s else '-'


def table(report: dict[str, Any]) -> str:
    """Render the cases, baseline and replay as one Markdown table."""
    head = (
        '| case | n | decode | preprocess | inference | decision | familiarity | total p50 '
        '| total p95 | total p99 | fps | peak RSS MiB | notes |'
    )
    lines = [head, '|' + '---|' * 13]
    base = {b['name']: b for b in report['baseline']}
    for c in report['cases']:
        lat = c['latency_ms']
        tot = lat['total']
        notes = [f'non-ok {k}: {v}' for k, v in c['statuses'].items() if k != 'ok']
        if c['truncated']:
            notes.append(f'time budget hit after {c["frames"]} frames')
        b = base.get(c['case'])
        if b:
            notes.append(f'{b["latency_ms"]["total"]["p50"] / tot["p50"]:.0f}x notebook')
        lines.append(
            f'| {c["name"]} | {c["frames"]} | {_pair(lat, "decode")} | {_pair(lat, "preprocess")} '
            f'| {_pair(lat, "inference")} | {_pair(lat, "decision")} '
            f'| {_pair(lat, "familiarity", 3)} | {tot["p50"]:.2f} | {tot["p95"]:.2f} '
            f'| {tot["p99"]:.2f} | {c["fps"]:.0f} | {c["peak_rss_mb"]:.0f} '
            f'| {", ".join(notes)} |'
        )
    for b in report['baseline']:
        lat = b['latency_ms']
        tot = lat['total']
        lines.append(
            f'| notebook baseline t={b["threads"]} {b["name"]} | {b["frames"]} '
            f'| {_pair(lat, "decode")} | {_pair(lat, "preprocess")} | {_pair(lat, "inference")} '
            f'| {_pair(lat, "decision")} | - | {tot["p50"]:.1f} | {tot["p95"]:.1f} '
            f'| {tot["p99"]:.1f} '
            f'| {b["fps"]:.1f} | {b["peak_rss_mb"]:.0f} | PIL + torchvision + eager seed_cnn'
            f'{", time budget hit" if b["truncated"] else ""} |'
        )
    for r in report['replay']:
        e2e = r['e2e_ms']
        lines.append(
            f'| {r["config"]} replay {r["rate_hz"]:g} Hz, end-to-end | {r["processed"]} '
            f'| - | - | - | - | - | {e2e["p50"]:.2f} | {e2e["p95"]:.2f} | {e2e["p99"]:.2f} '
            f'| {r["output_hz"]:.1f} | - | dropped {r["dropped"]}, backlog {r["backlog_at_end"]}, '
            f'busy at arrival {r["busy_at_arrival"]} |'
        )
    return '\n'.join(lines)


def int8_note(path: Path) -> str:
    """Return why the int8 backend cannot be measured on ``path``, or ''."""
    if not int8_backend.available():
        return 'onnxruntime not installed'
    try:
        variant = int8_backend.read_variant(path.read_bytes())
    except Exception as exc:  # a broken variant: the load would name it; the bench skips it
        return f'its int8 variant is unreadable ({exc})'
    if variant is None:
        return 'the model carries no int8 variant (grasp-train quantize, or make model)'
    return ''


def cpu_configs(
    args: argparse.Namespace, default: tuple[str, int], model: Path
) -> list[tuple[str, int]]:
    """Return (backend, threads) CPU configurations: the node default first, then the sweep."""
    backends = [b.strip() for b in args.backends.split(',') if b.strip()]
    if 'onnxruntime' in backends and not onnx_backend.available():
        print('onnxruntime/onnx not installed: skipping that backend', file=sys.stderr)
        backends.remove('onnxruntime')
    why = int8_note(model) if INT8 in backends else ''
    if why:
        print(f'{INT8}: {why}: no int8 rows', file=sys.stderr)
        backends.remove(INT8)
    threads = {_effective(n) for n in (int(x) for x in args.sweep_threads.split(',') if x.strip())}
    out = [default]
    for backend in backends:
        for n in sorted(threads):
            if (backend, n) not in out:
                out.append((backend, n))
    return out


def int8_summary(path: Path) -> dict[str, Any]:
    """Return the int8 variant's gate record, or why the bench has none."""
    why = int8_note(path)
    if why:
        return {'present': False, 'why': why}
    variant = int8_backend.read_variant(path.read_bytes())
    assert variant is not None
    r = variant.record
    return {'present': True, 'top1_agreement': r.top1_agreement, 'cv': r.cv}


def _effective(n: int) -> int:
    return n if n > 0 else machine.usable_cores()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cores = machine.usable_cores()
    default_backend = str(SPECS['backend'].default) if 'backend' in SPECS else 'torchscript'
    default_threads = _effective(node_default_threads() if args.threads is None else args.threads)
    devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    if args.devices != 'auto':
        devices = [d.strip() for d in args.devices.split(',') if d.strip()]
    load_before = machine.load_average()
    tmp = tempfile.TemporaryDirectory(prefix='grasp-bench-')
    model_path, model_note = resolve_model(args.model, Path(tmp.name))
    print(f'model: {model_note}', file=sys.stderr)
    images = {size: bench_frames.procedural_frames(*size) for size in SIZES}
    messages = {(s, t): make_messages(images[s], t) for s in SIZES for t in TRANSPORTS}
    configs: list[tuple[str, str, int]] = []
    if 'cpu' in devices:
        configs += [
            ('cpu', b, n)
            for b, n in cpu_configs(args, (default_backend, default_threads), model_path)
        ]
    if 'cuda' in devices:
        configs.append(('cuda', 'torchscript', default_threads))
    report: dict[str, Any] = {
        'machine': machine.describe(),
        'model': {'path': str(model_path), 'source': model_note},
        'frames_source': 'benchmarks/frames.py procedural_frames: 8 distinct frames per size, '
        'cycled; JPEG quality 90; stamps = wall clock at submit',
        'node_defaults': {'backend': default_backend, 'threads': default_threads},
        'int8': int8_summary(model_path),
        'cases': [],
        'baseline': [],
        'replay': [],
    }
    models: dict[str, LoadedModel] = {}
    default_label = ''
    for device, backend, threads in configs:
        apply_threads(threads)
        model = load(model_path, device, backend)
        report['model']['familiarity'] = with_familiarity(model)
        label = f'{device} {model.runner.label} t={threads}'
        default_label = default_label or label
        if label in models:  # 'auto' resolved to an engine the sweep names too: time it once
            continue
        models[label] = model
        report['model'].update(
            {
                'id': model.model_id,
                'architecture': model.metadata.architecture,
                'input_size': list(model.metadata.input_size),
                'trained': model.metadata.trained,
            }
        )
        for (h, w), transport in ((s, t) for s in SIZES for t in TRANSPORTS):
            name = f'{label} {w}x{h} {transport}'
            print(f'case {name} ...', file=sys.stderr)
            msgs = messages[(h, w), transport]
            case = run_case(
                model, msgs, transport == 'jpeg', args.frames, args.warmup, args.case_seconds
            )
            report['cases'].append(
                {
                    'name': name,
                    'config': label,
                    'case': f'{w}x{h} {transport}',
                    'device': str(model.device),
                    'backend': model.backend,
                    'onednn_fusion': bool(getattr(model.runner, 'fused', False)),
                    'threads': threads,
                    **case,
                }
            )
    if args.baseline_frames > 0:
        base_threads = apply_threads(0)  # the notebook ran with torch's default threads
        for (h, w), transport in ((s, t) for s in SIZES for t in TRANSPORTS):
            name = f'{w}x{h} {transport}'
            print(f'baseline {name} ({args.baseline_frames} frames) ...', file=sys.stderr)
            base = run_baseline(
                messages[(h, w), transport], args.baseline_frames, budget_s=args.case_seconds
            )
            report['baseline'].append({'name': name, 'threads': base_threads, **base})
    cpu_ref = [c for c in report['cases'] if c['device'] == 'cpu' and c['case'] == '640x480 bgr8']
    fastest = (
        min(cpu_ref, key=lambda c: c['latency_ms']['total']['p50'])['config'] if cpu_ref else ''
    )
    evaluated = list(dict.fromkeys(x for x in (default_label, fastest) if x.startswith('cpu')))
    rates = [float(x) for x in args.replay_rates.split(',') if x.strip()]
    if rates and evaluated:
        msgs, compressed, source = replay_messages(args.bag)
        report['replay_source'] = source
        for label in evaluated:
            apply_threads(int(label.rsplit('t=', 1)[1]))
            for rate in rates:
                print(
                    f'replay {label} {rate:g} Hz, {args.replay_seconds:g} s ...', file=sys.stderr
                )
                run = run_replay(models[label], msgs, compressed, rate, args.replay_seconds)
                report['replay'].append({'config': label, **run})
    if args.capture_seconds > 0 and default_label in models:
        apply_threads(int(default_label.rsplit('t=', 1)[1]))
        print(f'capture cost {default_label} ...', file=sys.stderr)
        report['capture'] = {
            'config': default_label,
            'case': '640x480 bgr8',
            **capture_cost.measure(
                models[default_label],
                messages[(480, 640), 'bgr8'],
                False,
                seconds=args.capture_seconds,
            ),
        }
    if models:
        report['familiarity_state_ms'] = time_familiarity_state(next(iter(models.values())))
    report['targets'] = {label: evaluate_targets(report, label) for label in evaluated}
    report['speedup_vs_notebook'] = speedups(report)
    report['targets_reference'] = (
        f'2-core CPU, 640x480 bgr8, default shipped model; this run: {cores} cores, {model_note}'
    )
    report['machine']['load_average_before'] = load_before
    report['machine']['load_average_after'] = machine.load_average()
    report['peak_rss_mb'] = machine.peak_rss_mb()

    print(
        f'# {report["machine"]["cpu_model"]}, {cores} cores, torch {torch.__version__}; '
        f'load avg 1/5/15 min {load_before} -> {report["machine"]["load_average_after"]}'
    )
    print(f'# model: {model_note}')
    print(
        f'# node defaults: {default_label}; stage columns p50/p99 ms; '
        'replay rows: total = end-to-end stamp -> verdict callback'
    )
    print(table(report))
    if 'capture' in report:
        print(capture_cost.line(f'{default_label} 640x480 bgr8', report['capture']))
    if 'familiarity_state_ms' in report:
        st = report['familiarity_state_ms']
        print(
            f'# familiarity: the stage above keeps the 16x16 thumbnail of each frame (inference '
            f'thread); diagnostics score {st["window"]} new frames and judge the window once '
            f'a second: p50 {st["p50"]:.2f} ms, p99 {st["p99"]:.2f} ms (diagnostics thread)'
        )
    for label, targets in report['targets'].items():
        kind = 'node defaults' if label == default_label else 'fastest measured'
        results = '; '.join(
            f'{name} {t["limit"]}: {t["value"]:.2f} {"PASS" if t["pass"] else "FAIL"}'
            for name, t in targets.items()
        )
        print(f'targets [{label}, {kind}]: {results}')
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, sort_keys=True) + '\n')
    print(f'wrote {args.out}', file=sys.stderr)
    tmp.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
