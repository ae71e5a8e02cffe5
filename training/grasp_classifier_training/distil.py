# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Knowledge distillation (``train.method: distil``): a faster student learns the probe teacher.

The teacher is a linear-probe recipe (``distil.teacher``, e.g. ``lite0_probe``: frozen
ImageNet Lite0, 12 blocks at 128 px, logistic regression). Its backbone is frozen and
pretrained, so its pooled features do not depend on the fold; only its linear layer is
fitted, on the training images of the fold (``fit_teacher``): the held-out sessions never
reach the teacher. Soft targets are ``softmax(teacher_logits / distil.temperature)``.

Inputs are fixed *views* of every image, made once: view 0 the image, view 1 its mirror,
views 2.. torchvision v2 augmentations (``lit_module.build_augment``) at the cache size.
The student (an ``efficientnet_lite0`` with ``model.freeze`` = F >= 1) keeps stem + first F
blocks as pretrained, so their output is computed once per view and cached; each fold trains
only blocks F+1.. and the linear layer (initialised by a probe on the student's own features)
with AdamW + one-cycle on ``kd_loss``: ``distil.alpha`` x soft-target cross-entropy +
(1 - alpha) x label cross-entropy. Extra (``--extra-data``, e.g. synthetic) images learn
their labels (``distil.extra_targets: labels``: one-hot targets, the teacher never saw that
domain) or the teacher's soft targets only (``teacher``: label-free extra images).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
import math
from typing import Any

from grasp_classifier_ros.core.metadata import ModelMetadata
from grasp_classifier_ros.core.preprocess import crop_resize, normalize_batch
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from .config import ConfigError
from .linear_probe import fit_logistic

UNLABELLED = -1


@dataclass(frozen=True)
class DistilSettings:
    """The ``distil`` config section."""

    teacher: str
    views: int
    strength: float
    alpha: float
    temperature: float
    extra_targets: str = 'labels'
    camera: float = 0.0
    camera_views: int = 0
    camera_zoom: tuple[float, float] | None = None
    targets: str = 'view'

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> DistilSettings:
        d = cfg['distil']
        s = cls(
            str(d['teacher']),
            int(d['views']),
            float(d['strength']),
            float(d['alpha']),
            float(d['temperature']),
            str(d.get('extra_targets', 'labels')),
            float(d.get('camera', 0.0)),
            int(d.get('camera_views', 0)),
            _zoom(d.get('camera_zoom')),
            str(d.get('targets', 'view')),
        )
        if s.views < 1:
            raise ConfigError(f'distil.views={s.views} must be >= 1 (view 0 is the image)')
        if not 0.0 <= s.alpha <= 1.0:
            raise ConfigError(f'distil.alpha={s.alpha} must be in [0, 1]')
        if s.temperature <= 0:
            raise ConfigError(f'distil.temperature={s.temperature} must be positive')
        if s.camera < 0:
            raise ConfigError(f'distil.camera={s.camera} must be >= 0')
        if not 0 <= s.camera_views <= max(0, s.views - 2):
            raise ConfigError(
                f'distil.camera_views={s.camera_views} must be in 0..views-2 ({s.views - 2})'
            )
        if s.targets not in ('view', 'clean'):
            raise ConfigError(f"distil.targets='{s.targets}' must be 'view' or 'clean'")
        if s.extra_targets not in ('labels', 'teacher'):
            raise ConfigError(
                f"distil.extra_targets='{s.extra_targets}' must be 'labels' or 'teacher'"
            )
        return s


def _zoom(value: Any) -> tuple[float, float] | None:
    """``distil.camera_zoom``: null, or [smallest, largest] scene scale (0 < lo <= hi)."""
    if value is None:
        return None
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f'distil.camera_zoom={value!r} must be null or [lo, hi]') from None
    if not 0 < lo <= hi:
        raise ConfigError(f'distil.camera_zoom={value!r} needs 0 < lo <= hi')
    return (lo, hi)


