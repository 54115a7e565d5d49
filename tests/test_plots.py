"""supertiny.plots: every plot a dvc.yaml declares drawn to SVG offline, the same chart
`dvc plots show` draws, the same bytes every time; a missing data file stops it in one line."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from supertiny import plots
from supertiny.errors import SupertinyError

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"

# one plot of each kind the real dvc.yaml uses: bars, a scatter, curves from several files,
# a smoothed curve, two fields of one file, and a stage's own `plots:` output
PIPELINE = {
    "stages": {"train": {"cmd": "true", "plots": [{"train/curve.json": {"cache": False}}]}},
    "plots": [
        {"by_model": {"template": "bar_horizontal", "title": "Exact match per model",
                      "x": {"models.json": "exact_match"}, "y": {"models.json": "model"}}},
        {"vs_latency": {"template": "scatter", "title": "Exact match vs latency", "x": {"models.json": "latency_ms_p50"},
                        "y": {"models.json": "exact_match"}, "x_label": "median latency (ms)", "y_label": "exact match"}},
        {"losses": {"title": "Loss per step", "x": "step", "y": {"train/curve.json": "loss", "train/other.json": "loss"}}},
        {"reward": {"template": "smooth", "title": "Mean reward per step", "x": {"train/curve.json": "step"}, "y": {"train/curve.json": "reward"}}},
        {"both": {"title": "Loss and agreement", "x": "step", "y": {"train/curve.json": ["loss", "agreement"]}}},
    ],
}
EXPECTED = {"by_model": "by_model.svg", "vs_latency": "vs_latency.svg", "losses": "losses.svg", "reward": "reward.svg",
            "both": "both.svg", "train/curve.json": "train_curve.svg"}


def make_project(tmp_path: Path) -> Path:
    (tmp_path / "train").mkdir()
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(PIPELINE, sort_keys=False))
    (tmp_path / "models.json").write_text(json.dumps([{"model": "teacher", "exact_match": 0.99, "latency_ms_p50": 900.0},
                                                      {"model": "sft", "exact_match": 0.61, "latency_ms_p50": 42.5}]))
    curve = [{"step": s, "loss": round(2 / s, 3), "reward": round(s / 10, 2), "agreement": round(1 - 1 / (s + 1), 3)} for s in range(1, 6)]
    (tmp_path / "train/curve.json").write_text(json.dumps(curve))
    (tmp_path / "train/other.json").write_text(json.dumps([{"step": s, "loss": round(3 / s, 3)} for s in range(1, 4)]))
    return tmp_path


@pytest.fixture
def project(tmp_path) -> Path:
    return make_project(tmp_path)


@pytest.fixture(scope="module")
def drawn(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """The example project drawn once (vl-convert's first chart costs a second of CPU)."""
    root = make_project(tmp_path_factory.mktemp("drawn"))
    return root, plots.render(root, "reports/plots")


def svg_texts(path: Path) -> list[str]:
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg", path
    return [t.text for t in root.iter(f"{SVG}text") if t.text]


def test_every_declared_plot_is_one_svg_with_its_title_and_axis_labels(drawn):
    project, written = drawn
    assert {plot_id: path.name for plot_id, path in written.items()} == EXPECTED
    assert sorted(p.name for p in (project / "reports/plots").iterdir()) == sorted(EXPECTED.values())
    texts = {plot_id: svg_texts(project / path) for plot_id, path in written.items()}
    assert {"Exact match per model", "exact_match", "model", "teacher", "sft"} <= set(texts["by_model"])
    assert {"Exact match vs latency", "median latency (ms)", "exact match"} <= set(texts["vs_latency"])
    assert {"Loss per step", "step", "loss", "curve.json", "other.json"} <= set(texts["losses"])  # one line per file
    assert {"Mean reward per step", "reward"} <= set(texts["reward"])
    assert {"Loss and agreement", "loss", "agreement"} <= set(texts["both"])
    assert "train/curve.json" in texts["train/curve.json"]


def test_the_same_data_draws_the_same_bytes(drawn, project):
    """Vega numbers clip paths from a process-wide counter: a second drawing in the same
    process must still give the bytes of the first (the SVGs are outputs DVC hashes)."""
    root, first = drawn
    second = plots.render(root, "again")
    assert all((root / first[i]).read_bytes() == (root / second[i]).read_bytes() for i in first)
    assert 'clip-path="url(#clip1)"' in (root / second["losses"]).read_text()
    changed = project  # a fresh copy of the same project, whose data then changes
    (changed / "models.json").write_text(json.dumps([{"model": "sft", "exact_match": 0.7, "latency_ms_p50": 42.5}]))
    assert plots.to_svg(plots.specs(changed)["by_model"]) != (root / first["by_model"]).read_text()


def test_the_font_is_the_bundled_one_whatever_the_machine_has(drawn):
    project, written = drawn
    families = {t.get("font-family") for t in ET.parse(project / written["losses"]).getroot().iter(f"{SVG}text")}
    assert families == {plots.FONT}


def test_a_missing_data_file_stops_it_in_one_line_naming_the_file(project):
    (project / "train/other.json").unlink()
    with pytest.raises(SupertinyError) as error:
        plots.render(project, "out")
    assert str(error.value) == "train/other.json: cannot draw its plot: no such file"
    assert not (project / "out").exists()  # nothing half drawn


def test_an_empty_curve_draws_a_chart_that_says_so(project):
    """A stage switched off writes its curve as `[]`; its SVG must still exist (it is an out)."""
    (project / "dvc.yaml").write_text(yaml.safe_dump(dict(PIPELINE, plots=PIPELINE["plots"][3:4]), sort_keys=False))
    (project / "train/curve.json").write_text("[]")
    written = plots.render(project, "out")
    assert set(written) == {"reward", "train/curve.json"}
    assert "Mean reward per step" in svg_texts(project / written["reward"])
    assert any("no data points in train/curve.json" in t for t in svg_texts(project / written["reward"]))


def test_a_plot_gone_from_dvc_yaml_leaves_no_stale_svg(project):
    plots.render(project, "out")
    pipeline = dict(PIPELINE, plots=PIPELINE["plots"][:1])
    (project / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    plots.render(project, "out")
    assert sorted(p.name for p in (project / "out").iterdir()) == ["by_model.svg", "train_curve.svg"]


def test_the_specs_are_what_dvc_plots_show_draws(project):
    """The point of reusing DVC's functions: the filled Vega-Lite spec of each plot equals the
    one `dvc plots show --json` builds (what its HTML page embeds)."""
    (project / ".dvc").mkdir()  # what `dvc init --no-scm` writes, without a second dvc process
    (project / ".dvc/config").write_text("[core]\n    no_scm = True\n")
    shown = json.loads(subprocess.run([sys.executable, "-m", "dvc", "plots", "show", "--json"], cwd=project,
                                      check=True, capture_output=True, text=True).stdout)
    assert {plot_id: renders[0]["content"] for plot_id, renders in shown["data"].items()} == plots.specs(project)


def test_dvc_templates_declare_the_vega_lite_major_version_it_renders_with():
    from dvc_render.vega_templates import TEMPLATES

    declared = {template.DEFAULT_CONTENT["$schema"] for template in TEMPLATES}
    assert declared == {f"https://vega.github.io/schema/vega-lite/v{plots.VEGA_LITE_VERSION.split('.')[0]}.json"}


def test_the_report_stage_depends_on_every_plots_data_and_outputs_the_svgs(monkeypatch):
    """The stage that draws the plots must rerun when any plot's data changes."""
    monkeypatch.chdir(ROOT)
    report = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["report"]
    outs = [next(iter(o)) if isinstance(o, dict) else o for o in report["outs"]]
    own = {"reports/models.json", "reports/categories.json"}
    assert own <= set(outs) and str(plots.SVG_DIR) in outs
    assert [f for f in plots.data_files() if f not in report["deps"] and f not in own] == []
    assert {o[str(plots.SVG_DIR)]["cache"] for o in report["outs"] if isinstance(o, dict) and str(plots.SVG_DIR) in o} == {False}
    names = [plots.file_name(p) for config in plots.definitions()[0].values() for p in config.get("data", {})]
    assert len(set(names)) == len(names) and {f"{k}.svg" for k in plots.KEY_PLOTS} <= set(names)


def test_the_report_links_each_svg_relative_to_the_report(drawn):
    _, written = drawn
    lines = plots.markdown_lines(written, "reports")
    assert lines[0] == "## Plots"
    assert "![by_model](plots/by_model.svg)" in lines and "![train/curve.json](plots/train_curve.svg)" in lines


def test_a_templated_plot_path_fails_in_one_line(project):
    pipeline = dict(PIPELINE, plots=[{"x": {"y": {"${paths.curve}": "loss"}}}])
    (project / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    with pytest.raises(SupertinyError, match=r"dvc.yaml: plot 'x' is interpolated"):
        plots.render(project, "out")


def test_pr_report_draws_the_key_plots_of_a_plots_diff_offline(drawn, tmp_path):
    """`dvc plots diff --json` gives each plot's spec with both revisions' points: the key ones
    become SVGs, a plot the diff lacks is left out rather than drawn empty."""
    from supertiny.pr_report import key_plot_svgs

    from dvc.render.convert import to_json
    from dvc.render.match import match_defs_renderers

    with contextlib.chdir(drawn[0]):  # the same data at two revisions, as `dvc plots diff main` collects it
        revisions = {"main": plots.plots_data()["workspace"], "workspace": plots.plots_data()["workspace"]}
    diff = {"data": {r.renderer.name: to_json(r.renderer) for r in match_defs_renderers(revisions)}}
    written = key_plot_svgs(diff, tmp_path / "pr-plots", names=("by_model", "not_in_the_diff"))
    assert written == {"by_model": tmp_path / "pr-plots/by_model.svg"}
    assert {"main", "workspace", "Exact match per model"} <= set(svg_texts(written["by_model"]))


def test_pr_report_links_the_committed_key_plots_that_exist(tmp_path):
    from supertiny.pr_report import committed_plot_links

    (tmp_path / "reports/plots").mkdir(parents=True)
    (tmp_path / "reports/plots/accuracy_by_category.svg").write_text("<svg/>")
    assert committed_plot_links(tmp_path, "workspace", "https://example.org/o/r/raw/abc/") == [
        "![accuracy_by_category](https://example.org/o/r/raw/abc/reports/plots/accuracy_by_category.svg)"]
