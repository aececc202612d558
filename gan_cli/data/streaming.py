"""Image sets too large for memory: shuffled batches from DataLoader workers, copied asynchronously."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, RandomSampler, Subset

from gan_cli.data.batches import images_to_float, sample_indices
from gan_cli.data.image_files import ImageFiles, UndecodableImages
from gan_cli.errors import UserError


def loader_failure(error: BaseException) -> UserError | None:
    """The one line for a DataLoader failure the user can act on, or None for anything else.

    A worker's exception reaches this process rebuilt around the worker's traceback text, so the
    message is taken from that text's last line.
    """
    if isinstance(error, UndecodableImages):
        last = str(error).strip().splitlines()[-1] if str(error).strip() else ""
        return UserError(last.rsplit(f"{UndecodableImages.__name__}: ", 1)[-1])
    text = str(error).strip()
    # torch's wording when a worker exits without reporting (killed, e.g. by the OOM killer, or crashed).
    if isinstance(error, RuntimeError) and text.startswith("DataLoader worker"):
        reason = text.splitlines()[0].rstrip(". ")
        return UserError(
            f"a data loading worker stopped ({reason}); the machine may be out of memory: "
            "lower data.workers, or data.workers=0 to load in this process"
        )
    return None


@contextlib.contextmanager
def one_line_loader_errors() -> Iterator[None]:
    """Around anything that iterates a DataLoader: its actionable failures become one UserError line."""
    try:
        yield
    except (UndecodableImages, RuntimeError) as error:
        failure = loader_failure(error)
        if failure is None:
            raise
        raise failure from None


class StreamingImages:
    kind = "image"

    def __init__(
        self,
        dataset: ImageFiles,
        n_classes: int,
        device: torch.device,
        batch_size: int,
        workers: int,
        subset: object = None,
    ) -> None:
        """subset: the gan_cli.data.subsets.Subset these files are (None: the whole folder)."""
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.workers = workers
        self.dataset = dataset
        self.n_classes = n_classes
        self.subset = subset
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
        with one_line_loader_errors():
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
            with one_line_loader_errors():
                images_u8 = torch.cat([images for images, _ in loader])
            self._real_sample_cache = (n, images_u8.to(self.device))
        return images_to_float(self._real_sample_cache[1])
