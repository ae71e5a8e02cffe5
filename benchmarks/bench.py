# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""Latency, throughput and real-time replay of the product pipeline vs the notebook baseline.

``python benchmarks/bench.py --out bench.json`` (``make bench``) times
``Pipeline.process`` -- the node's own path, with its per-stage timings -- on
640x480 and 1280x720 frames as raw ``bgr8`` Images and JPEG CompressedImages,
on CPU (and CUDA when present); runs the original notebook pipeline on the same
frames; replays frames through ``NewestFrameWorker`` at 30/60/120 Hz; prints
one table and writes everything, with the machine description and the
real-time targets, to a JSON file.
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

import frames as bench_frames
import machine
import numpy as np
import torch

from grasp_classifier_ros.decision import DecisionConfig
from grasp_classifier_ros.metadata import ModelMetadata
from grasp_classifier_ros.metrics import latency_summary
from grasp_classifier_ros.model import LoadedModel, load_model, save_model
from grasp_classifier_ros.params import SPECS
from grasp_classifier_ros.paths import default_model_path
from grasp_classifier_ros.pipeline import FrameResult, NewestFrameWorker, Pipeline

STAGES = ('decode', 'preprocess', 'inference', 'decision', 'total')
SIZES = ((480, 640), (720, 1280))
TRANSPORTS = ('bgr8', 'jpeg')
DEMO_BAG = Path(__file__).resolve().parent.parent / 'data' / 'demo' / 'grasp_demo'
REFERENCE = 'cpu 640x480'
TARGETS = {
    'total_p50_ms': 3.0,
    'total_p99_ms': 6.0,
    'jpeg_total_p50_ms': 5.0,
    'speedup_vs_notebook': 150.0,
    'replay_60hz_e2e_p99_ms': 10.0,
}


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
        help="torch intra-op threads (default: the node's num_threads default; 0 = all cores)",
    )
    p.add_argument(
        '--sweep-threads',
        default='1,0',
        help='extra thread counts for the 640x480 CPU cases (0 = all cores; "" to skip)',
    )
    p.add_argument('--devices', default='auto', help='cpu, cuda or auto (cpu, plus cuda if any)')
    p.add_argument('--replay-rates', default='30,60,120', help='replay rates in Hz ("" to skip)')
    p.add_argument('--replay-seconds', type=float, default=5.0, help='seconds per replay rate')
    p.add_argument('--bag', type=Path, default=DEMO_BAG, help='bag replayed in real time')
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
    from grasp_classifier_training.models import ModelConfig, build_model

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


def node_default_threads() -> int:
    """Return the node's ``num_threads`` default (0 = torch's default, all cores)."""
    return int(SPECS['num_threads'].default)


def apply_threads(n: int) -> int:
    """Set torch's intra-op threads (0 = all usable cores); return the count in effect."""
    torch.set_num_threads(n if n > 0 else machine.usable_cores())
    return torch.get_num_threads()


