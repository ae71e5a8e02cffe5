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
Soak test (`make soak`): many frames through the real pipeline; memory, fds, threads, drift.

Phase ``process``: ``--frames`` (default 100,000) 640x480 bgr8 frames through
``Pipeline.process`` on a simulated 30 Hz camera clock, with faults mixed in on a
fixed schedule (stale stamps, undecodable images, out-of-order stamps) and a
``~/check`` request every 5,000 frames. Phase ``worker``: the realtime path, a
feeder thread submitting to ``NewestFrameWorker`` at ``--rate`` Hz on the wall
clock for ``--worker-frames`` frames.

Targets (exit status 1 if one fails): RSS growth <= 10 MB after warm-up, p99
latency of the last 10% of frames within 10% of the first 10%, no growth in open
file descriptors or threads, every injected fault rejected and every other frame
classified, every ``~/check`` answered. Figures go to stdout and ``--out``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import sys
import tempfile
import threading
import time
from typing import Any

import cv2
from grasp_classifier_ros.core.decision import DecisionConfig
from grasp_classifier_ros.core.metadata import ModelMetadata
from grasp_classifier_ros.core.model import load_model, LoadedModel, save_model
from grasp_classifier_ros.core.paths import default_model_path
from grasp_classifier_ros.core.pipeline import NewestFrameWorker, Pipeline
from grasp_classifier_ros.core.stats import percentiles
import machine
import numpy as np
from rosbags.typesys import get_typestore, Stores
import torch

NS = 1_000_000_000
MS = 1_000_000
PERIOD_NS = NS // 30  # simulated camera: 30 Hz
T0_NS = 1_700_000_000 * NS
RSS_LIMIT_MB = 10.0
P99_DRIFT_LIMIT = 0.10
# Fault schedule of the process phase (primes, so the kinds rarely line up).
STALE_EVERY, BAD_EVERY, OLD_EVERY, CHECK_EVERY = 97, 211, 1009, 5000

_TS = get_typestore(Stores.ROS2_HUMBLE)
Image = _TS.types['sensor_msgs/msg/Image']
Header = _TS.types['std_msgs/msg/Header']
Time = _TS.types['builtin_interfaces/msg/Time']


# -- probes -----------------------------------------------------------------------------------


