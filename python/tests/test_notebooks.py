"""The notebooks in notebooks/ run top to bottom in a real Jupyter kernel, on short settings
(MNIST_BURN_QUICK=1), and their figures are the ones `report` draws from the same runs."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_the_three_seed_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == ["000_linear_ae_vs_pca.ipynb", "001_l2_sweep.ipynb", "003_vae.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_notebook_runs_top_to_bottom_in_jupyter(path, tmp_path, monkeypatch):
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{path.name} is committed with outputs; clear them"
    monkeypatch.setenv("MNIST_BURN_QUICK", "1")
    monkeypatch.setenv("MNIST_BURN_NOTEBOOK_OUT", str(tmp_path))
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO / "notebooks")}})
    client.execute()
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no figure"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