def load(path: Path, device: str) -> LoadedModel:
    return load_model(
        path,
        device=device,
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
    return {k: latency_summary(v) for k, v in samples.items() if v}


def run_case(
    model: LoadedModel, msgs: list[Any], compressed: bool, frames: int, warmup: int
) -> dict[str, Any]:
    """Time ``Pipeline.process`` over ``frames`` messages after ``warmup``; wall-clock stamps."""
    pipeline = Pipeline(model, compressed=compressed)
    if model.device.type == 'cuda':
        pipeline.preprocessor = _SyncedPreprocessor(pipeline.preprocessor)  # type: ignore[assignment]
    samples: dict[str, list[float]] = {s: [] for s in STAGES}
    statuses: Counter[str] = Counter()
    start = 0.0
    for i in range(warmup + frames):
        if i == warmup:
            start = time.perf_counter()
        now = time.time_ns()
        result = pipeline.process(bench_frames.restamped(msgs[i % len(msgs)], now), now)
        if i < warmup:
            continue
        statuses[result.status] += 1
        for stage in STAGES:
            if stage in result.timings_ms:
                samples[stage].append(result.timings_ms[stage])
    elapsed = time.perf_counter() - start
    return {
        'frames': frames,
        'warmup': warmup,
        'statuses': dict(statuses),
        'latency_ms': summarise(samples),
        'fps': frames / elapsed if elapsed > 0 else math.nan,
        'rss_mb': machine.rss_mb(),
        'peak_rss_mb': machine.peak_rss_mb(),
    }


def run_baseline(msgs: list[Any], frames: int, warmup: int = 3) -> dict[str, Any]:
    """Time the notebook pipeline (eager seed_cnn) on the same messages."""
    from baseline import NotebookPipeline

    nb = NotebookPipeline()
    samples: dict[str, list[float]] = {s: [] for s in STAGES}
    start = 0.0
    for i in range(warmup + frames):
        if i == warmup:
            start = time.perf_counter()
        _, timings = nb.process(msgs[i % len(msgs)])
        if i >= warmup:
            for stage in STAGES:
                samples[stage].append(timings[stage])
    elapsed = time.perf_counter() - start
    return {
        'frames': frames,
        'warmup': warmup,
        'latency_ms': summarise(samples),
        'fps': frames / elapsed if elapsed > 0 else math.nan,
        'peak_rss_mb': machine.peak_rss_mb(),
    }


# -- real-time replay ----------------------------------------------------------------------------


def replay_messages(bag: Path, limit: int = 300) -> tuple[list[Any], bool, str]:
    """Return image messages from ``bag`` (or synthetic ones), whether compressed, and source."""
    if bag.exists():
        from grasp_classifier_ros.bag_io import COMPRESSED_TYPE, IMAGE_TYPES, BagReader

        with BagReader(bag) as reader:
            topics = reader.topics_of_type(*IMAGE_TYPES)
            if topics:
                topic = topics[0]
                msgs = []
                for m in reader.messages([topic]):
                    msgs.append(m.msg)
                    if len(msgs) >= limit:
                        break
                compressed = reader.topics[topic].msgtype == COMPRESSED_TYPE
                if msgs:
                    return msgs, compressed, f'bag {bag} topic {topic} ({len(msgs)} frames)'
    images = bench_frames.procedural_frames(480, 640)
    return make_messages(images, 'bgr8'), False, f'synthetic 640x480 bgr8 (no bag at {bag})'


def run_replay(
    model: LoadedModel, msgs: list[Any], compressed: bool, rate_hz: float, seconds: float
) -> dict[str, Any]:
    """Feed frames at ``rate_hz`` from a thread through a NewestFrameWorker in real time.

    Stamps are wall time at submit and the worker's clock is the wall clock, so
    end-to-end latency is stamp -> verdict callback. ``busy_at_arrival`` counts
    frames that arrived while the worker still held the previous one;
    ``backlog_at_end`` is what was still unprocessed one period after the last
    frame (zero when the pipeline keeps up).
    """
    pipeline = Pipeline(model, compressed=compressed, decision=DecisionConfig())
    e2e_ms: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()

    def on_result(result: FrameResult) -> None:
        done = time.time_ns()
        with lock:
            statuses[result.status] += 1
            if result.status == 'ok':
                e2e_ms.append((done - result.stamp_ns) / 1e6)

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
        'output_hz': worker.processed / elapsed if elapsed > 0 else math.nan,
        'e2e_ms': latency_summary(e2e_ms),
        'feeder_lateness_ms': latency_summary(late_ms),
    }


# -- report --------------------------------------------------------------------------------------


