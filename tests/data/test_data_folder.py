"""Image folders: discovery, labels from subfolders, resizing, in-memory vs streaming, bad files."""

import logging
import os
import signal

import pytest
import torch
from PIL import Image

import gan_cli.data as data
from gan_cli.data import memory
from gan_cli.data.image_files import ImageFiles, find_images
from gan_cli.data.memory import InMemoryImages
from gan_cli.data.streaming import StreamingImages
from gan_cli.errors import DataNotFoundError, UserError

from .fakes import assert_one_line, data_cfg, deadline, write_jpeg, write_png

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


# ---- folders built to hang or break the reader ------------------------------------------------------
def test_links_to_the_folder_itself_end_the_walk(tmp_path):
    write_png(tmp_path / "a.png", 8, 8)
    (tmp_path / "a").symlink_to(".")
    (tmp_path / "b").symlink_to(".")
    with deadline(20):
        listing = find_images(tmp_path)
    assert listing.files == [str(tmp_path / "a.png")] and listing.labels is None


def test_a_link_loop_deeper_down_is_walked_once(tmp_path):
    write_png(tmp_path / "cats" / "deep" / "c.png", 8, 8)
    write_png(tmp_path / "dogs" / "d.png", 8, 8, seed=1)
    (tmp_path / "cats" / "deep" / "up").symlink_to("../..")
    (tmp_path / "dogs" / "cats_again").symlink_to("../cats")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "dogs").symlink_to("../dogs")  # a folder of links to photo folders
    with deadline(20):
        listing = find_images(tmp_path)
    # Each real folder once, under its shortest path: cats/ and dogs/ stay two classes.
    assert listing.files == [str(tmp_path / "cats" / "deep" / "c.png"), str(tmp_path / "dogs" / "d.png")]
    assert listing.class_names == ["cats", "dogs"] and listing.labels == [0, 1]


def test_a_linked_folder_of_images_is_followed(tmp_path):
    write_png(tmp_path / "elsewhere" / "a.png", 8, 8)
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "linked").symlink_to(tmp_path / "elsewhere")
    assert find_images(tmp_path / "set").files == [str(tmp_path / "set" / "linked" / "a.png")]


def test_fifos_and_devices_named_like_images_are_left_out(tmp_path):
    write_png(tmp_path / "a.png", 8, 8)
    os.mkfifo(tmp_path / "pipe.png")  # opening it would wait for a writer for ever
    (tmp_path / "zeros.jpg").symlink_to("/dev/zero")
    (tmp_path / "dangling.png").symlink_to(tmp_path / "gone.png")
    with deadline(20):
        batches = data.build(folder_cfg(tmp_path), "cpu", 2)
    assert batches.num_examples == 1


def test_paths_with_spaces_and_non_ascii_names_work(tmp_path):
    folder = tmp_path / "my photos, josé=1"
    write_png(folder / "ünï cödé.png", 8, 8)
    write_png(folder / "b c.PNG", 8, 8, seed=1)
    assert data.build(folder_cfg(folder), "cpu", 2).num_examples == 2


def test_a_path_that_is_a_file_is_one_line(flat_folder):
    with pytest.raises(UserError) as caught:
        data.build(folder_cfg(flat_folder / "img0.png"), "cpu", 2)
    assert "is a file" in assert_one_line(caught.value)


def test_a_folder_of_non_images_is_one_line(tmp_path):
    for name in ("a.txt", "b.csv", "c"):
        (tmp_path / name).write_text("x")
    with pytest.raises(UserError) as caught:
        data.build(folder_cfg(tmp_path), "cpu", 2)
    assert "no images in" in assert_one_line(caught.value)


requires_permissions = pytest.mark.skipif(
    os.geteuid() == 0, reason="root reads files whatever their permissions"
)


@requires_permissions
def test_files_without_read_permission_are_unreadable_images(flat_folder):
    for path in flat_folder.glob("*.[pP][nN][gG]"):
        path.chmod(0)
    try:
        with pytest.raises(UserError) as caught:
            data.build(folder_cfg(flat_folder), "cpu", 2)
    finally:
        for path in flat_folder.glob("*.[pP][nN][gG]"):
            path.chmod(0o644)
    assert "none of the 5 image files" in assert_one_line(caught.value)


