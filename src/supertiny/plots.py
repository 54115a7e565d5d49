"""Every plot dvc.yaml declares, drawn to SVG files that need no browser and no network.

`dvc plots show` writes an HTML page that loads vega from a CDN: blank on a machine without
internet, and invisible in a README or a pull request. This module draws the same charts to
SVG: the plot definitions become renderer data exactly as DVC's own code makes them
(`dvc.repo.plots._resolve_definitions`, `dvc.repo.plots.parse`, `dvc.render.match.
match_defs_renderers`), DVC's templates fill the Vega-Lite spec (`dvc_render.VegaRenderer.
get_filled_template`, what the HTML page embeds), and vl-convert renders that spec to SVG.

It reads dvc.yaml itself instead of opening a `dvc.repo.Repo`: the report stage runs under
`dvc repro`, which holds the repository lock and rewrites dvc.lock, so the stage must not
ask DVC for its index; the plot definitions are plain YAML and the data plain files.
"""

from __future__ import annotations

import contextlib
import copy
import re
from pathlib import Path

import yaml

from supertiny.errors import SupertinyError

SVG_DIR = Path("reports/plots")
# DVC's templates declare Vega-Lite v5 (`vega-lite/v5.json`) and its HTML page loads vega-lite
# 5.2.0: vl-convert's oldest 5.x is the nearest (its default is 6.x, which may draw them differently).
VEGA_LITE_VERSION = "5.8"
# vl-convert bundles Liberation Sans; Vega's default `sans-serif` would be whatever font the
# machine has, and text widths move the layout: the SVG bytes would differ from machine to
# machine, and a clean clone's `dvc repro` would not reproduce the hashes in dvc.lock.
FONT = "Liberation Sans"
# the plots the README and the pull-request report show
KEY_PLOTS = ("accuracy_by_category", "accuracy_vs_latency", "accuracy_by_model", "accuracy_vs_training")


def file_name(plot_id: str) -> str:
    """The SVG's name for a plot: its id (`accuracy_by_model`), or for a data file declared in
    a stage's `plots:` its path (`metrics/train/sft.json` -> `metrics_train_sft.svg`)."""
    stem = plot_id.removesuffix(Path(plot_id).suffix)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_") + ".svg"


def _stage_plots(stages: dict, dvc_yaml: Path) -> dict[str, dict]:
    """{data path: plot props} of every stage's `plots:` outputs, props as `_plot_props` keeps them."""
    from dvc.schema import PLOT_PROPS

    found = {}
    for name, stage in (stages or {}).items():
        if ("foreach" in stage or "matrix" in stage) and stage.get("do", stage).get("plots"):
            raise SupertinyError(f"{dvc_yaml}: stage {name!r} declares plots in a foreach/matrix stage; supertiny.plots draws only plain stages' plots")
        wdir = stage.get("wdir", ".")
        for entry in stage.get("plots", []) or []:
            path, props = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
            if "${" in path:
                raise SupertinyError(f"{dvc_yaml}: stage {name!r} plot {path!r} is interpolated; supertiny.plots reads dvc.yaml without DVC's templating")
            found[str(Path(wdir, path).as_posix()).removeprefix("./")] = {k: v for k, v in (props if isinstance(props, dict) else {}).items() if k in PLOT_PROPS}
    return found


def _top_level(plots: list, dvc_yaml: Path) -> dict[str, dict | None]:
    """dvc.yaml's top-level `plots:` list as DVC's `_collect_pipeline_files` turns it into a dict."""
    definitions = {}
    for entry in plots or []:
        plot_id, props = (entry, None) if isinstance(entry, str) else next(iter(entry.items()))
        if "${" in yaml.safe_dump(props):
            raise SupertinyError(f"{dvc_yaml}: plot {plot_id!r} is interpolated; supertiny.plots reads dvc.yaml without DVC's templating")
        definitions[plot_id] = props
    return definitions


def definitions(dvc_yaml: str = "dvc.yaml") -> tuple[dict, dict[str, dict]]:
    """({config file: {"data": {plot id: props}}}, {stage plot file: props}): the plot
    definitions as `Repo.plots.show()` collects them, built without a Repo. Paths are relative
    to the current directory, which must be the repository root (where stages run)."""
    from dvc.fs import LocalFileSystem
    from dvc.repo.plots import _resolve_definitions, unpack_if_dir

    try:
        pipeline = yaml.safe_load(Path(dvc_yaml).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise SupertinyError(f"{dvc_yaml}: cannot read the plot definitions: {error}") from error
    fs = LocalFileSystem()
    output_plots = _stage_plots(pipeline.get("stages"), Path(dvc_yaml))
    found = {
        dvc_yaml: _resolve_definitions(fs, [], {}, dvc_yaml, _top_level(pipeline.get("plots"), Path(dvc_yaml))),
        "": {"data": {}},
    }
    for path, props in output_plots.items():  # as `_collect_output_plots`
        found[""]["data"].update(unpack_if_dir(fs, path, props=props).get("data", {}))
    return found, output_plots


def data_files(dvc_yaml: str = "dvc.yaml") -> list[str]:
    """Every data file a declared plot reads: what the stage that draws them must depend on."""
    from dvc.repo.plots import _get_data_targets

    return sorted(_get_data_targets({"data": definitions(dvc_yaml)[0]}))


def plots_data(dvc_yaml: str = "dvc.yaml") -> dict:
    """What `Repo.plots.show()` returns for the workspace: every plot's definition and every
    data file's parsed rows (or its error)."""
    from dvc.fs import LocalFileSystem
    from dvc.repo.plots import _get_data_targets, onerror_collect, parse

    found, output_plots = definitions(dvc_yaml)
    sources = {path: {"props": output_plots.get(path, {})} for path in sorted(_get_data_targets({"data": found}))}
    for path, source in sources.items():  # as `_collect_data_sources` then `_resolve_data_sources`
        source.update(parse(LocalFileSystem(), path, props=source["props"], onerror=onerror_collect))
    return {"workspace": {"definitions": {"data": found}, "sources": {"data": sources}}}


def _no_data_spec(title: str, files: list[str]) -> dict:
    """A chart that says it has no data: a stage switched off writes its curve as `[]`."""
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": title, "width": 300, "height": 60,
        "data": {"values": [{"text": f"no data points in {', '.join(files)} (an empty list: its stage was switched off)"}]},
        "mark": {"type": "text", "align": "center"}, "encoding": {"text": {"field": "text"}},
    }