def kd_loss(
    student_logits: torch.Tensor, teacher_probs: torch.Tensor, labels: torch.Tensor, alpha: float
) -> torch.Tensor:
    """
    ``alpha`` x soft-target cross-entropy + (1 - ``alpha``) x label cross-entropy.

    The soft term averages over every row; the label term over rows whose label is
    not ``UNLABELLED`` (none: the label term is 0).
    """
    logp = F.log_softmax(student_logits, -1)
    soft = -(teacher_probs * logp).sum(-1).mean()
    labelled = labels != UNLABELLED
    hard = F.nll_loss(logp[labelled], labels[labelled]) if labelled.any() else logp.new_zeros(())
    return alpha * soft + (1.0 - alpha) * hard


def make_views(
    images: Sequence[np.ndarray],
    n_views: int,
    strength: float,
    seed: int,
    camera: float = 0.0,
    camera_views: int | None = None,
    zoom: tuple[float, float] | None = None,
) -> Iterator[list[np.ndarray]]:
    """
    Yield ``n_views`` lists of views of ``images``: as is, mirrored, then augmented.

    The last ``camera_views`` views (default: every augmented one) also vary as another
    camera would (``build_augment(camera=...)``); the others get the plain augmentation.
    """
    from .lit_module import build_augment

    aug = build_augment(strength, hflip=True)
    cam = build_augment(strength, hflip=True, camera=camera, zoom=zoom) if camera > 0 else aug
    first_cam = 2 if camera_views is None else n_views - camera_views
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for v in range(n_views):
            if v == 0:
                yield list(images)
            elif v == 1:
                yield [np.ascontiguousarray(im[:, ::-1]) for im in images]
            else:
                tf = cam if v >= first_cam else aug
                if tf is None:
                    raise ConfigError('distil.views > 2 needs distil.strength > 0')
                yield [
                    tf(torch.from_numpy(im).permute(2, 0, 1)).permute(1, 2, 0).numpy().copy()
                    for im in images
                ]


def _batches(
    images: Sequence[np.ndarray], meta: ModelMetadata, size: int = 128
) -> Iterator[torch.Tensor]:
    for i in range(0, len(images), size):
        chunk = [crop_resize(im, 'rgb', meta) for im in images[i : i + size]]
        yield normalize_batch(torch.from_numpy(np.stack(chunk)).permute(0, 3, 1, 2), meta)


def frozen_stem(model: nn.Module) -> nn.Module:
    """Stem + the frozen leading blocks of an ``EfficientNetLite0`` as one module."""
    return nn.Sequential(model.conv_stem, model.bn1, *model.blocks[: model.frozen])


