"""Image sets too large for memory: shuffled batches from DataLoader workers, copied asynchronously."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, RandomSampler, Subset

from gan_cli.data.batches import images_to_float, sample_indices
from gan_cli.data.image_files import ImageFiles


class StreamingImages:
    kind = "image"

    def __init__(
        self, dataset: ImageFiles, n_classes: int, device: torch.device, batch_size: int, workers: int
    ) -> None:
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.workers = workers
        self.dataset = dataset
        self.n_classes = n_classes
        self.num_examples = len(dataset)
        self.shape = (dataset.channels, dataset.size, dataset.size)
        # Shuffling without replacement as shuffle=True would, but an "epoch" is never shorter than
        # one batch: with drop_last, a set smaller than the batch would otherwise yield nothing forever.
        sampler = RandomSampler(dataset, num_samples=max(len(dataset), batch_size))
        self._loader = DataLoader(
            dataset,
            batch_size=batch_size,
            sampler=sampler,
            drop_last=True,
            num_workers=workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=workers > 0,
        )
        self._batches: Iterator | None = None
        self._real_sample_cache: tuple[int, torch.Tensor] | None = None

    def next(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self._batches is None:
            self._batches = iter(self._loader)
        try:
            images_u8, labels = next(self._batches)
        except StopIteration:
            self._batches = iter(self._loader)
            images_u8, labels = next(self._batches)
        x = images_to_float(images_u8.to(self.device, non_blocking=True))
        y = labels.to(self.device, non_blocking=True) if self.n_classes > 0 else None
        return x, y

    def real_sample(self, n: int) -> torch.Tensor:
        # Decoding thousands of files is slow and the sample is fixed, so the last one is kept.
        if self._real_sample_cache is None or self._real_sample_cache[0] != n:
            subset = Subset(self.dataset, sample_indices(self.num_examples, n).tolist())
            loader = DataLoader(
                subset,
                batch_size=256,
                num_workers=self.workers,
                generator=torch.Generator().manual_seed(0),  # worker seeds must not come from the global RNG
            )
            images_u8 = torch.cat([images for images, _ in loader])
            self._real_sample_cache = (n, images_u8.to(self.device))
        return images_to_float(self._real_sample_cache[1])
