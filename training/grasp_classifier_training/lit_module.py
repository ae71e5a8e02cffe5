# Copyright 2026 The grasp_classifier_ros Authors
# SPDX-License-Identifier: Apache-2.0
"""
Lightning pieces: cached image sets, augmentation, the data module and the model module.

Images are cached as uint8. Every sample leaves the dataset through
``grasp_classifier_ros.core.preprocess.crop_resize`` (the runtime's resize) and is
normalised on the device by ``normalize_batch`` (the runtime's arithmetic),
so training sees exactly what the node feeds the model. Augmentation runs
before that final resize, at the cache resolution.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from grasp_classifier_ros.core.metadata import ModelMetadata
from grasp_classifier_ros.core.preprocess import crop_resize, normalize_batch
import lightning as L  # noqa: N812
import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812
from torch.utils.data import DataLoader, Dataset, RandomSampler, Sampler, WeightedRandomSampler
from torchmetrics import MeanMetric
from torchmetrics.classification import MulticlassAccuracy
from torchvision.transforms import v2

from .models import build_model, ModelConfig

Augment = Callable[[torch.Tensor], torch.Tensor]


class CameraWarp:
    """
    Another camera's lens and mount: random field of view and pitch, borders reflected.

    Zoom ``scale`` (log-uniform in ``zoom``; < 1 sees more, the scene continuing by
    reflection), the top edge narrowed or widened by up to ``pitch`` of the width
    (perspective) and the scene moved by up to ``drop`` of the height, with probability
    ``p``. Random numbers come from torch, so ``torch.manual_seed`` fixes the views.
    """

    def __init__(
        self, zoom: tuple[float, float], pitch: float, drop: float, p: float = 0.8
    ) -> None:
        self.zoom, self.pitch, self.drop, self.p = zoom, pitch, drop, p

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        import cv2

        u = torch.rand(5).tolist()
        if u[0] >= self.p:
            return img
        h, w = int(img.shape[-2]), int(img.shape[-1])
        lo, hi = np.log(self.zoom[0]), np.log(self.zoom[1])
        scale = float(np.exp(lo + (hi - lo) * u[1]))
        d = (2 * u[2] - 1) * self.pitch * w / 2
        dy = (2 * u[3] - 1) * self.drop * h
        cx, cy = (w - 1) / 2, (h - 1) / 2
        src = np.float32([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]])
        dst = np.float32([[d, dy], [w - 1 - d, dy], [w - 1, h - 1 + dy], [0, h - 1 + dy]])
        dst = (dst - [cx, cy]) * scale + [cx, cy]
        m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
        hwc = np.ascontiguousarray(img.permute(1, 2, 0).numpy())
        out = cv2.warpPerspective(
            hwc, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
        )
        return torch.from_numpy(out).permute(2, 0, 1)


class SensorColour:
    """A different sensor: per-channel gains (white balance), gamma, then Gaussian noise."""

    def __init__(self, gain: float, gamma: float, noise_sd: float, p: float = 0.8) -> None:
        self.gain, self.gamma, self.noise_sd, self.p = gain, gamma, noise_sd, p

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        if float(torch.rand(())) >= self.p:
            return img
        u = torch.rand(5)
        gains = 1.0 + self.gain * (2 * u[:3] - 1)
        gamma = float(np.exp(self.gamma * (2 * float(u[3]) - 1)))
        x = (img.float() / 255.0) ** gamma * gains.view(3, 1, 1)
        x = x + torch.randn(x.shape) * (self.noise_sd * float(u[4]) / 255.0)
        return (x.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8)


def build_augment(
    strength: float,
    hflip: bool = True,
    camera: float = 0.0,
    zoom: tuple[float, float] | None = None,
) -> Augment | None:
    """
    Return a torchvision v2 pipeline on uint8 ``(3, H, W)`` tensors, or None for strength 0.

    Keeps the size: a random resized crop re-fills the cached resolution, and
    the runtime resize to the model input happens afterwards. ``camera`` > 0 adds
    what another robot's camera changes (``CameraWarp``: field of view and pitch;
    ``SensorColour``: white balance, gamma, noise; blur; JPEG), scaled by ``camera``;
    ``zoom`` overrides its field-of-view range (scene scale, < 1: a wider lens).
    """
    s = float(strength)
    if s <= 0:
        return None
    c = float(camera)
    ops: list[Any] = [
        v2.RandomResizedCrop(
            size=(1, 1),  # replaced per call by _SameSize
            scale=(max(0.3, 1.0 - 0.35 * s), 1.0),
            ratio=(1.0 - 0.15 * s, 1.0 + 0.15 * s),
            antialias=True,
        )
    ]
    if hflip:
        ops.append(v2.RandomHorizontalFlip())
    ops += [
        v2.RandomApply([v2.RandomRotation(degrees=12.0 * s)], p=0.5),
        v2.ColorJitter(brightness=0.4 * s, contrast=0.4 * s, saturation=0.4 * s, hue=0.04 * s),
        # Real frames are often blurred and dark.
        v2.RandomApply([v2.GaussianBlur(kernel_size=5, sigma=(0.1, 1.5))], p=min(1.0, 0.3 * s)),
        v2.RandomGrayscale(p=min(1.0, 0.05 * s)),
    ]
    if c > 0:
        scale = zoom or (1.0 - 0.45 * c, 1.0 + 0.4 * c)
        ops.insert(1, CameraWarp(scale, pitch=0.35 * c, drop=0.15 * c))
        ops += [
            SensorColour(gain=0.3 * c, gamma=0.35 * c, noise_sd=16.0 * c),
            v2.RandomApply([v2.GaussianBlur(kernel_size=7, sigma=(0.5, 2.5))], p=0.3 * c),
            v2.RandomApply([v2.JPEG((max(5, round(60 - 45 * c)), 95))], p=0.5 * c),
        ]
    return _SameSize(v2.Compose(ops))


class _SameSize:
    """Run a v2 pipeline whose RandomResizedCrop outputs the input's own size."""

    def __init__(self, pipeline: v2.Compose) -> None:
        self.pipeline = pipeline
        self.crop = pipeline.transforms[0]

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        self.crop.size = (int(img.shape[-2]), int(img.shape[-1]))
        return self.pipeline(img)


