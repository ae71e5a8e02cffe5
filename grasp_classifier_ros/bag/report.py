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
Score replayed frames against labels and write frames.csv, episodes.csv, metrics.json.

Frame metrics threshold each fresh frame's calibrated success probability at
the pipeline threshold (the per-frame decision a controller would see without
smoothing); verdict metrics score the Decider's smoothed verdict (UNCERTAIN
counts as wrong). Episode verdicts replay the node's ``~/check`` logic
(``check.CheckCollector``) over the last ``check_frames`` fresh frames of
each episode.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
import json
import math
from pathlib import Path
import sys
from typing import Any

import numpy as np

from .labels import Episode, label_name
from .replay import DROPPED, FrameRecord, ReplayRun
from ..core import metrics
from ..core.check import CheckCollector
from ..core.pipeline import FrameResult
from ..core.stamps import NS

STAGES = ('decode', 'preprocess', 'inference', 'decision', 'total')
NO_VERDICT = 'no_verdict'  # ~/check had too few fresh frames in the episode


@dataclass(frozen=True)
class EpisodeResult:
    episode: Episode
    verdict: str  # 'success' | 'failure' | 'no_verdict'
    message: str
    frames: int
    fresh: int
    dropped: int
    mean_probability: float | None

    @property
    def correct(self) -> bool | None:
        """Whether the verdict matches the label; None when unlabelled or without a verdict."""
        if self.episode.success is None or self.verdict == NO_VERDICT:
            return None
        return self.verdict == label_name(self.episode.success)


def episode_verdicts(
    records: list[FrameRecord],
    episodes: list[Episode],
    *,
    check_frames: int,
    check_timeout: float,
    threshold: float,
) -> list[EpisodeResult]:
    """Answer ``~/check`` at each episode's end from its last ``check_frames`` fresh frames."""
    by_episode: dict[int, list[FrameRecord]] = {}
    for r in records:
        if r.episode is not None:
            by_episode.setdefault(r.episode, []).append(r)
    collector = CheckCollector()
    out = []
    for ep in episodes:
        recs = sorted(by_episode.get(ep.index, []), key=lambda r: r.stamp_ns)
        fresh = [r for r in recs if r.status == 'ok' and r.probability is not None]
        since = fresh[-check_frames].stamp_ns if len(fresh) >= check_frames else ep.start_ns
        req = collector.request(check_frames, check_timeout, now_ns=since, threshold=threshold)
        for r in recs:
            # A dropped frame never reached the pipeline; the episode's frames before "the
            # call" are simply earlier, not worth a note in the answer.
            if r.result is not None and _captured_ns(r.result) >= since:
                collector.offer(r.result)
        outcome = req.outcome()
        collector.cancel(req)
        if outcome.mean_probability is None:
            verdict = NO_VERDICT
        else:
            verdict = 'success' if outcome.success else 'failure'
        out.append(
            EpisodeResult(
                ep,
                verdict,
                outcome.message,
                len(recs),
                len(fresh),
                sum(1 for r in recs if r.status == DROPPED),
                outcome.mean_probability,
            )
        )
    return out


def _captured_ns(result: FrameResult) -> int:
    """Return when a frame was captured, as ``~/check`` reads it (stamp, else receive time)."""
    return result.stamp_ns if result.stamp_ns != 0 else result.receive_ns