def evaluate_targets(report: dict[str, Any]) -> dict[str, Any]:
    """Check the real-time targets against the reference cases of this run."""
    cases = {c['name']: c for c in report['cases']}
    main = cases.get(f'{REFERENCE} bgr8 {report["threads_label"]}')
    jpeg = cases.get(f'{REFERENCE} jpeg {report["threads_label"]}')
    base = {b['name']: b for b in report['baseline']}.get(f'{REFERENCE} bgr8')
    replay60 = next((r for r in report['replay'] if r['rate_hz'] == 60), None)
    out: dict[str, Any] = {}

    def check(name: str, value: float | None, ok: bool | None, limit: str) -> None:
        out[name] = {'value': value, 'limit': limit, 'pass': ok}

    if main:
        lat = main['latency_ms']['total']
        check('total_p50_ms', lat['p50'], lat['p50'] <= TARGETS['total_p50_ms'], '<= 3')
        check('total_p99_ms', lat['p99'], lat['p99'] <= TARGETS['total_p99_ms'], '<= 6')
    if jpeg:
        p50 = jpeg['latency_ms']['total']['p50']
        check('jpeg_total_p50_ms', p50, p50 <= TARGETS['jpeg_total_p50_ms'], '<= 5')
    if main and base:
        ratio = base['latency_ms']['total']['p50'] / main['latency_ms']['total']['p50']
        check('speedup_vs_notebook', ratio, ratio >= TARGETS['speedup_vs_notebook'], '>= 150x')
    if replay60:
        p99 = replay60['e2e_ms']['p99']
        lim = TARGETS['replay_60hz_e2e_p99_ms']
        check('replay_60hz_e2e_p99_ms', p99, p99 <= lim, '<= 10')
        zero = replay60['backlog_at_end'] == 0 and replay60['dropped'] == 0
        check('replay_60hz_zero_backlog', replay60['backlog_at_end'], zero, '0 backlog, 0 dropped')
    return out


def _pair(stats: dict[str, dict[str, float]], stage: str) -> str:
    s = stats.get(stage)
    return f'{s["p50"]:.2f}/{s["p99"]:.2f}' if s else '-'