def _status_field(name: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(name + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'/proc/self/status has no {name}')


def open_fds() -> int:
    return len(os.listdir('/proc/self/fd'))


def os_threads() -> int:
    """Threads of this process as the kernel counts them (Python, OpenMP, OpenCV, ...)."""
    return _status_field('Threads')


@dataclass
class Sample:
    frame: int
    rss_mb: float
    fds: int
    threads: int


def sample(i: int) -> Sample:
    return Sample(i, machine.rss_mb(), open_fds(), os_threads())


def settled_sample(i: int, threads: int, timeout_s: float = 2.0) -> Sample:
    """
    Sample once the OS has reaped joined threads (up to ``timeout_s``).

    ``Thread.join`` returns before the kernel thread has fully exited, so an
    immediate count can still include it.
    """
    deadline = time.monotonic() + timeout_s
    while os_threads() > threads and time.monotonic() < deadline:
        time.sleep(0.01)
    return sample(i)


# -- model and frames -------------------------------------------------------------------------


def export_stand_in(path: Path) -> tuple[Path, str]:
    """Export a randomly initialised default-size model; say which one."""
    torch.manual_seed(0)
    try:
        from grasp_classifier_training.config import load_config
        from grasp_classifier_training.export import to_torchscript
        from grasp_classifier_training.models import build_model, ModelConfig

        cfg = load_config()['model']
        size = (int(cfg['input_size'][0]), int(cfg['input_size'][1]))
        net = build_model(ModelConfig(name=cfg['name'], input_size=size)).eval()
        name = f'training default {cfg["name"]}'
    except ImportError:  # a runtime-only install: a small CNN of similar cost
        size = (96, 96)
        net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, stride=2, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(16, 32, 3, stride=2, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(32, 64, 3, stride=2, padding=1),
            torch.nn.ReLU(),
            torch.nn.AdaptiveAvgPool2d(1),
            torch.nn.Flatten(),
            torch.nn.Linear(64, 2),
        ).eval()
        name = 'built-in small CNN'
        to_torchscript = None
    meta = ModelMetadata(
        input_height=size[0],
        input_width=size[1],
        class_names=('failure', 'success'),
        success_index=1,
        architecture=name.split()[-1],
        trained=False,
        provenance={'note': 'random weights exported by benchmarks/soak.py; not a classifier'},
    )
    scripted = (
        to_torchscript(net, meta)
        if to_torchscript is not None
        else torch.jit.freeze(torch.jit.script(net))
    )
    save_model(scripted, meta, path)
    return path, f'{name} {size[0]}x{size[1]}, RANDOM weights (no shipped model)'


def resolve_model(arg: str | None, tmp: Path) -> tuple[Path, str]:
    if arg:
        return Path(arg), f'given: {arg}'
    shipped = default_model_path()
    if shipped.is_file():
        return shipped, f'shipped model {shipped}'
    return export_stand_in(tmp / 'soak_model.pt')


def camera_frames(height: int, width: int, count: int = 8) -> list[np.ndarray]:
    """Distinct smooth BGR frames with noise (procedural; no dataset is read)."""
    rng = np.random.default_rng(0)
    out = []
    for _ in range(count):
        small = rng.uniform(0, 255, (height // 32, width // 32, 3)).astype(np.float32)
        big = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
        big += rng.normal(0, 6, big.shape).astype(np.float32)
        out.append(np.clip(big, 0, 255).astype(np.uint8).reshape(-1))
    return out


def image(data: np.ndarray, height: int, width: int, stamp_ns: int, step: int = 0) -> Any:
    """Return a bgr8 Image over a fresh copy of ``data``, as a subscriber would receive it."""
    return Image(
        header=Header(stamp=Time(sec=stamp_ns // NS, nanosec=stamp_ns % NS), frame_id='camera'),
        height=height,
        width=width,
        encoding='bgr8',
        is_bigendian=0,
        step=step or width * 3,
        data=data.copy(),
    )


# -- phases -----------------------------------------------------------------------------------


def p50_p99(values: np.ndarray) -> dict[str, float]:
    """Return p50 and p99 of the finite ``values`` (frames without a latency are NaN)."""
    return percentiles(values[np.isfinite(values)], (50, 99))


@dataclass
class PhaseResult:
    name: str
    frames: int
    seconds: float
    latency_kind: str
    first: dict[str, float]
    last: dict[str, float]
    baseline: Sample
    final: Sample
    peak_rss_mb: float
    samples: list[Sample]
    counts: dict[str, int]
    extra: dict[str, Any] = field(default_factory=dict)


def run_process_phase(model: LoadedModel, n: int, h: int, w: int) -> PhaseResult:
    pool = camera_frames(h, w)
    pl = Pipeline(model, decision=DecisionConfig(threshold=model.metadata.threshold))
    warmup = min(max(1000, n // 50), n // 5)
    every = max(1, n // 100)
    lat = np.full(n, np.nan)
    expected = {'ok': 0, 'stale': 0, 'bad_image': 0, 'out_of_order': 0}
    counts: dict[str, int] = {}
    checks, answered = 0, 0
    pending = None
    last_ok = None
    samples, baseline = [], None
    t_start = time.perf_counter()
    for i in range(n):
        stamp = T0_NS + i * PERIOD_NS
        now = stamp + 2 * MS
        step = 0
        if i % STALE_EVERY == STALE_EVERY - 1:
            stamp, kind = stamp - 2 * NS, 'stale'
        elif i % BAD_EVERY == BAD_EVERY - 1:
            step, kind = 1, 'bad_image'
        elif i % OLD_EVERY == OLD_EVERY - 1 and last_ok is not None:
            stamp, kind = last_ok, 'out_of_order'
        else:
            kind = 'ok'
        expected[kind] += 1
        if i % CHECK_EVERY == 0:
            if pending is not None:
                answered += pending.done
            pending = pl.check.request(k=3, timeout_s=1.0, now_ns=now, threshold=pl.threshold)
            checks += 1
        r = pl.process(image(pool[i % len(pool)], h, w, stamp, step), now_ns=now)
        counts[r.status] = counts.get(r.status, 0) + 1
        if r.status == 'ok':
            lat[i] = r.timings_ms['total']
            last_ok = stamp
        if i == warmup:
            baseline = sample(i)
        if i % every == 0 or i == n - 1:
            samples.append(sample(i))
    seconds = time.perf_counter() - t_start
    if pending is not None:
        answered += pending.done
    final = sample(n)
    tenth = max(1, n // 10)
    return PhaseResult(
        'process',
        n,
        seconds,
        'Pipeline.process total (ms)',
        p50_p99(lat[:tenth]),
        p50_p99(lat[-tenth:]),
        baseline or samples[0],
        final,
        max(s.rss_mb for s in samples + [final]),
        samples,
        counts,
        {
            'expected_counts': expected,
            'checks': checks,
            'checks_answered': answered,
            'checks_pending': pl.check.pending,
            'warmup_frames': warmup,
        },
    )


def run_worker_phase(model: LoadedModel, n: int, rate: float, h: int, w: int) -> PhaseResult:
    pool = camera_frames(h, w)
    pl = Pipeline(model, decision=DecisionConfig(threshold=model.metadata.threshold))
    e2e = np.full(n, np.nan)
    statuses: dict[str, int] = {}
    done = [0]

    def on_result(r: Any) -> None:
        k = done[0]
        if k < n and r.status == 'ok':
            e2e[k] = (r.done_ns - r.receive_ns) / MS
        done[0] += 1
        statuses[r.status] = statuses.get(r.status, 0) + 1

    before = sample(0)
    worker = NewestFrameWorker(pl, on_result, clock_ns=time.time_ns, name='soak-worker').start()
    warmup = max(100, n // 20)
    baseline: list[Sample] = []
    samples: list[Sample] = []
    every = max(1, n // 50)

    def camera() -> None:
        t0 = time.monotonic()
        for i in range(n):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            worker.submit(image(pool[i % len(pool)], h, w, time.time_ns()))
            if i == warmup:
                baseline.append(sample(i))
            if i % every == 0:
                samples.append(sample(i))

    t_start = time.perf_counter()
    feeder = threading.Thread(target=camera, name='soak-camera')
    feeder.start()
    feeder.join()
    idle = worker.wait_idle(30.0)
    seconds = time.perf_counter() - t_start
    during = sample(n)  # worker thread still alive
    worker.stop()
    final = settled_sample(n, before.threads)
    got = e2e[: min(done[0], n)]
    tenth = max(1, got.size // 10)
    return PhaseResult(
        'worker',
        n,
        seconds,
        'NewestFrameWorker end-to-end (ms)',
        p50_p99(got[:tenth]),
        p50_p99(got[-tenth:]),
        baseline[0] if baseline else before,
        during,
        max(s.rss_mb for s in [*samples, during]),
        samples,
        statuses,
        {
            'rate_hz': rate,
            'submitted': worker.submitted,
            'processed': worker.processed,
            'dropped': worker.dropped,
            'callback_errors': worker.callback_errors,
            'went_idle': idle,
            'threads_before_start': before.threads,
            'threads_after_stop': final.threads,
            'fds_before_start': before.fds,
            'fds_after_stop': final.fds,
        },
    )


# -- verdict and report -----------------------------------------------------------------------


def targets(ph: PhaseResult) -> list[dict[str, Any]]:
    rss_growth = ph.final.rss_mb - ph.baseline.rss_mb
    drift = ph.last['p99'] / ph.first['p99'] - 1.0 if ph.first['p99'] > 0 else float('nan')
    rows = [
        {
            'check': 'RSS growth after warm-up (MB)',
            'value': f'{ph.baseline.rss_mb:.1f} -> {ph.final.rss_mb:.1f} ({rss_growth:+.2f})',
            'target': f'<= {RSS_LIMIT_MB:g}',
            'pass': rss_growth <= RSS_LIMIT_MB,
        },
        {
            'check': f'p99 {ph.latency_kind}, first vs last 10%',
            'value': f'{ph.first["p99"]:.2f} -> {ph.last["p99"]:.2f} ({drift:+.1%})',
            'target': f'<= {P99_DRIFT_LIMIT:+.0%}',
            'pass': bool(drift <= P99_DRIFT_LIMIT),
        },
        {
            'check': 'open file descriptors',
            'value': f'{ph.baseline.fds} -> {ph.final.fds}',
            'target': 'no growth',
            'pass': ph.final.fds <= ph.baseline.fds,
        },
        {
            'check': 'OS threads',
            'value': f'{ph.baseline.threads} -> {ph.final.threads}',
            'target': 'no growth',
            'pass': ph.final.threads <= ph.baseline.threads,
        },
    ]
    x = ph.extra
    if ph.name == 'process':
        want = {k: v for k, v in x['expected_counts'].items() if v}
        rows.append(
            {
                'check': 'statuses = injected faults',
                'value': ', '.join(f'{k} {v}' for k, v in sorted(ph.counts.items())),
                'target': ', '.join(f'{k} {v}' for k, v in sorted(want.items())),
                'pass': ph.counts == want,
            }
        )
        rows.append(
            {
                'check': '~/check requests answered',
                'value': f'{x["checks_answered"]} of {x["checks"]}, {x["checks_pending"]} pending',
                'target': 'all, 0 pending',
                'pass': x['checks_answered'] == x['checks'] and x['checks_pending'] == 0,
            }
        )
    else:
        rows.append(
            {
                'check': 'worker thread gone after stop',
                'value': f'threads {x["threads_before_start"]} -> {x["threads_after_stop"]}, '
                f'fds {x["fds_before_start"]} -> {x["fds_after_stop"]}',
                'target': 'back to before start',
                'pass': x['threads_after_stop'] <= x['threads_before_start']
                and x['fds_after_stop'] <= x['fds_before_start'],
            }
        )
        rows.append(
            {
                'check': 'frames processed (+ dropped)',
                'value': f'{x["processed"]} (+{x["dropped"]}) of {x["submitted"]}, '
                f'{ph.counts.get("ok", 0)} ok, callback errors {x["callback_errors"]}',
                'target': 'processed + dropped = submitted, all ok',
                'pass': x['processed'] + x['dropped'] == x['submitted']
                and ph.counts.get('ok', 0) == x['processed']
                and x['callback_errors'] == 0
                and x['went_idle'],
            }
        )
    return rows


def table(phases: list[PhaseResult], rows: dict[str, list[dict[str, Any]]]) -> str:
    body = [
        [ph.name, r['check'], r['value'], r['target'], 'PASS' if r['pass'] else 'FAIL']
        for ph in phases
        for r in rows[ph.name]
    ]
    head = ['phase', 'check', 'value', 'target', 'result']
    widths = [max(len(row[c]) for row in [head, *body]) for c in range(len(head))]
    return '\n'.join(
        '  '.join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [head, *body]
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--frames', type=int, default=100_000, help='process-phase frames')
    ap.add_argument(
        '--worker-frames', type=int, default=None, help='worker-phase frames (default frames/16)'
    )
    ap.add_argument('--rate', type=float, default=60.0, help='worker-phase camera rate (Hz)')
    ap.add_argument('--size', default='640x480', help='camera frame WxH (bgr8)')
    ap.add_argument('--threads', type=int, default=1, help='torch and OpenCV threads')
    ap.add_argument('--model', default=None, help='model file (default: shipped, else stand-in)')
    ap.add_argument('--out', default='soak.json', help='JSON report path')
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split('x'))
    worker_frames = args.worker_frames or max(300, args.frames // 16)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        path, origin = resolve_model(args.model, Path(tmp))
        model = load_model(path, device='cpu')
    print(f'model: {origin}; {model.model_id} on {model.device}', flush=True)
    print(
        f'frames: {w}x{h} bgr8 (fresh buffer per message); process phase {args.frames} frames '
        f'on a simulated 30 Hz clock, faults every {STALE_EVERY}/{BAD_EVERY}/{OLD_EVERY}; '
        f'worker phase {worker_frames} frames at {args.rate:g} Hz; threads torch/OpenCV '
        f'{args.threads}; load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores',
        flush=True,
    )
    phases = [run_process_phase(model, args.frames, h, w)]
    print(f'process phase: {phases[0].seconds:.0f} s', flush=True)
    phases.append(run_worker_phase(model, worker_frames, args.rate, h, w))
    print(f'worker phase: {phases[1].seconds:.0f} s', flush=True)
    rows = {ph.name: targets(ph) for ph in phases}
    load = os.getloadavg()
    print(table(phases, rows))
    ok = all(r['pass'] for rs in rows.values() for r in rs)
    for ph in phases:
        print(
            f'{ph.name}: p50 first/last 10% {ph.first["p50"]:.2f}/{ph.last["p50"]:.2f} ms, '
            f'peak RSS {ph.peak_rss_mb:.1f} MB'
        )
    print(f'load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}')
    drift_failed = any(not rows[ph.name][1]['pass'] for ph in phases)
    if drift_failed and load[1] > 0.8 * (os.cpu_count() or 1):
        print(
            'note: the machine was busy (5-minute load average above 80% of its cores), so a '
            'p99 drift failure may be scheduling noise; compare p50 and rerun when quiet'
        )
    report = {
        'model': origin,
        'model_id': model.model_id,
        'frame_size': [w, h],
        'threads': args.threads,
        'load_average_after': list(load),
        'cpu_count': os.cpu_count(),
        'passed': ok,
        'phases': {
            ph.name: {
                'frames': ph.frames,
                'seconds': ph.seconds,
                'latency_kind': ph.latency_kind,
                'first_10pct_ms': ph.first,
                'last_10pct_ms': ph.last,
                'baseline': ph.baseline.__dict__,
                'final': ph.final.__dict__,
                'peak_rss_mb': ph.peak_rss_mb,
                'counts': ph.counts,
                'extra': ph.extra,
                'targets': rows[ph.name],
                'samples': [s.__dict__ for s in ph.samples],
            }
            for ph in phases
        },
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + '\n')
    print(f'{"PASS" if ok else "FAIL"}; report in {args.out}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