def _clean(value: Any) -> Any:
    """Make a value strict-JSON friendly (NaN/inf -> None, numpy -> Python)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def build_metrics(
    run: ReplayRun,
    episode_results: list[EpisodeResult],
    *,
    threshold: float,
    info: dict[str, Any],
) -> dict[str, Any]:
    """Assemble metrics.json: frame, verdict, episode, latency and throughput figures."""
    recs = run.records
    by_status: dict[str, int] = {}
    for r in recs:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    fresh = [r for r in recs if r.status == 'ok' and r.probability is not None]
    scored = [r for r in fresh if r.label is not None]
    y = [int(r.label) for r in scored]  # type: ignore[arg-type]
    p = [r.probability for r in scored]
    frame_metrics = metrics.binary_report(y, p, threshold)
    judged = [r for r in scored if r.verdict]  # recorded results carry no verdict
    verdict_hits = [r.verdict == label_name(r.label) for r in judged]
    uncertain = sum(1 for r in judged if r.verdict == 'uncertain')
    ep_labelled = [e for e in episode_results if e.episode.success is not None]
    ep_judged = [e for e in ep_labelled if e.correct is not None]  # labelled, with a verdict
    ep_correct = sum(1 for e in ep_judged if e.correct)
    ep_true = [int(bool(e.episode.success)) for e in ep_judged]
    ep_pred = [int(e.verdict == 'success') for e in ep_judged]
    latency = {
        stage: metrics.latency_summary(
            [r.timings_ms[stage] for r in fresh if stage in r.timings_ms]
        )
        for stage in STAGES
    }
    e2e = [r.e2e_ms for r in fresh if r.e2e_ms is not None]
    if e2e:
        latency['end_to_end'] = metrics.latency_summary(e2e)
    processed = len(recs) - by_status.get(DROPPED, 0)
    total_ms = sum(r.timings_ms.get('total', 0.0) for r in recs if r.status != DROPPED)
    out: dict[str, Any] = {
        **info,
        'mode': run.mode,
        'rate': run.rate,
        'threshold': threshold,
        'frames': {
            'total': len(recs),
            'processed': processed,
            'fresh': len(fresh),
            'labelled_fresh': len(scored),
            'dropped': by_status.get(DROPPED, 0),
            'by_status': dict(sorted(by_status.items())),
        },
        'classification': frame_metrics,
        'verdicts': {
            'count': len(judged),
            'accuracy': (sum(verdict_hits) / len(judged)) if judged else math.nan,
            'uncertain': uncertain,
        },
        'episodes': {
            'count': len(episode_results),
            'labelled': len(ep_labelled),
            'with_verdict': len(ep_judged),
            'correct': ep_correct,
            'wrong': len(ep_judged) - ep_correct,
            'no_verdict': sum(1 for e in episode_results if e.verdict == NO_VERDICT),
            # accuracy over the labelled episodes that got a verdict; coverage: how many did
            'accuracy': ep_correct / len(ep_judged) if ep_judged else math.nan,
            'coverage': len(ep_judged) / len(ep_labelled) if ep_labelled else math.nan,
            'confusion_matrix': metrics.confusion_matrix(ep_true, ep_pred).tolist(),
        },
        'latency_ms': latency,
        'throughput_fps': (len(fresh) / run.wall_s) if run.wall_s > 0 else math.nan,
        'pipeline_capacity_fps': (processed / (total_ms / 1e3) if total_ms > 0 else math.nan),
        'wall_s': run.wall_s,
    }
    if run.mode == 'fast':
        out['nominal_latency_s'] = run.nominal_latency_s
    return _clean(out)


def _fmt(value: float | None, digits: int = 6) -> str:
    return '' if value is None else f'{value:.{digits}f}'


FRAME_COLUMNS = (
    'index',
    'stamp_ns',
    't_s',
    'log_ns',
    'episode',
    'label',
    'status',
    'probability',
    'smoothed',
    'predicted',
    'verdict',
    'correct',
    'age_ms',
    *(f'{s}_ms' for s in STAGES),
    'e2e_ms',
    'error',
)


def write_frames_csv(
    path: Path, records: list[FrameRecord], bag_start_ns: int, threshold: float
) -> None:
    """One row per frame: stamp, probability, decision and verdict, status, label."""
    with path.open('w', newline='') as f:
        w = csv.writer(f)
        w.writerow(FRAME_COLUMNS)
        for r in records:
            predicted = '' if r.probability is None else label_name(r.probability >= threshold)
            correct: str | int = ''
            if predicted and r.label is not None and r.status == 'ok':
                correct = int(predicted == label_name(r.label))
            w.writerow(
                [
                    r.index,
                    r.stamp_ns,
                    f'{(r.stamp_ns - bag_start_ns) / NS:.6f}',
                    r.log_ns,
                    '' if r.episode is None else r.episode,
                    label_name(r.label),
                    r.status,
                    _fmt(r.probability),
                    _fmt(r.smoothed),
                    predicted if r.status == 'ok' else '',
                    r.verdict,
                    correct,
                    _fmt(r.age_ms, 3),
                    *(_fmt(r.timings_ms.get(s), 3) for s in STAGES),
                    _fmt(r.e2e_ms, 3),
                    r.error,
                ]
            )


EPISODE_COLUMNS = (
    'episode',
    'name',
    'start_s',
    'end_s',
    'label',
    'verdict',
    'correct',
    'frames',
    'fresh_frames',
    'dropped_frames',
    'mean_probability',
    'message',
)


def write_episodes_csv(path: Path, results: list[EpisodeResult], bag_start_ns: int) -> None:
    """One row per episode with the ``~/check`` verdict at its end."""
    with path.open('w', newline='') as f:
        w = csv.writer(f)
        w.writerow(EPISODE_COLUMNS)
        for e in results:
            ep = e.episode
            w.writerow(
                [
                    ep.index,
                    ep.name,
                    f'{(ep.start_ns - bag_start_ns) / NS:.3f}',
                    f'{(ep.end_ns - bag_start_ns) / NS:.3f}',
                    label_name(ep.success),
                    e.verdict,
                    '' if e.correct is None else int(e.correct),
                    e.frames,
                    e.fresh,
                    e.dropped,
                    _fmt(e.mean_probability, 4),
                    e.message,
                ]
            )


def write_metrics_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(_clean(data), indent=2, allow_nan=False) + '\n')


def write_report(
    out_dir: Path,
    records: list[FrameRecord],
    results: list[EpisodeResult],
    data: dict[str, Any],
    bag_start_ns: int,
    hysteresis: float,
    plot: bool = True,
) -> None:
    """Write frames.csv, episodes.csv, metrics.json and (``plot``) timeline.png to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    threshold = float(data['threshold'])
    write_frames_csv(out_dir / 'frames.csv', records, bag_start_ns, threshold)
    write_episodes_csv(out_dir / 'episodes.csv', results, bag_start_ns)
    write_metrics_json(out_dir / 'metrics.json', data)
    png = out_dir / 'timeline.png'
    if not plot:
        png.unlink(missing_ok=True)
        return
    from .plots import save_png, timeline_figure  # imports this module

    try:
        fig = timeline_figure(
            records,
            results,
            bag_start_ns=bag_start_ns,
            threshold=threshold,
            hysteresis=hysteresis,
            title=f'{data.get("bag", "")} ({data["mode"]})',
        )
    except ImportError as exc:  # matplotlib is optional at run time
        print(f'note: no timeline.png ({exc})', file=sys.stderr)
        return
    save_png(fig, png)


