"""A loaded run from Python: predictions against `eval`, codes and images of an autoencoder,
the weights in the export's layout, the figures of `report`, and every bad input as a Python
exception with a message that says what is expected."""

from __future__ import annotations

import json

import numpy as np
import pytest

import mnist_burn
from conftest import MNIST


@pytest.fixture(scope="module")
def test_set():
    (_, _), (x, y) = mnist_burn.datasets.load("mnist")
    return x[:500], y[:500]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    from conftest import write_config

    d = tmp_path_factory.mktemp("classifier")
    return mnist_burn.train(write_config(d / "mlp.toml", "py_mlp", 'kind = "mlp"\nhidden = [32]'), out=d / "run", progress=False)


@pytest.fixture(scope="module")
def autoencoder(tmp_path_factory):
    from conftest import ADAM_BCE, write_config

    d = tmp_path_factory.mktemp("autoencoder")
    model = 'kind = "dense_autoencoder"\nencoder = [{ units = 64, activation = "relu" }, { units = 2, activation = "linear" }]\noutput_activation = "sigmoid"'
    return mnist_burn.train(write_config(d / "ae.toml", "py_ae", model, ADAM_BCE, epochs=1), out=d / "run", progress=False)


def test_predict_on_the_test_set_gives_exactly_evals_accuracy(classifier, test_set, cli):
    x, y = test_set
    probabilities = classifier.predict(x)
    assert probabilities.shape == (500, 10) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(1), 1.0, rtol=1e-5)
    accuracy = float((probabilities.argmax(1) == y).mean())
    ours = classifier.evaluate()
    assert ours["samples"] == 500
    assert accuracy == ours["accuracy"]
    theirs = json.loads(cli("eval", "--run", classifier.dir, "--json").stdout)
    assert ours["accuracy"] == theirs["accuracy"] and ours["loss"] == theirs["loss"]


def test_every_image_layout_gives_the_same_answer(classifier, test_set):
    x, _ = test_set
    x = x[:50]
    reference = classifier.predict(x)
    for same in (x.reshape(50, 784), x.reshape(50, 1, 28, 28), x.astype(np.float32) / 255):
        np.testing.assert_allclose(classifier.predict(same), reference, rtol=1e-6, atol=1e-7)
    assert classifier.predict(x[:0]).shape == (0, 10)


def test_the_run_record(classifier):
    assert classifier.config["model"]["kind"] == "mlp"
    assert classifier.input_shape == (1, 28, 28) and classifier.task == "classifier"
    h = classifier.history
    assert list(h["split"]) == ["train", "validation", "train", "validation"]
    assert classifier.test["accuracy"] == classifier.evaluate()["accuracy"]


def test_weights_are_the_exports_pytorch_layout(classifier, tmp_path):
    w = classifier.weights()
    assert {k: v.shape for k, v in w.items()} == {
        "hidden.0.linear.weight": (32, 784),
        "hidden.0.linear.bias": (32,),
        "output.weight": (10, 32),
        "output.bias": (10,),
    }
    exported = mnist_burn._run.read_safetensors(classifier.export(tmp_path / "model.safetensors"))
    for name in w:
        np.testing.assert_array_equal(w[name], exported[name])
    # A forward pass with them in numpy is the model's.
    (_, _), (x, _) = mnist_burn.datasets.load("mnist")
    x = x[:20]
    h = np.maximum(x.reshape(20, 784).astype(np.float32) / 255 @ w["hidden.0.linear.weight"].T + w["hidden.0.linear.bias"], 0)
    logits = h @ w["output.weight"].T + w["output.bias"]
    np.testing.assert_array_equal(logits.argmax(1), classifier.predict(x).argmax(1))


def test_report_writes_the_figures_of_the_report_command(classifier):
    paths = classifier.report(html=False, tensorboard=False)
    names = {p.name for p in paths}
    assert "loss_curves.png" in names and "confusion.png" in names, names
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)


def test_autoencoder_codes_images_and_reconstructions(autoencoder, test_set):
    x, _ = test_set
    z = autoencoder.encode(x)
    assert z.shape == (500, 2) and z.dtype == np.float32 and np.isfinite(z).all()
    images = autoencoder.decode(z)
    assert images.shape == (500, 28, 28) and images.min() >= 0 and images.max() <= 1
    np.testing.assert_allclose(autoencoder.reconstruct(x), images, atol=1e-6)
    assert autoencoder.reconstruct(x.reshape(500, 784)).shape == (500, 784)
    assert autoencoder.predict(x).shape == (500, 28, 28)