class CachedImageSet(Dataset[tuple[torch.Tensor, int]]):
    """In-memory uint8 RGB images yielding model-input-sized ``(3, H, W)`` uint8 tensors."""

    def __init__(
        self,
        images: Sequence[np.ndarray],
        labels: Sequence[int],
        meta: ModelMetadata,
        augment: Augment | None = None,
    ) -> None:
        if len(images) != len(labels):
            raise ValueError(f'{len(images)} images but {len(labels)} labels')
        self.images = list(images)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.meta = meta
        self.augment = augment

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        img = self.images[i]
        if self.augment is not None:
            # Small per-image ops: extra intra-op threads only add synchronisation, which
            # costs a lot on busy cores. The output bytes do not depend on the thread count.
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                t = self.augment(torch.from_numpy(img).permute(2, 0, 1))
            finally:
                torch.set_num_threads(threads)
            img = t.permute(1, 2, 0).numpy()
        small = crop_resize(img, 'rgb', self.meta)
        return torch.from_numpy(small).permute(2, 0, 1).contiguous(), int(self.labels[i])


def sample_weights(
    labels: Sequence[int] | np.ndarray,
    sources: Sequence[int] | np.ndarray,
    shares: dict[int, float] | None = None,
) -> np.ndarray:
    """
    Return sampling weights balancing classes within each source folder.

    Each source's total weight is ``shares[source]`` (normalised), or by
    default its share of the images.
    """
    labels_a = np.asarray(labels)
    sources_a = np.asarray(sources)
    weights = np.zeros(len(labels_a), dtype=np.float64)
    present = np.unique(sources_a)
    if shares is None:
        shares = {int(src): float((sources_a == src).sum()) for src in present}
    total = sum(shares.get(int(src), 0.0) for src in present)
    for src in present:
        in_src = sources_a == src
        classes = np.unique(labels_a[in_src])
        for c in classes:
            sel = in_src & (labels_a == c)
            weights[sel] = shares.get(int(src), 0.0) / total / (len(classes) * sel.sum())
    return weights * len(labels_a)