def _pct(v: Any) -> str:
    return 'n/a' if v is None else f'{100 * v:.1f}%'


def _ms(v: Any) -> str:
    return 'n/a' if v is None else f'{v:.1f}'


def summary_text(
    data: dict[str, Any], results: list[EpisodeResult], bag_start_ns: int, out_dir: Path | None
) -> str:
    """Human summary: per-episode verdicts, accuracy, latency, where the files are."""
    lines = []
    if results:
        lines.append('Episodes (verdict = ~/check over the last fresh frames of each episode):')
        width = max(len(e.episode.name) for e in results)
        for e in results:
            ep = e.episode
            mark = {True: 'ok  ', False: 'MISS', None: '    '}[e.correct]
            if e.verdict == NO_VERDICT and ep.success is not None:
                mark = 'n/v '
            label = label_name(ep.success) or 'unlabelled'
            mean = '' if e.mean_probability is None else f'  p={e.mean_probability:.3f}'
            # An episode starts half a frame before its first frame: clamp to the bag start.
            t0 = max(0.0, (ep.start_ns - bag_start_ns) / NS)
            t1 = (ep.end_ns - bag_start_ns) / NS
            lines.append(
                f'  {mark} #{ep.index:<3d} {ep.name:<{width}s} {t0:6.2f} .. {t1:6.2f} s  '
                f'label={label:<10s} verdict={e.verdict:<10s}{mean}'
            )
    fr = data['frames']
    cls = data['classification']
    ep = data['episodes']
    lat = data['latency_ms']
    lines.append(
        f'Frames: {fr["total"]} total, {fr["fresh"]} classified, {fr["dropped"]} dropped, '
        f'by status {fr["by_status"]}'
    )
    if cls['count']:
        lines.append(
            f'Frame accuracy {_pct(cls["accuracy"])} over {cls["count"]} labelled frames '
            f'(threshold {data["threshold"]:.3f}); success precision {_pct(cls["precision"])}, '
            f'recall {_pct(cls["recall"])}, F1 {cls["f1"]:.3f}; ROC AUC '
            f'{"n/a" if cls["roc_auc"] is None else format(cls["roc_auc"], ".3f")}'
        )
        if data['verdicts']['count']:
            lines.append(
                f'Smoothed-verdict accuracy {_pct(data["verdicts"]["accuracy"])} '
                f'({data["verdicts"]["uncertain"]} uncertain)'
            )
    else:
        lines.append('No labelled fresh frames: accuracy not computed (give labels).')
    if ep['labelled']:
        lines.append(
            f'Episode accuracy {_pct(ep["accuracy"])} ({ep["correct"]} of {ep["with_verdict"]} '
            f'labelled episodes with a verdict; MISS = wrong); coverage {_pct(ep["coverage"])}: '
            f'{ep["labelled"] - ep["with_verdict"]} of {ep["labelled"]} without a verdict '
            '(n/v: fewer fresh frames than check_frames)'
        )
    fam = data.get('familiarity')
    if fam and 'windows' in fam:
        lines.append(
            f'Familiarity (out-of-depth monitor, windows of {fam["window"]} frames): '
            f'{_pct(fam["unfamiliar_share"])} of {fam["windows"]} windows unlike the training '
            f'data (distance {_pct(fam["by_distance"])}, turn ratio {_pct(fam["by_turn_ratio"])}'
            f', geometry {_pct(fam["by_geometry"])}); {fam["message"]}'
        )
    elif fam:
        lines.append(f'Familiarity: {fam["message"]}')
    tot = lat.get('total', {})
    if tot.get('count'):
        stage_txt = ', '.join(
            f'{s} {_ms(lat[s]["p50"])}' for s in ('decode', 'preprocess', 'inference')
        )
        lines.append(
            f'Pipeline latency ms: p50 {_ms(tot["p50"])}, p95 {_ms(tot["p95"])}, '
            f'p99 {_ms(tot["p99"])} (p50 by stage: {stage_txt})'
        )
    if 'end_to_end' in lat:
        e2e = lat['end_to_end']
        lines.append(
            f'End-to-end latency ms (stamp -> result): p50 {_ms(e2e["p50"])}, '
            f'p95 {_ms(e2e["p95"])}, p99 {_ms(e2e["p99"])}'
        )
    if data.get('throughput_fps') is not None:
        lines.append(
            f'Throughput {data["throughput_fps"]:.1f} classified frames/s over '
            f'{data["wall_s"]:.1f} s ({data["mode"]} mode)'
        )
    if out_dir is not None:
        lines.append(
            f'Report files in {out_dir}/: frames.csv episodes.csv metrics.json timeline.png'
        )
    return '\n'.join(lines)