def table(report: dict[str, Any]) -> str:
    """Render the cases, baseline and replay as one Markdown table."""
    head = (
        '| case | n | decode | preprocess | inference | decision | total p50 | total p95 '
        '| total p99 | fps | peak RSS MiB | notes |'
    )
    lines = [head, '|' + '---|' * 12]
    for c in report['cases']:
        lat = c['latency_ms']
        tot = lat['total']
        bad = {k: v for k, v in c['statuses'].items() if k != 'ok'}
        lines.append(
            f'| {c["name"]} | {c["frames"]} | {_pair(lat, "decode")} | {_pair(lat, "preprocess")} '
            f'| {_pair(lat, "inference")} | {_pair(lat, "decision")} | {tot["p50"]:.2f} '
            f'| {tot["p95"]:.2f} | {tot["p99"]:.2f} | {c["fps"]:.0f} | {c["peak_rss_mb"]:.0f} '
            f'| {"non-ok: " + str(bad) if bad else ""} |'
        )
    for b in report['baseline']:
        lat = b['latency_ms']
        tot = lat['total']
        ours = {c['name']: c for c in report['cases']}.get(
            f'{b["name"]} {report["threads_label"]}'
        )
        ratio = f'speed-up {tot["p50"] / ours["latency_ms"]["total"]["p50"]:.0f}x' if ours else ''
        lines.append(
            f'| notebook {b["name"]} | {b["frames"]} | {_pair(lat, "decode")} '
            f'| {_pair(lat, "preprocess")} | {_pair(lat, "inference")} | {_pair(lat, "decision")} '
            f'| {tot["p50"]:.1f} | {tot["p95"]:.1f} | {tot["p99"]:.1f} | {b["fps"]:.1f} '
            f'| {b["peak_rss_mb"]:.0f} | {ratio} |'
        )
    for r in report['replay']:
        e2e = r['e2e_ms']
        lines.append(
            f'| replay {r["rate_hz"]:g} Hz (e2e) | {r["processed"]} | - | - | - | - '
            f'| {e2e["p50"]:.2f} | {e2e["p95"]:.2f} | {e2e["p99"]:.2f} | {r["output_hz"]:.1f} '
            f'| - | dropped {r["dropped"]}, backlog {r["backlog_at_end"]}, '
            f'busy-at-arrival {r["busy_at_arrival"]} |'
        )
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cores = machine.usable_cores()
    threads_req = node_default_threads() if args.threads is None else args.threads
    devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    if args.devices != 'auto':
        devices = [d.strip() for d in args.devices.split(',') if d.strip()]
    load_before = machine.load_average()
    tmp = tempfile.TemporaryDirectory(prefix='grasp-bench-')
    model_path, model_note = resolve_model(args.model, Path(tmp.name))
    print(f'model: {model_note}', file=sys.stderr)
    threads = apply_threads(threads_req)
    threads_label = f't={threads}'
    images = {size: bench_frames.procedural_frames(*size) for size in SIZES}
    messages = {(s, t): make_messages(images[s], t) for s in SIZES for t in TRANSPORTS}
    report: dict[str, Any] = {
        'machine': machine.describe(),
        'model': {'path': str(model_path), 'source': model_note},
        'frames_source': 'benchmarks/frames.py procedural_frames (8 distinct frames per size, '
        'cycled; JPEG quality 90)',
        'threads_requested': threads_req,
        'threads': threads,
        'threads_label': threads_label,
        'cases': [],
        'baseline': [],
        'replay': [],
    }
    models: dict[str, LoadedModel] = {}
    for device in devices:
        models[device] = model = load(model_path, device)
        report['model'].update(
            {
                'id': model.model_id,
                'architecture': model.metadata.architecture,
                'input_size': list(model.metadata.input_size),
                'trained': model.metadata.trained,
            }
        )
        for (h, w), transport in ((s, t) for s in SIZES for t in TRANSPORTS):
            name = f'{device} {w}x{h} {transport} {threads_label}'
            print(f'case {name} ...', file=sys.stderr)
            case = run_case(
                model, messages[(h, w), transport], transport == 'jpeg', args.frames, args.warmup
            )
            report['cases'].append({'name': name, 'device': str(model.device), **case})
    if 'cpu' in models and args.sweep_threads:
        for n in (int(x) for x in args.sweep_threads.split(',') if x.strip()):
            got = apply_threads(n)
            if got == threads:
                continue
            for transport in TRANSPORTS:
                name = f'cpu 640x480 {transport} t={got}'
                print(f'case {name} ...', file=sys.stderr)
                case = run_case(
                    models['cpu'],
                    messages[(480, 640), transport],
                    transport == 'jpeg',
                    args.frames,
                    args.warmup,
                )
                report['cases'].append({'name': name, 'device': 'cpu', **case})
        apply_threads(threads_req)
    if args.baseline_frames > 0:
        base_threads = apply_threads(0)  # the notebook ran with torch's default threads
        for (h, w), transport in ((s, t) for s in SIZES for t in TRANSPORTS):
            name = f'cpu {w}x{h} {transport}'
            print(f'baseline {name} ({args.baseline_frames} frames) ...', file=sys.stderr)
            base = run_baseline(messages[(h, w), transport], args.baseline_frames)
            report['baseline'].append({'name': name, 'threads': base_threads, **base})
        apply_threads(threads_req)
    rates = [float(x) for x in args.replay_rates.split(',') if x.strip()]
    if rates and 'cpu' in models:
        msgs, compressed, source = replay_messages(args.bag)
        report['replay_source'] = source
        for rate in rates:
            print(f'replay {rate:g} Hz for {args.replay_seconds:g} s ...', file=sys.stderr)
            report['replay'].append(
                run_replay(models['cpu'], msgs, compressed, rate, args.replay_seconds)
            )
    report['targets'] = evaluate_targets(report)
    report['targets_reference'] = (
        f'2-core CPU, 640x480 bgr8, default shipped model; this run: {cores} cores, {model_note}'
    )
    report['machine']['load_average_before'] = load_before
    report['machine']['load_average_after'] = machine.load_average()
    report['peak_rss_mb'] = machine.peak_rss_mb()

    print(
        f'# {report["machine"]["cpu_model"]}, {cores} cores, torch {torch.__version__} '
        f'({threads} threads), load {load_before} -> {report["machine"]["load_average_after"]}'
    )
    print(f'# model: {model_note}')
    print('# stage columns: p50/p99 ms; replay rows: total = end-to-end stamp -> verdict')
    print(table(report))
    for name, t in report['targets'].items():
        verdict = 'PASS' if t['pass'] else 'FAIL'
        print(f'target {name} {t["limit"]}: {t["value"]:.2f} {verdict}')
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, sort_keys=True) + '\n')
    print(f'wrote {args.out}', file=sys.stderr)
    tmp.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