def tail_features(model: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """Pooled features from frozen-stem activations ``h`` (the trained blocks onwards)."""
    x = model.head(model.blocks[model.frozen :](h))
    return torch.flatten(model.pool(x), 1)


def trained_tail(model: nn.Module, h: torch.Tensor) -> torch.Tensor:
    """Logits from frozen-stem activations ``h`` (no dropout: the views are the regulariser)."""
    return model.fc(tail_features(model, h))


class Distiller:
    """
    Fold-independent work done once per CV run, then one ``student`` per training index.

    ``teacher`` is the teacher's frozen backbone (``features``), ``build_student``
    returns a fresh pretrained student; ``images`` and ``extra`` are RGB uint8
    images at the cache size, ``labels`` and ``extra_labels`` their labels.
    """

    def __init__(
        self,
        settings: DistilSettings,
        teacher: nn.Module,
        teacher_meta: ModelMetadata,
        teacher_l2: float,
        build_student: Callable[[], nn.Module],
        student_meta: ModelMetadata,
        images: Sequence[np.ndarray],
        labels: Sequence[int],
        extra: Sequence[np.ndarray] = (),
        extra_labels: Sequence[int] = (),
        seed: int = 0,
    ) -> None:
        self.settings = settings
        self.teacher_l2 = teacher_l2
        self.build_student = build_student
        self.labels = torch.as_tensor(list(labels), dtype=torch.long)
        if settings.extra_targets == 'labels' and len(extra_labels) != len(extra):
            raise ValueError('distil.extra_targets=labels needs one label per extra image')
        self.extra_labels = torch.as_tensor(list(extra_labels), dtype=torch.long)
        probe = build_student()
        if getattr(probe, 'frozen', 0) < 1:
            raise ConfigError(
                'train.method=distil needs an efficientnet_lite0 student with model.freeze >= 1 '
                '(its frozen blocks are computed once per view)'
            )
        stem = frozen_stem(probe).eval()
        teacher.eval()
        feats, acts = [], []
        views = make_views(
            [*images, *extra],
            settings.views,
            settings.strength,
            seed,
            settings.camera,
            settings.camera_views or None,
            settings.camera_zoom,
        )
        with torch.inference_mode():
            for v, view in enumerate(views):
                # 'clean' targets: every augmented view learns the teacher's answer on the
                # image as recorded (views 0 and 1), not on a view it may misjudge.
                if settings.targets == 'view' or v < 2:
                    feats.append(
                        torch.cat(
                            [teacher.features(x).double() for x in _batches(view, teacher_meta)]
                        )
                    )
                acts.append(torch.cat([stem(x) for x in _batches(view, student_meta)]))
        n = len(images)
        self.teacher_features = torch.stack(feats)  # views x images(+extra) x C
        self.activations = torch.stack(acts)
        self.n_real = n

    def fit_teacher(self, index: np.ndarray) -> nn.Linear:
        """Fit the teacher's linear layer on views 0 and 1 of ``index`` only (float64)."""
        idx = torch.as_tensor(index, dtype=torch.long)
        if len(idx) and int(idx.max()) >= self.n_real:
            raise ValueError('the teacher is fitted on real images only')
        views = min(2, self.settings.views)
        x = torch.cat([self.teacher_features[v, idx] for v in range(views)])
        y = self.labels[idx].repeat(views)
        return fit_logistic(x, y, self.teacher_l2).double()

    def student(
        self,
        index: np.ndarray,
        *,
        epochs: int,
        lr: float,
        weight_decay: float,
        batch: int,
        warmup: float,
        seed: int,
    ) -> nn.Module:
        """Train a student on views of ``index`` (+ every extra image); return it in eval mode."""
        s = self.settings
        idx = torch.as_tensor(index, dtype=torch.long)
        rows = torch.cat([idx, torch.arange(self.n_real, self.activations.shape[1])])
        teach = self.fit_teacher(index)
        with torch.no_grad():
            targets = torch.softmax(teach(self.teacher_features[:, rows]) / s.temperature, -1)
            if s.targets == 'clean':
                # views 2.. share the mean of the image's and its mirror's targets
                clean = targets[: min(2, s.views)].mean(0, keepdim=True)
                targets = torch.cat([targets, clean.expand(s.views - len(targets), -1, -1)])
        targets = targets.float()
        n_extra = len(rows) - len(idx)
        if s.extra_targets == 'labels' and n_extra:
            # The teacher never saw the extra domain: its labels are the targets (loss = CE).
            targets[:, len(idx) :] = F.one_hot(self.extra_labels, targets.shape[-1]).float()
            extra_y = self.extra_labels
        else:
            extra_y = torch.full((n_extra,), UNLABELLED, dtype=torch.long)
        labels = torch.cat([self.labels[idx], extra_y])
        model = self.build_student()
        with torch.no_grad():
            model.eval()
            feats = torch.cat(
                [tail_features(model, self.activations[v, idx]) for v in range(min(2, s.views))]
            ).double()
            init = fit_logistic(feats, self.labels[idx].repeat(min(2, s.views)), self.teacher_l2)
            model.fc.weight.copy_(init.weight)
            model.fc.bias.copy_(init.bias)
        params = [p for p in model.parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
        steps = epochs * math.ceil(len(rows) / batch)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=lr, total_steps=max(steps, 1), pct_start=warmup
        )
        gen = torch.Generator().manual_seed(seed)
        model.train()
        for _ in range(steps):
            j = torch.randint(0, len(rows), (batch,), generator=gen)
            v = torch.randint(0, s.views, (batch,), generator=gen)
            loss = kd_loss(
                trained_tail(model, self.activations[v, rows[j]]),
                targets[v, j],
                labels[j],
                s.alpha,
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        return model.eval()
