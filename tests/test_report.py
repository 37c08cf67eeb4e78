"""`blastpay report OUT`: the executed notebooks as HTML for readers without Jupyter (figures inline, code hidden)."""

import base64
import io

import nbformat
from PIL import Image

from blastpay import cli


def _png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), (200, 30, 30)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _executed_notebook(path, png):
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("secret_code_marker = plot_the_figure()")
    code.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
                    nbformat.v4.new_output("execute_result", data={"text/plain": "0.8102 of clickers"},
                                           execution_count=1)]
    nb.cells = [nbformat.v4.new_markdown_cell("# Who reaches a payable page\n\nThe figure is the argument."), code]
    nbformat.write(nb, str(path))


def test_report_shows_text_tables_and_figures_inline_and_hides_the_code(tmp_path, capsys):
    source, out = tmp_path / "notebooks", tmp_path / "site"
    source.mkdir()
    png = _png()
    _executed_notebook(source / "02-email-latency.ipynb", png)
    assert cli.main(["report", str(out), "--notebooks", str(source)]) == 0
    assert "1 notebooks exported" in capsys.readouterr().out
    page = (out / "02-email-latency.html").read_text()
    assert f"data:image/png;base64,{png}" in page  # the figure travels inside the page
    assert "Who reaches a payable page" in page and "0.8102 of clickers" in page
    assert "secret_code_marker" not in page
    index = (out / "index.html").read_text()
    assert 'href="02-email-latency.html"' in index and "Email latency" in index
    assert (out / "index.html").stat().st_mode & 0o044 == 0o044  # readable by others, not a private temp file


def test_report_of_the_committed_evidence_has_every_notebook(tmp_path, repo_root):
    from blastpay.evidence.report import export

    source = repo_root / "evidence" / "notebooks"
    written = export(tmp_path, source)
    assert sorted(p.name for p in written) == sorted([p.stem + ".html" for p in source.glob("*.ipynb")] + ["index.html"])


def test_report_without_executed_notebooks_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "site"
    assert cli.main(["report", str(out), "--notebooks", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no executed notebooks; run `make evidence` first" in err[0]
    assert not out.exists()
