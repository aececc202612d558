"""Feature extractors: the Inception weights' fetch failing offline, and the Inception pipeline
run on randomly initialized weights (the real ones cannot be had here)."""

import urllib.error

import pytest
import torch

from gan_cli.errors import UserError
from gan_cli.metrics import extractors
from tests.data.fakes import assert_one_line


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(extractors.URL_VARIABLE, raising=False)
    return tmp_path / "torch"


def test_weights_live_in_torchs_hub_cache(empty_hub):
    path = extractors.inception_weights_path()
    assert path.parent == empty_hub / "hub" / "checkpoints"
    assert path.name == "weights-inception-2015-12-05-6726825d.pth"


def test_a_failed_fetch_is_one_line_suggesting_the_classifier(empty_hub, monkeypatch):
    def offline(url, dst, *args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(UserError) as error:
        extractors.build("inception", {"name": "mnist"}, "cpu")
    message = assert_one_line(error.value)
    assert "cannot fetch the FID Inception weights" in message
    assert "features=classifier" in message and "Name or service not known" in message
    assert not list(empty_hub.rglob("*.partial"))  # nothing half-written left behind


def test_a_mirror_url_is_used_and_its_failure_named(empty_hub, monkeypatch, tmp_path):
    monkeypatch.setenv(extractors.URL_VARIABLE, (tmp_path / "missing.pth").as_uri())
    with pytest.raises(UserError) as error:
        extractors.inception_weights()
    assert "missing.pth" in assert_one_line(error.value)


def test_an_unreadable_weights_file_is_one_line(empty_hub):
    path = extractors.inception_weights_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage")
    pytest.importorskip("torch_fidelity")
    with pytest.raises(UserError) as error:
        extractors.InceptionExtractor("cpu")
    assert "not a readable Inception weights file" in assert_one_line(error.value)


def random_inception_weights(path):
    """A state dict of torch-fidelity's Inception with random weights, in the real file's format."""
    from torch_fidelity import feature_extractor_inceptionv3 as module

    path.parent.mkdir(parents=True, exist_ok=True)
    original = module.FeatureExtractorInceptionV3.load_state_dict
    module.FeatureExtractorInceptionV3.load_state_dict = lambda self, state: None
    try:
        empty = path.with_name("empty.pth")
        torch.save({}, empty)
        torch.manual_seed(0)
        net = module.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], str(empty))
    finally:
        module.FeatureExtractorInceptionV3.load_state_dict = original
    torch.save(net.state_dict(), path)


@pytest.mark.slow
def test_inception_features_of_grayscale_images(empty_hub):
    pytest.importorskip("torch_fidelity")
    random_inception_weights(extractors.inception_weights_path())
    extractor = extractors.build("inception", {"name": "mnist"}, "cpu")
    assert extractor.name == "inception" and extractor.n_classes == 0
    images = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    features, probs = extractor(images)
    assert features.shape == (3, 2048) and probs.shape == (3, 1008)
    assert torch.allclose(probs.sum(dim=1), torch.ones(3), atol=1e-4)