def specs(root: str | Path = ".") -> dict[str, dict]:
    """{plot id: filled Vega-Lite spec} for every plot dvc.yaml in `root` declares, in its order.

    A data file that is missing or unreadable stops it with one line naming the file: every
    data file is a dep of the stage that draws them, so a missing one means a broken pipeline,
    and a chart quietly left out would hide it.
    """
    from dvc.render.match import match_defs_renderers
    from dvc.repo.plots import infer_data_sources

    with contextlib.chdir(root):
        data = plots_data()
        for path, source in data["workspace"]["sources"]["data"].items():
            if "error" in source:
                error = source["error"]
                reason = "no such file" if isinstance(error, FileNotFoundError) else str(error).splitlines()[0]
                raise SupertinyError(f"{path}: cannot draw its plot: {reason}")
        renderers = match_defs_renderers(data, templates_dir=str(Path(".dvc", "plots")))
    filled = {}
    for renderer, _, definition_errors in renderers:
        for error in definition_errors.values():
            raise SupertinyError(f"dvc.yaml: plot {renderer.name!r}: {str(error).splitlines()[0]}")
        spec = renderer.get_filled_template()
        if not spec:  # DVC draws nothing for it (`dvc plots show` leaves the chart out)
            props = next((config["data"][renderer.name] for config in data["workspace"]["definitions"]["data"].values()
                          if renderer.name in config.get("data", {})), None)
            spec = _no_data_spec((props or {}).get("title") or renderer.name, infer_data_sources(renderer.name, props))
        filled[renderer.name] = spec
    return filled


def _stable_ids(svg: str) -> str:
    """Number the SVG's element ids (`clip12`) from 1 in order of appearance: Vega takes them
    from a counter that lives as long as the process, so the same chart drawn after another
    would otherwise get other ids, and other bytes."""
    numbered = [name for name in dict.fromkeys(re.findall(r'\bid="([A-Za-z_-]*\d+)"', svg))]
    if not numbered:
        return svg
    renamed = {name: f"{re.sub(r'[0-9]+$', '', name)}{i}" for i, name in enumerate(numbered, 1)}
    pattern = re.compile(r'(?<=id=")(%s)(?=")|(?<=#)(%s)(?=[)"])' % (("|".join(map(re.escape, numbered)),) * 2))
    return pattern.sub(lambda m: renamed[m.group(0)], svg)


def to_svg(spec: dict) -> str:
    """The SVG of one Vega-Lite spec, drawn with the bundled font (see FONT) and numbered ids,
    so that the same spec is the same bytes in any process on any machine."""
    import vl_convert

    spec = copy.deepcopy(spec)
    spec.setdefault("config", {})["font"] = FONT
    return _stable_ids(vl_convert.vegalite_to_svg(spec, vl_version=VEGA_LITE_VERSION))


def render(root: str | Path = ".", out_dir: str | Path = SVG_DIR) -> dict[str, Path]:
    """Draw every declared plot to `<out_dir>/<file_name(plot id)>`; {plot id: SVG path}.

    `out_dir` holds nothing else afterwards (it is one DVC output): a plot removed from
    dvc.yaml leaves no stale picture behind.
    """
    from supertiny.jsonl import atomic_write_text

    root, out_dir = Path(root), Path(out_dir)
    drawn = {plot_id: to_svg(spec) for plot_id, spec in specs(root).items()}
    target = out_dir if out_dir.is_absolute() else root / out_dir
    names = {plot_id: file_name(plot_id) for plot_id in drawn}
    if len(set(names.values())) != len(names):
        raise SupertinyError(f"dvc.yaml: two plots would both be drawn to the same file in {out_dir}: {sorted(names)}")
    if target.is_dir():
        for stale in target.glob("*.svg"):
            if stale.name not in names.values():
                stale.unlink()
    written = {}
    for plot_id, svg in drawn.items():
        atomic_write_text(target / names[plot_id], svg)
        written[plot_id] = out_dir / names[plot_id]
    return written


def markdown_lines(written: dict[str, Path], relative_to: str | Path) -> list[str]:
    """A report's "## Plots" section: each SVG as an image link relative to the report's folder."""
    import os

    lines = ["## Plots", "", "Drawn by the report stage from dvc.yaml's plot definitions (`reports/plots/*.svg`; "
             "`dvc plots show` draws the same charts as HTML)."]
    for plot_id, path in written.items():
        lines += ["", f"![{plot_id}]({Path(os.path.relpath(path, relative_to)).as_posix()})"]
    return lines
