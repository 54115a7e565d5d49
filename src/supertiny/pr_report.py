"""`supertiny pr-report`: one Markdown comment that tells a reviewer what a change did.

DVC already knows how to diff params, metrics and plots between two revisions; a pull
request needs the three side by side, as text a CI job can post. This module only runs
`dvc params diff`, `dvc metrics diff` and `dvc plots diff` and lays their output out: it
computes nothing itself, so the comment always agrees with what `dvc` prints locally (the
key plots' SVGs are `dvc plots diff`'s own Vega-Lite specs, drawn by supertiny.plots.to_svg).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from supertiny.errors import SupertinyError

WORKSPACE = "workspace"


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True)


def _dvc(args: list[str], cwd: Path) -> str:
    """Run the `dvc` of this interpreter (the one supertiny is installed with)."""
    result = _run([sys.executable, "-m", "dvc", *args], cwd)
    if result.returncode != 0:
        lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
        raise SupertinyError(f"dvc {' '.join(args)} failed: {lines[-1] if lines else f'exit code {result.returncode}'}")
    return result.stdout


def check_revisions(repo: Path, revisions: list[str]) -> None:
    """Fail with one line before any dvc work when `repo` is no DVC repo or a revision is unknown."""
    if _run([sys.executable, "-m", "dvc", "root"], repo).returncode != 0:
        raise SupertinyError(f"{repo.resolve()} is not inside a DVC repository (no .dvc folder above it)")
    for revision in revisions:
        if _run(["git", "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], repo).returncode != 0:
            raise SupertinyError(f"unknown git revision {revision!r} (in CI, fetch it first: git fetch origin <branch>)")


def changed_plots(plots: dict, base: str, head: str) -> dict[str, dict[str, list[dict]]]:
    """{plot id: {revision: data points}} for the plots whose data differ between the revisions.

    `plots` is `dvc plots diff --json --split` output: each render of a plot carries its
    data points, every point tagged with its revision in `rev`.
    """
    changed = {}
    for plot_id, renders in plots.get("data", {}).items():
        points: dict[str, list[dict]] = {base: [], head: []}
        for render in renders:
            for row in render.get("anchor_definitions", {}).get("<DVC_METRIC_DATA>", []):
                points.setdefault(row.get("rev"), []).append({k: v for k, v in row.items() if k != "rev"})
        if points[base] != points[head]:
            changed[plot_id] = {base: points[base], head: points[head]}
    return changed


def _numeric(row: dict) -> dict:
    return {k: v for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "step"}


def _labels(row: dict) -> tuple:
    return tuple(v for v in row.values() if isinstance(v, str))


def describe_change(points: dict[str, list[dict]], base: str, head: str, limit: int = 8) -> list[str]:
    """Markdown bullet lines saying how one plot's data moved from `base` to `head`.

    Rows named by a label (a plot per model, as `accuracy_by_model`) are compared label by
    label; curves (rows with a `step`) are summarised as length and first → last value.
    """
    old, new = points[base], points[head]
    if any("step" in row for row in old + new):
        lines = []
        for rev, rows in ((base, old), (head, new)):
            series: dict[tuple, list[dict]] = {}
            for row in rows:
                series.setdefault(_labels(row), []).append(row)
            for labels, curve in series.items():
                ends = [f"{k} {curve[0][k]:.4g} → {curve[-1][k]:.4g}" for k in _numeric(curve[0]) if k in curve[-1]]
                name = f" {'/'.join(labels)}" if labels else ""
                lines.append(f"`{rev}`{name}: {len(curve)} steps; " + "; ".join(ends))
        return lines
    before = {_labels(row): row for row in old}
    lines = []
    for row in new:
        was = before.pop(_labels(row), None)
        if was is None:
            lines.append(f"{'/'.join(_labels(row))}: new in `{head}`")
            continue
        moved = [f"{k} {was[k]} → {v}" for k, v in _numeric(row).items() if was.get(k) != v]
        if moved:
            lines.append(f"{'/'.join(_labels(row))}: " + ", ".join(moved))
    lines += [f"{'/'.join(labels)}: gone in `{head}`" for labels in before]
    return lines[:limit] + ([f"... and {len(lines) - limit} more"] if len(lines) > limit else [])


def key_plot_svgs(plots: dict, plots_dir: Path, names: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Draw the key plots (supertiny.plots.KEY_PLOTS) of `dvc plots diff --json` output to
    `<plots_dir>/<plot>.svg`; {plot id: path}.

    `dvc plots diff -o` writes HTML that loads vega from a CDN: blank offline and not an
    image a Markdown viewer shows. Without `--split` each plot's `content` is the filled spec
    with both revisions' points, coloured by revision, so the SVG is the chart the HTML draws.
    """
    from supertiny.plots import KEY_PLOTS, file_name, to_svg

    written = {}
    for plot_id in KEY_PLOTS if names is None else names:
        content = next((render.get("content") for render in plots.get("data", {}).get(plot_id, []) if render.get("content")), None)
        if content:
            plots_dir.mkdir(parents=True, exist_ok=True)
            written[plot_id] = plots_dir / file_name(plot_id)
            written[plot_id].write_text(to_svg(content), encoding="utf-8")
    return written