BAD_IMAGES = {
    "wrong shape": np.zeros((3, 27, 28), np.uint8),
    "wrong rank": np.zeros((28, 28, 1, 1, 1), np.uint8),
    "a single image without the batch axis": np.zeros(784, np.uint8),
    "float64": np.zeros((3, 28, 28)),
    "int64": np.zeros((3, 28, 28), np.int64),
    "bool": np.zeros((3, 28, 28), bool),
    "big-endian float32": np.zeros((3, 28, 28), ">f4"),
    "Fortran order": np.asfortranarray(np.zeros((3, 28, 28), np.uint8)),
    "a strided view": np.zeros((3, 28, 56), np.uint8)[:, :, ::2],
    "NaN": np.full((3, 28, 28), np.nan, np.float32),
    "infinity": np.full((3, 784), np.inf, np.float32),
    "pixels 0..255 as float32": np.full((3, 784), 255, np.float32),
    "a ragged list": [[0, 1], [2]],
    "a string": "digits.png",
}


@pytest.mark.parametrize("case", list(BAD_IMAGES))
def test_bad_images_are_a_value_error(classifier, autoencoder, case):
    for method in (classifier.predict, autoencoder.encode, autoencoder.reconstruct):
        with pytest.raises(ValueError) as e:
            method(BAD_IMAGES[case])
        assert "x " in str(e.value) or "x is" in str(e.value), str(e.value)


@pytest.mark.parametrize(
    "z, expected",
    [
        (np.zeros((3, 3), np.float32), "expected (n, 2)"),
        (np.zeros((3, 2)), "expected float32"),
        (np.full((3, 2), np.nan, np.float32), "NaN"),
        (np.zeros((2, 3), np.float32).T, "C-contiguous"),
        (np.zeros(2, np.float32), "expected (n, 2)"),
    ],
)
def test_bad_codes_are_a_value_error(autoencoder, z, expected):
    with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        autoencoder.decode(z)


def test_a_classifier_has_no_code_and_an_autoencoder_no_classes(classifier, test_set):
    with pytest.raises(ValueError, match="applies to autoencoders"):
        classifier.encode(test_set[0])
    with pytest.raises(ValueError, match="applies to autoencoders"):
        classifier.decode(np.zeros((1, 2), np.float32))


def test_missing_runs_and_configs_are_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mnist_burn.load_run(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        mnist_burn.load_run(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mnist_burn.train(tmp_path / "missing.toml")
    (tmp_path / "a_file").write_text("")
    with pytest.raises(FileNotFoundError, match="is a file, not a run directory"):
        mnist_burn.load_run(tmp_path / "a_file")


def test_bad_arguments_are_value_errors(classifier, mlp_config):
    with pytest.raises(ValueError, match="split"):
        classifier.evaluate("train")
    with pytest.raises(ValueError, match="split"):
        classifier.evaluate(None)
    with pytest.raises(ValueError, match="unknown data set"):
        mnist_burn.datasets.load(7)
    with pytest.raises(TypeError, match="set must be a dict"):
        mnist_burn.train(mlp_config, set=[("training.epochs", 3)])
    with pytest.raises(ValueError, match="epochs"):
        mnist_burn.train(mlp_config, epochs=0)
    with pytest.raises(ValueError, match="device"):
        mnist_burn.train(mlp_config, device="tpu")
    with pytest.raises(ValueError, match="contradict"):
        mnist_burn.train(mlp_config, resume=True, force=True)
    with pytest.raises(ValueError, match="not a config value"):
        mnist_burn.train(mlp_config, set={"training.learning_rate": object()})


def cli_error(cli, *args) -> str:
    p = cli("train", *args, check=False)
    assert p.returncode != 0
    line = p.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ")
    return line[len("error: ") :]


def test_config_errors_have_the_clis_messages(tmp_path, mlp_config, cli):
    bad = tmp_path / "bad.toml"
    bad.write_text(mlp_config.read_text().replace('kind = "mlp"', 'kind = "mlp"\nhiden = [3]'))
    with pytest.raises(mnist_burn.ConfigError) as e:
        mnist_burn.train(bad)
    assert isinstance(e.value, ValueError)
    assert str(e.value) == cli_error(cli, "--config", bad)
    assert "hiden" in str(e.value)

    broken = tmp_path / "broken.toml"
    broken.write_text("[model\nkind = 3\n")
    with pytest.raises(mnist_burn.ConfigError) as e:
        mnist_burn.train(broken)
    assert str(e.value) == cli_error(cli, "--config", broken)

    with pytest.raises(mnist_burn.ConfigError) as e:
        mnist_burn.train(mlp_config, set={"training.learning_rate": "fast"})
    assert "training.learning_rate" in str(e.value) and "set[" in str(e.value)