@requires_permissions
def test_a_folder_without_read_permission_is_one_line(flat_folder):
    flat_folder.chmod(0)
    try:
        with pytest.raises(UserError) as caught:
            data.build(folder_cfg(flat_folder), "cpu", 2)
    finally:
        flat_folder.chmod(0o755)
    assert "cannot read the image folder" in assert_one_line(caught.value)


def test_an_unlistable_subfolder_is_skipped_with_one_warning(tmp_path, monkeypatch, caplog):
    write_png(tmp_path / "ok" / "a.png", 8, 8)
    write_png(tmp_path / "locked" / "b.png", 8, 8)
    real_scandir = os.scandir

    def scandir(path):  # a permission the test cannot take away when it runs as root
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with caplog.at_level(logging.WARNING, logger="gan_cli.data"):
        listing = find_images(tmp_path)
    assert listing.files == [str(tmp_path / "ok" / "a.png")]
    (warning,) = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert "skipped 1 subfolder(s)" in warning and "Permission denied" in warning


# ---- truncated files while streaming ----------------------------------------------------------------
@pytest.fixture
def jpeg_folder(tmp_path):
    folder = tmp_path / "jpegs"
    for index in range(4):
        write_jpeg(folder / f"good{index}.jpg", seed=index)
    return folder


@pytest.mark.parametrize("workers", [0, 1])
def test_truncated_jpegs_are_found_before_streaming(jpeg_folder, caplog, workers):
    write_jpeg(jpeg_folder / "cut.jpg", seed=9, keep=0.5)
    with caplog.at_level(logging.WARNING, logger="gan_cli.data"):
        batches = data.build(folder_cfg(jpeg_folder, max_memory_mb=0, workers=workers), "cpu", 8)
    assert batches.num_examples == 4
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 1 and "skipped 1 of 5" in warnings[0] and "cut.jpg" in warnings[0]
    with deadline(60):
        assert batches.next()[0].shape == (8, 3, 16, 16)


def test_strict_refuses_a_truncated_jpeg_before_streaming(jpeg_folder):
    write_jpeg(jpeg_folder / "cut.jpg", seed=9, keep=0.5)
    with pytest.raises(UserError) as caught:
        data.build(folder_cfg(jpeg_folder, max_memory_mb=0, strict=True), "cpu", 2)
    assert "cut.jpg" in assert_one_line(caught.value)


def test_a_folder_of_only_truncated_jpegs_is_one_line(tmp_path):
    for index in range(3):
        write_jpeg(tmp_path / f"{index}.jpg", seed=index, keep=0.6)
    with pytest.raises(UserError) as caught:
        data.build(folder_cfg(tmp_path, max_memory_mb=0, workers=1), "cpu", 2)
    assert "none of the 3 image files" in assert_one_line(caught.value)


def test_padding_after_a_jpeg_end_marker_is_not_truncation(jpeg_folder):
    path = jpeg_folder / "good0.jpg"
    path.write_bytes(path.read_bytes() + b"\x00" * 100)
    assert data.build(folder_cfg(jpeg_folder, max_memory_mb=0), "cpu", 2).num_examples == 4


def streamed(files, workers, strict=False):
    return StreamingImages(ImageFiles(files, None, 3, 16, strict), 0, torch.device("cpu"), 4, workers)


@pytest.mark.parametrize("workers", [0, 1])
def test_files_that_fail_only_while_streaming_are_one_line(tmp_path, workers):
    files = []
    for index in range(3):
        (tmp_path / f"{index}.png").write_bytes(b"damaged after the probe")
        files.append(str(tmp_path / f"{index}.png"))
    batches = streamed(files, workers)
    with deadline(60), pytest.raises(UserError) as caught:
        batches.next()
    assert "cannot decode 3 image files in a row" in assert_one_line(caught.value)