def committed_plot_links(repo: Path, head: str, plots_url: str) -> list[str]:
    """Markdown images of the key plots' SVGs the report stage committed at `head`
    (reports/plots), each at `<plots_url>/<path>`: a pull-request comment cannot show a file
    of the CI machine, but it can show the head commit's file by URL (in GitHub Actions:
    `<server>/<repository>/raw/<head sha>`). A key plot that `head` lacks is left out."""
    from supertiny.plots import KEY_PLOTS, SVG_DIR, file_name

    lines = []
    for plot_id in KEY_PLOTS:
        path = (SVG_DIR / file_name(plot_id)).as_posix()
        there = (repo / path).exists() if head == WORKSPACE else \
            _run(["git", "cat-file", "-e", f"{head}:{path}"], repo).returncode == 0
        if there:
            lines.append(f"![{plot_id}]({plots_url.rstrip('/')}/{path})")
    return lines


def build_report(repo: Path, base: str, head: str = WORKSPACE, plots_dir: Path | None = None, plots_url: str | None = None) -> str:
    """The Markdown report of what changed from `base` to `head` (a revision or `workspace`)."""
    span = [base] if head == WORKSPACE else [base, head]  # dvc's diffs compare against the workspace when given one revision
    check_revisions(repo, span)
    params = _dvc(["params", "diff", *span, "--md"], repo).strip()
    metrics = _dvc(["metrics", "diff", *span, "--md"], repo).strip()
    plots = changed_plots(json.loads(_dvc(["plots", "diff", *span, "--json", "--split"], repo) or "{}"), base, head)
    lines = [f"## supertiny: `{base}` → `{head}`", "", "### Params", "", params or "No params changed.", "",
             "### Metrics", "", metrics or "No metrics changed.", "", "### Plots", ""]
    if not plots:
        lines.append("No plot data changed.")
    for plot_id, by_revision in plots.items():
        lines += [f"- **{plot_id}**"] + [f"  - {line}" for line in describe_change(by_revision, base, head)]
    if plots and plots_dir is not None:
        _dvc(["plots", "diff", *span, "-o", str(plots_dir.resolve())], repo)
        lines += ["", f"Rendered charts of every plot: `{plots_dir / 'index.html'}` (`dvc plots diff {' '.join(span)} --open`)."]
    if plots_dir is not None:
        drawn = key_plot_svgs(json.loads(_dvc(["plots", "diff", *span, "--json"], repo) or "{}"), plots_dir)
        if drawn:
            lines += ["", f"Key plots, `{base}` and `{head}` in each chart (SVG, drawn offline):", ""]
            lines += [f"![{plot_id}]({path.as_posix()})" for plot_id, path in drawn.items()]
    if plots_url and (links := committed_plot_links(repo, head, plots_url)):
        lines += ["", f"Key plots at `{head}` (reports/plots, drawn by the report stage):", "", *links]
    return "\n".join(lines) + "\n"
