"""Image folders: discovery, labels from subfolders, resizing, in-memory vs streaming, bad files."""

import logging

import pytest
import torch
from PIL import Image

import gan_cli.data as data
from gan_cli.data.memory import InMemoryImages
from gan_cli.data.streaming import StreamingImages
from gan_cli.errors import DataNotFoundError, UserError

from .fakes import assert_one_line, data_cfg, write_png

# Different sizes and aspect ratios, grayscale and colour, upper- and lower-case extensions.
IMAGE_SPECS = [(40, 30, "RGB"), (20, 50, "L"), (16, 16, "RGB"), (33, 17, "L"), (64, 20, "RGB")]


def folder_cfg(path, **overrides):
    fields = {"name": "folder", "path": str(path), "image_size": 16, "channels": 3, "workers": 0}
    return data_cfg(**{**fields, **overrides})


@pytest.fixture
def flat_folder(tmp_path):
    folder = tmp_path / "flat"
    for index, (width, height, mode) in enumerate(IMAGE_SPECS):
        extension = "PNG" if index % 2 else "png"
        write_png(folder / f"img{index}.{extension}", width, height, mode, seed=index)
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture
def class_folder(tmp_path):
    folder = tmp_path / "classes"
    for index, (width, height, mode) in enumerate(IMAGE_SPECS):
        write_png(folder / "cat" / f"c{index}.png", width, height, mode, seed=index)
    for index, (width, height, mode) in enumerate(IMAGE_SPECS[:3]):
        write_png(folder / "dog" / "nested" / f"d{index}.png", width, height, mode, seed=10 + index)
    return folder


@pytest.mark.parametrize("max_memory_mb", [1024, 0], ids=["in_memory", "streaming"])
@pytest.mark.parametrize("channels", [1, 3])
def test_flat_folder_gives_unlabelled_images(flat_folder, max_memory_mb, channels):
    batches = data.build(folder_cfg(flat_folder, channels=channels, max_memory_mb=max_memory_mb), "cpu", 4)
    expected_type = InMemoryImages if max_memory_mb else StreamingImages
    assert isinstance(batches, expected_type)
    assert (batches.shape, batches.kind, batches.n_classes) == ((channels, 16, 16), "image", 0)
    assert batches.num_examples == len(IMAGE_SPECS)
    x, y = batches.next()
    assert x.shape == (4, channels, 16, 16) and x.dtype == torch.float32 and y is None
    assert x.min() >= -1 and x.max() <= 1


def test_in_memory_and_streaming_decode_identical_images(class_folder):
    in_memory = data.build(folder_cfg(class_folder), "cpu", 4)
    streaming = data.build(folder_cfg(class_folder, max_memory_mb=0), "cpu", 4)
    count = in_memory.num_examples
    assert count == streaming.num_examples == 8
    assert torch.equal(in_memory.real_sample(count), streaming.real_sample(count))


@pytest.mark.parametrize("max_memory_mb", [1024, 0], ids=["in_memory", "streaming"])
def test_first_level_subfolders_are_sorted_classes(class_folder, max_memory_mb):
    batches = data.build(folder_cfg(class_folder, max_memory_mb=max_memory_mb), "cpu", 8)
    assert batches.n_classes == 2
    seen = torch.cat([batches.next()[1] for _ in range(4)])
    assert seen.dtype == torch.int64 and set(seen.tolist()) <= {0, 1}
    if max_memory_mb:
        assert batches.labels.tolist() == [0] * 5 + [1] * 3  # cat before dog


def test_a_single_subfolder_is_not_a_class(tmp_path):
    write_png(tmp_path / "img_align" / "a.png", 20, 20)
    write_png(tmp_path / "img_align" / "b.png", 20, 20)
    batches = data.build(folder_cfg(tmp_path), "cpu", 2)
    assert batches.n_classes == 0 and batches.next()[1] is None


def test_hidden_files_and_folders_are_ignored(tmp_path):
    write_png(tmp_path / "a" / "x.png", 20, 20)
    write_png(tmp_path / "b" / "y.png", 20, 20)
    write_png(tmp_path / ".ipynb_checkpoints" / "z.png", 20, 20)
    (tmp_path / "a" / "._x.png").write_bytes(b"macOS resource fork")
    batches = data.build(folder_cfg(tmp_path), "cpu", 2)
    assert (batches.num_examples, batches.n_classes) == (2, 2)


def test_images_are_resized_by_the_shorter_side_then_center_cropped(tmp_path):
    # 32 wide, 16 high, each pixel's value its column: already 16 on the short side, so only
    # the crop acts and must keep columns 8..23.
    columns = torch.arange(32, dtype=torch.uint8).repeat(16, 1)
    Image.fromarray(columns.numpy()).save(tmp_path / "wide.png")
    batches = data.build(folder_cfg(tmp_path, channels=1), "cpu", 1)
    assert torch.equal(batches.images[0, 0], columns[:, 8:24])