@pytest.mark.parametrize("workers", [0, 1])
def test_strict_stops_at_the_first_file_that_fails_while_streaming(jpeg_folder, workers):
    files = sorted(str(path) for path in jpeg_folder.iterdir())
    (jpeg_folder / "good2.jpg").write_bytes(b"damaged after the probe")
    batches = streamed(files, workers, strict=True)
    with deadline(60), pytest.raises(UserError) as caught:
        batches.next()
    message = assert_one_line(caught.value)
    assert "good2.jpg" in message and "data.strict=false" in message


class _KillsItsWorker(torch.utils.data.Dataset):
    channels, size = 3, 16

    def __len__(self):
        return 8

    def __getitem__(self, index):
        os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would


def test_a_worker_that_dies_is_one_line_not_a_hang():
    batches = StreamingImages(_KillsItsWorker(), 0, torch.device("cpu"), 4, workers=1)
    with deadline(60), pytest.raises(UserError) as caught:
        batches.next()
    message = assert_one_line(caught.value)
    assert "a data loading worker stopped" in message and "data.workers" in message


def test_a_memory_budget_beyond_the_machine_streams(flat_folder, monkeypatch):
    monkeypatch.setattr(memory, "physical_memory_bytes", lambda: 1000)  # less than 5 images of 16x16x3
    batches = data.build(folder_cfg(flat_folder, max_memory_mb=10**9), "cpu", 2)
    assert isinstance(batches, StreamingImages) and batches.num_examples == len(IMAGE_SPECS)


# ---- data.channels=auto -------------------------------------------------------------------------
def write_gray_as_rgb(path, size=12, seed=0):
    """A colour PNG whose pixels are gray (R == G == B), as many scanned or converted sets are."""
    generator = torch.Generator().manual_seed(seed)
    gray = torch.randint(0, 256, (size, size, 1), generator=generator, dtype=torch.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(gray.expand(size, size, 3).contiguous().numpy(), "RGB").save(path)


@pytest.mark.parametrize("max_memory_mb", [1024, 0], ids=["in_memory", "streaming"])
def test_auto_channels_pick_one_for_a_grayscale_folder(tmp_path, max_memory_mb, caplog):
    write_png(tmp_path / "a.png", 20, 20, "L")
    write_gray_as_rgb(tmp_path / "b.png")
    Image.new("LA", (10, 10), (128, 255)).save(tmp_path / "c.png")
    # a gray picture saved as a colour JPEG: its chroma is only nearly flat
    Image.linear_gradient("L").resize((32, 32)).convert("RGB").save(tmp_path / "d.jpg", quality=70)
    with caplog.at_level(logging.INFO, logger="gan_cli.data"):
        batches = data.build(folder_cfg(tmp_path, channels="auto", max_memory_mb=max_memory_mb), "cpu", 2)
    assert batches.shape == (1, 16, 16) and batches.next()[0].shape == (2, 1, 16, 16)
    assert "data.channels=auto: all 4 sampled images are grayscale, so 1 channel" in caplog.text


def test_auto_channels_pick_three_when_any_sampled_image_is_in_colour(flat_folder):
    assert data.build(folder_cfg(flat_folder, channels="auto"), "cpu", 2).shape == (3, 16, 16)


def test_explicit_channels_override_the_detection(tmp_path):
    write_png(tmp_path / "a.png", 20, 20, "L")
    assert data.build(folder_cfg(tmp_path, channels=3), "cpu", 1).shape == (3, 16, 16)


def test_the_shape_from_the_config_looks_at_the_images_only_for_auto(tmp_path):
    from gan_cli.data.shapes import data_shape

    write_gray_as_rgb(tmp_path / "a.png")
    auto = {"name": "folder", "path": str(tmp_path), "image_size": 8, "channels": "auto"}
    assert data_shape(auto) == (1, 8, 8)
    missing = {"name": "folder", "path": str(tmp_path / "gone"), "image_size": 8, "channels": 3}
    assert data_shape(missing) == (3, 8, 8)  # nothing read


def test_an_unknown_channels_word_is_one_line(flat_folder):
    with pytest.raises(UserError) as caught:
        data.build(folder_cfg(flat_folder, channels="rgb"), "cpu", 1)
    assert_one_line(caught.value)
    assert "1 (grayscale), 3 (RGB) or auto" in str(caught.value)