class ShardedSampler(Sampler[int]):
    """
    One process's share of a sampler's draw: every ``world``-th index from ``rank`` on.

    Every process draws the same indices (same seed), so at each step the processes'
    batches together are exactly the batch one process would load: DDP then matches a
    single process (Lightning's own wrapper reshuffles the draw). Padded with the
    draw's first indices so every process runs the same number of steps.
    """

    def __init__(self, sampler: Sampler[int], rank: int, world: int) -> None:
        self.sampler, self.rank, self.world = sampler, rank, world

    def __iter__(self) -> Iterator[int]:
        draw = list(self.sampler)
        draw += draw[: (-len(draw)) % self.world]
        return iter(draw[self.rank :: self.world])

    def __len__(self) -> int:
        return -(-len(self.sampler) // self.world)  # type: ignore[arg-type]


@dataclass
class Loaders:
    """Dataloader settings shared by the data module."""

    batch_size: int = 64
    num_workers: int = 0
    balance: str = 'sampler'  # 'sampler' | 'loss' | 'none'
    seed: int = 0
    source_shares: dict[int, float] | None = None  # sampler mass per source folder


class GraspDataModule(L.LightningDataModule):
    """
    Serve cached train/val/test sets; val and test are both validation loaders.

    The test set rides along as the second validation dataloader so that the
    model module can report test metrics every ``test_every`` epochs with the
    same (DDP-synchronised) machinery. Under DDP (``Trainer(use_distributed_sampler=
    False)``) the training draw is sharded by ``ShardedSampler`` and
    ``train.batch_size`` is the global batch; every process scores the whole
    val and test sets (small), so the synchronised metrics equal one process's.
    """

    def __init__(
        self,
        train: CachedImageSet,
        val: CachedImageSet,
        test: CachedImageSet | None,
        loaders: Loaders,
        train_sources: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        self.train_set, self.val_set, self.test_set = train, val, test
        self.loaders = loaders
        self.train_sources = list(train_sources) if train_sources is not None else [0] * len(train)

    @property
    def per_process_batch(self) -> int:
        """``batch_size`` is the global batch: each of the run's processes loads its share."""
        world = self.trainer.world_size if self.trainer is not None else 1
        return max(1, self.loaders.batch_size // world)

    def _loader(self, ds: CachedImageSet, **kw: Any) -> DataLoader[tuple[torch.Tensor, int]]:
        return DataLoader(
            ds,
            batch_size=self.per_process_batch,
            num_workers=self.loaders.num_workers,
            persistent_workers=self.loaders.num_workers > 0,
            **kw,
        )

    def train_dataloader(self) -> DataLoader[tuple[torch.Tensor, int]]:
        gen = torch.Generator().manual_seed(self.loaders.seed)
        sampler: Sampler[int]
        if self.loaders.balance == 'sampler':
            weights = sample_weights(
                self.train_set.labels, self.train_sources, self.loaders.source_shares
            )
            sampler = WeightedRandomSampler(
                weights.tolist(), len(weights), replacement=True, generator=gen
            )
        else:
            sampler = RandomSampler(self.train_set, generator=gen)
        if self.trainer is not None and self.trainer.world_size > 1:
            sampler = ShardedSampler(sampler, self.trainer.global_rank, self.trainer.world_size)
        return self._loader(self.train_set, sampler=sampler, drop_last=False)

    def val_dataloader(self) -> list[DataLoader[tuple[torch.Tensor, int]]]:
        loaders = [self._loader(self.val_set)]
        if self.test_set is not None and len(self.test_set):
            loaders.append(self._loader(self.test_set))
        return loaders


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser and loss settings."""

    lr: float = 3e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.0
    warmup_fraction: float = 0.1
    layer_decay: float = (
        1.0  # models with lr_groups(): lr factor per layer step back from the head
    )


class GraspLitModule(L.LightningModule):
    """Train a registry model on uint8 batches normalised exactly as at run time."""

    def __init__(
        self,
        model_cfg: ModelConfig,
        meta: ModelMetadata,
        optim: OptimConfig,
        class_weights: Sequence[float] | None = None,
        test_every: int = 2,
    ) -> None:
        super().__init__()
        self.model_cfg = model_cfg
        self.model = build_model(model_cfg)
        self.meta = meta
        self.optim = optim
        self.test_every = max(1, int(test_every))
        self.class_weight: torch.Tensor | None
        weight = torch.tensor(list(class_weights), dtype=torch.float32) if class_weights else None
        self.register_buffer('class_weight', weight, persistent=False)
        n = meta.num_classes
        self.train_loss = MeanMetric()
        self.val_loss = MeanMetric()
        self.test_loss = MeanMetric()
        self.val_acc = MulticlassAccuracy(num_classes=n, average='micro')
        self.val_class_acc = MulticlassAccuracy(num_classes=n, average=None)
        self.test_acc = MulticlassAccuracy(num_classes=n, average='micro')
        self.test_class_acc = MulticlassAccuracy(num_classes=n, average=None)
        self.epoch_metrics: dict[str, float] = {}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map a uint8 ``(N, 3, H, W)`` batch to logits."""
        return self.model(normalize_batch(images, self.meta))

    def _loss(self, logits: torch.Tensor, y: torch.Tensor, train: bool) -> torch.Tensor:
        return F.cross_entropy(
            logits.float(),
            y,
            weight=self.class_weight,
            label_smoothing=self.optim.label_smoothing if train else 0.0,
        )

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> Any:
        x, y = batch
        loss = self._loss(self(x), y, train=True)
        self.train_loss.update(loss.detach(), weight=y.shape[0])
        self.log('loss', loss.detach(), prog_bar=True, on_step=True, on_epoch=False)
        return loss

    def is_test_epoch(self) -> bool:
        return (self.current_epoch + 1) % self.test_every == 0

    def validation_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if dataloader_idx == 1 and (self.trainer.sanity_checking or not self.is_test_epoch()):
            return
        x, y = batch
        logits = self(x)
        loss = self._loss(logits, y, train=False)
        if dataloader_idx == 0:
            self.val_loss.update(loss, weight=y.shape[0])
            self.val_acc.update(logits, y)
            self.val_class_acc.update(logits, y)
        else:
            self.test_loss.update(loss, weight=y.shape[0])
            self.test_acc.update(logits, y)
            self.test_class_acc.update(logits, y)

    def on_validation_epoch_end(self) -> None:
        metrics: dict[str, float] = {}
        if not self.trainer.sanity_checking:
            metrics['epoch'] = float(self.current_epoch + 1)
            metrics['train_loss'] = float(self.train_loss.compute())
            metrics['lr'] = float(self.trainer.optimizers[0].param_groups[0]['lr'])
            for prefix, loss, acc, per_class in (
                ('val', self.val_loss, self.val_acc, self.val_class_acc),
                ('test', self.test_loss, self.test_acc, self.test_class_acc),
            ):
                if prefix == 'test' and (not self.is_test_epoch() or not loss.update_count):
                    continue
                metrics[f'{prefix}_loss'] = float(loss.compute())
                metrics[f'{prefix}_acc'] = float(acc.compute())
                class_acc = per_class.compute()
                for name, value in zip(self.meta.class_names, class_acc.tolist()):
                    metrics[f'{prefix}_acc_{name}'] = float(value)
                metrics[f'{prefix}_bal_acc'] = float(class_acc.mean())
            self.epoch_metrics = metrics
            shown = ('val_loss', 'val_acc')
            rest = {k: v for k, v in metrics.items() if k != 'epoch' and k not in shown}
            self.log_dict(rest, add_dataloader_idx=False)
            self.log_dict({k: metrics[k] for k in shown}, prog_bar=True, add_dataloader_idx=False)
        for m in (
            self.train_loss,
            self.val_loss,
            self.test_loss,
            self.val_acc,
            self.val_class_acc,
            self.test_acc,
            self.test_class_acc,
        ):
            m.reset()

    def param_groups(self) -> list[dict[str, Any]]:
        """AdamW groups: no weight decay on biases/norms; per-layer learning rates if offered."""
        lr_groups = getattr(self.model, 'lr_groups', None)
        if callable(lr_groups):
            layers = lr_groups(self.optim.layer_decay)
        else:
            if self.optim.layer_decay != 1.0:
                raise ValueError(
                    f'optim.layer_decay={self.optim.layer_decay} needs a model with layer '
                    f'groups (efficientnet_lite0), not {self.model_cfg.name}'
                )
            layers = [([p for p in self.model.parameters() if p.requires_grad], 1.0)]
        groups = []
        for params, factor in layers:
            for decay in (True, False):
                chosen = [p for p in params if (p.ndim > 1) == decay]
                if chosen:
                    groups.append(
                        {
                            'params': chosen,
                            'weight_decay': self.optim.weight_decay if decay else 0.0,
                            'lr': self.optim.lr * factor,
                        }
                    )
        return groups

    def configure_optimizers(self) -> Any:
        groups = self.param_groups()
        opt = torch.optim.AdamW(groups, lr=self.optim.lr)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt,
            max_lr=[g['lr'] for g in groups],
            total_steps=total,
            pct_start=min(0.5, max(0.01, self.optim.warmup_fraction)),
        )
        return {'optimizer': opt, 'lr_scheduler': {'scheduler': sched, 'interval': 'step'}}