def test_channels_convert_grayscale_to_rgb(tmp_path):
    write_png(tmp_path / "gray.png", 16, 16, "L")
    batches = data.build(folder_cfg(tmp_path, channels=3), "cpu", 1)
    red, green, blue = batches.images[0]
    assert torch.equal(red, green) and torch.equal(green, blue)


def test_pixel_extremes_map_exactly_to_minus_one_and_one(tmp_path):
    write_png(tmp_path / "a.png", 16, 16, "L")  # holds a 0 and a 255 pixel
    sample = data.build(folder_cfg(tmp_path, channels=1), "cpu", 1).real_sample(1)
    assert sample.min().item() == -1.0 and sample.max().item() == 1.0


@pytest.mark.parametrize("max_memory_mb", [1024, 0], ids=["in_memory", "streaming"])
def test_unreadable_files_are_skipped_with_one_warning(flat_folder, caplog, max_memory_mb):
    (flat_folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (flat_folder / "empty.jpg").write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="gan_cli.data"):
        batches = data.build(folder_cfg(flat_folder, max_memory_mb=max_memory_mb), "cpu", 2)
    assert batches.num_examples == len(IMAGE_SPECS)
    warnings = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].name == "gan_cli.data"
    assert "skipped 2 of 7" in warnings[0].getMessage() and "\n" not in warnings[0].getMessage()
    assert batches.next()[0].shape == (2, 3, 16, 16)


@pytest.mark.parametrize("max_memory_mb", [1024, 0], ids=["in_memory", "streaming"])
def test_strict_makes_an_unreadable_file_an_error_naming_it(flat_folder, max_memory_mb):
    (flat_folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(UserError) as caught:
        data.build(folder_cfg(flat_folder, max_memory_mb=max_memory_mb, strict=True), "cpu", 2)
    message = assert_one_line(caught.value)
    assert "cannot read image" in message and "broken.png" in message and "data.strict=false" in message


def test_a_folder_of_only_broken_images_is_a_user_error(tmp_path):
    (tmp_path / "a.png").write_bytes(b"nope")
    with pytest.raises(UserError) as caught:
        data.build(folder_cfg(tmp_path), "cpu", 2)
    assert "none of the 1 image files" in assert_one_line(caught.value)


def test_empty_folder_names_the_folder_and_the_extensions(tmp_path):
    (tmp_path / "readme.md").write_text("no images here")
    with pytest.raises(UserError) as caught:
        data.build(folder_cfg(tmp_path), "cpu", 2)
    message = assert_one_line(caught.value)
    assert str(tmp_path) in message and ".png" in message and ".jpg" in message


def test_missing_folder_names_the_path(tmp_path):
    with pytest.raises(DataNotFoundError) as caught:
        data.build(folder_cfg(tmp_path / "missing"), "cpu", 2)
    assert str(tmp_path / "missing") in assert_one_line(caught.value)


def test_streaming_works_when_the_set_is_smaller_than_a_batch(flat_folder):
    batches = data.build(folder_cfg(flat_folder, max_memory_mb=0), "cpu", 12)
    for _ in range(3):
        assert batches.next()[0].shape == (12, 3, 16, 16)


def test_streaming_is_reproducible_from_the_torch_seed(class_folder):
    batches = data.build(folder_cfg(class_folder, max_memory_mb=0), "cpu", 3)
    torch.manual_seed(0)
    first = [batches.next() for _ in range(4)]
    batches = data.build(folder_cfg(class_folder, max_memory_mb=0), "cpu", 3)
    torch.manual_seed(0)
    second = [batches.next() for _ in range(4)]
    for (x1, y1), (x2, y2) in zip(first, second, strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)


def test_worker_processes_decode_the_same_images(class_folder):
    single = data.build(folder_cfg(class_folder), "cpu", 2)
    parallel = data.build(folder_cfg(class_folder, workers=2), "cpu", 2)
    assert torch.equal(single.images, parallel.images)
    assert torch.equal(single.labels, parallel.labels)
    streaming = data.build(folder_cfg(class_folder, workers=2, max_memory_mb=0), "cpu", 3)
    for _ in range(5):  # more batches than one pass holds, so the persistent workers restart a pass
        x, y = streaming.next()
        assert x.shape == (3, 3, 16, 16) and y.shape == (3,)


@pytest.mark.parametrize(
    "field", [{"channels": 4}, {"image_size": 0}, {"workers": -1}, {"max_memory_mb": -5}]
)
def test_out_of_range_settings_are_user_errors(flat_folder, field):
    with pytest.raises(UserError):
        data.build(folder_cfg(flat_folder, **field), "cpu", 2)
