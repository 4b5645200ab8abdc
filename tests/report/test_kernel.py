from __future__ import annotations

import glob

import nbformat
import pytest

from harness.report.kernel import papermill_kernel_options

WARNING = "running over TCP without encryption"


def _notebook(path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py"}
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("print(x * 2)")]
    nbformat.write(nb, str(path))
    return path


@pytest.mark.parametrize(("options", "warns"), [({}, True), (papermill_kernel_options(), False)])
def test_report_kernel_runs_without_the_tcp_warning(
    tmp_path, tmp_path_factory, monkeypatch, capfd, options, warns
):
    import tempfile

    import papermill as pm

    # a temp folder of this test's own: under pytest-xdist another worker's kernel may make its
    # own socket folder in /tmp at the same moment
    private = tmp_path_factory.mktemp("kernel-tmp")
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    pattern = str(private / "harness-kernel-*")
    before = set(glob.glob(pattern))
    src = _notebook(tmp_path / "t.ipynb")
    pm.execute_notebook(
        str(src),
        str(tmp_path / "o.ipynb"),
        parameters={"x": 21},
        kernel_name="python3",
        progress_bar=False,
        cwd=str(tmp_path),
        **options,
    )
    out = nbformat.read(str(tmp_path / "o.ipynb"), as_version=4)
    assert out.cells[-1].outputs[0]["text"] == "42\n"
    captured = capfd.readouterr()
    assert (WARNING in captured.out + captured.err) is warns
    assert set(glob.glob(pattern)) == before  # socket folder removed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.ipynb", "t.ipynb"]
