"""The DVC verbs users run, for real, on the tiny-preset project of conftest.py.

Remote storage (the default local remote, and SSH through a real sshd on loopback), a fresh
clone reproduced from the remote, experiments (one in the workspace, a queued sweep), plots,
and `supertiny pr-report`. No mocks: real `dvc`, `git` and `sshd` subprocesses.

The project is shared with test_pipeline.py, which runs later: tests here restore what they
change in it (the wipe-and-pull test puts every output back through `dvc pull`) and run
experiments only in clones, whose caches (and so run-caches) are their own.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from dvc_project import git_commit, run
from servers import free_port

from supertiny.cli import main

CACHED_FOLDERS = ("data", "models")  # every cached out lives under these; metrics, plots and reports are git-tracked


def checksums(root: Path) -> dict[str, str]:
    """sha256 of every file under the cached-output folders, by path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in CACHED_FOLDERS for p in sorted((root / folder).rglob("*")) if p.is_file()}


def ran_stages(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def set_param(repo: Path, section: str, key: str, value) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params[section][key] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.fixture(scope="module")
def pushed(project) -> Path:
    """The project with dvc.lock and the git-tracked outputs committed, every cached output
    pushed to the default remote (`../supertiny-dvc-remote` beside the repo, .dvc/config)."""
    git_commit(project, "dvc repro on the tiny preset")
    run(["dvc", "push"], project)
    return project


def clone(pushed: Path, tmp_path_factory) -> Path:
    """A fresh `git clone` beside the project, so the default remote's relative URL resolves
    to the same folder: no outputs, an empty cache."""
    target = tmp_path_factory.mktemp("clone")
    run(["git", "clone", "-q", str(pushed), str(target)], target.parent)
    return target


@pytest.fixture(scope="module")
def pulled_clone(pushed, tmp_path_factory) -> Path:
    target = clone(pushed, tmp_path_factory)
    run(["dvc", "pull"], target)
    return target


@pytest.mark.slow
def test_push_wipe_pull_restores_every_output_byte_for_byte(pushed, tmp_path):
    remote = pushed.parent / "supertiny-dvc-remote"
    assert (remote / "files" / "md5").is_dir(), "the default remote in .dvc/config is a folder beside the repo"
    assert "are in sync" in run(["dvc", "status", "--cloud"], pushed).stdout  # everything is on the remote
    before, lock = checksums(pushed), (pushed / "dvc.lock").read_text()
    assert any(p.startswith("models/deployed/") for p in before) and any(p.startswith("data/eval/") for p in before)
    wiped = (".dvc/cache", *CACHED_FOLDERS)
    for folder in wiped:  # moved aside, not deleted: put back if the pull fails, for the tests that share the project
        shutil.move(pushed / folder, tmp_path / folder.replace("/", "_"))
    try:
        assert "Data and pipelines are up to date" not in run(["dvc", "status"], pushed).stdout
        run(["dvc", "pull"], pushed)
    except BaseException:
        for folder in wiped:
            shutil.rmtree(pushed / folder, ignore_errors=True)
            shutil.move(tmp_path / folder.replace("/", "_"), pushed / folder)
        raise
    assert checksums(pushed) == before
    assert (pushed / "dvc.lock").read_text() == lock
    assert "Data and pipelines are up to date" in run(["dvc", "status"], pushed).stdout


@pytest.mark.slow
def test_a_fresh_clone_pulls_and_reproduces_nothing(pushed, pulled_clone):
    assert checksums(pulled_clone) == checksums(pushed)
    result = run(["dvc", "repro"], pulled_clone)
    assert "Running stage" not in result.stdout and "Data and pipelines are up to date" in run(["dvc", "status"], pulled_clone).stdout


@pytest.mark.slow
def test_repro_pull_fetches_only_what_the_stages_to_run_need(pushed, tmp_path_factory):
    fresh = clone(pushed, tmp_path_factory)
    set_param(fresh, "benchmark", "requests", 1)
    result = run(["dvc", "repro", "--pull", "--allow-missing"], fresh)
    assert ran_stages(result.stdout) == {"benchmark", "report"}
    fetched = set(checksums(fresh))
    source = yaml.safe_load((fresh / "params.yaml").read_text())["prune"]["source"]  # benchmark times it too
    assert {"models/pruned/card.json", "models/deployed/card.json", f"{source}/card.json", "data/task/test.jsonl"} <= fetched
    # report reads every model's data/eval rows (the step intervals), so only those come along
    untouched = {"base", "sft", "rft", "rl", "distill", "teacher", "traces", "judged"} - {Path(source).name}
    assert not {p for p in fetched if p.split("/")[1] in untouched}
    assert json.loads((fresh / "metrics/benchmark.json").read_text())["requests"] == 1
    assert "report" not in json.loads(run(["dvc", "status", "--json"], fresh).stdout)


@pytest.mark.slow
def test_a_queued_sweep_runs_every_variant(pulled_clone):
    run(["dvc", "exp", "run", "--queue", "-S", "report.cpu_price_per_hour=0.2,0.3"], pulled_clone)
    run(["dvc", "queue", "start", "-j", "1"], pulled_clone)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            status = run(["dvc", "queue", "status"], pulled_clone).stdout
            if not re.search(r"\b(Queued|Running)\b", status):
                break
            time.sleep(3)
    finally:
        run(["dvc", "queue", "stop"], pulled_clone)  # the idle worker would outlive the test
    assert status.count("Success") == 2, status
    prices = {exp["params"]["report.cpu_price_per_hour"] for exp in experiments(pulled_clone)}
    assert {0.2, 0.3} <= prices


def experiments(repo: Path) -> list[dict]:
    """`dvc exp show --json` flattened: name, params and metrics of every experiment (not the baseline)."""
    flat = []
    for baseline in json.loads(run(["dvc", "exp", "show", "--json"], repo).stdout):
        for exp_range in baseline.get("experiments") or []:
            for exp in exp_range["revs"]:
                data = exp["data"]
                flat.append({
                    "name": exp.get("name"),
                    "params": {f"{k}": v for path in data["params"].values() for k, v in _flatten(path["data"]).items()},
                    "metrics": {f"{name}:{k}": v for name, path in data["metrics"].items() for k, v in _flatten(path["data"]).items()},
                })
    return flat


def _flatten(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@pytest.fixture(scope="module")
def block16(pulled_clone) -> tuple[Path, str]:
    """(clone, output of) `dvc exp run -S quantize.block_size=16` in the clone's workspace,
    which then holds the experiment: compare it with HEAD (the committed baseline)."""
    return pulled_clone, run(["dvc", "exp", "run", "-n", "block16", "-S", "quantize.block_size=16"], pulled_clone).stdout


@pytest.mark.slow
def test_an_experiment_variant_reruns_what_follows_and_shows_its_metrics(block16):
    pulled_clone, output = block16
    assert ran_stages(output) == {"quantize", "evaluate@deployed", "calibrate", "benchmark", "report"}
    exp = next(e for e in experiments(pulled_clone) if e["name"] == "block16")
    assert exp["params"]["quantize.block_size"] == 16
    assert "metrics/eval/deployed.json:exact_match" in exp["metrics"] and "metrics/quantize.json:file_bytes" in exp["metrics"]
    table = run(["dvc", "exp", "show", "--md", "--drop", ".*", "--keep",  # the README's columns
                 "Experiment|quantize.block_size|metrics/eval/deployed.json:(exact_match|latency_ms_p50|model_bytes)$"], pulled_clone).stdout
    header = [cell.strip() for cell in table.splitlines()[0].strip("|").split("|")]
    assert header == ["Experiment", "metrics/eval/deployed.json:exact_match", "metrics/eval/deployed.json:latency_ms_p50",
                      "metrics/eval/deployed.json:model_bytes", "quantize.block_size"]
    assert re.search(r"\[block16\] .*\| 16 +\|$", table, re.M)


@pytest.mark.slow
def test_every_declared_plot_renders_and_diffs_between_revisions(block16):
    pulled_clone = block16[0]
    shown = json.loads(run(["dvc", "plots", "show", "--json", "--split"], pulled_clone).stdout)["data"]
    for plot_id in ("accuracy_vs_latency", "accuracy_by_model", "accuracy_by_category", "transfer_loss", "rl_reward", "recovery"):
        points = [row for render in shown[plot_id] for row in render["anchor_definitions"]["<DVC_METRIC_DATA>"]]
        assert points, f"plot {plot_id} has no data"
    diff = json.loads(run(["dvc", "plots", "diff", "HEAD", "--json", "--split"], pulled_clone).stdout)["data"]
    revisions = {row["rev"] for render in diff["accuracy_vs_latency"] for row in render["anchor_definitions"]["<DVC_METRIC_DATA>"]}
    assert revisions == {"HEAD", "workspace"}


@pytest.mark.slow
def test_pr_report_on_the_pipeline_shows_the_experiment_against_the_last_commit(block16, tmp_path):
    pulled_clone = block16[0]
    run(["supertiny", "pr-report", "--base", "HEAD", "--output", str(tmp_path / "report.md"), "--plots-dir", str(tmp_path / "plots")], pulled_clone)
    report = (tmp_path / "report.md").read_text()
    assert "quantize.block_size" in report and "| 32 " in report and "| 16 " in report
    assert re.search(r"\| metrics/quantize\.json +\| file_bytes +\|", report)
    assert "**accuracy_vs_latency**" in report and "  - deployed: latency_ms_p50 " in report
    assert (tmp_path / "plots" / "index.html").exists()
    assert (tmp_path / "plots" / "accuracy_by_category.svg").exists() and "accuracy_by_category.svg)" in report


# --- SSH: a real sshd on loopback ------------------------------------------------------------

SSHD = Path("/usr/sbin/sshd")


@contextlib.contextmanager
def sshd_on_loopback(folder: Path):
    """Yield (port, client key) of an sshd that accepts only that key, for the current user.

    No known_hosts: dvc-ssh does not check host keys (sshfs connects with known_hosts=None)."""
    for name in ("host", "client"):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)], folder)
    (folder / "authorized_keys").write_text((folder / "client.pub").read_text())
    port = free_port()
    (folder / "sshd_config").write_text("\n".join([
        f"HostKey {folder / 'host'}", f"AuthorizedKeysFile {folder / 'authorized_keys'}", f"PidFile {folder / 'sshd.pid'}",
        "ListenAddress 127.0.0.1", "PasswordAuthentication no", "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
        "PermitRootLogin prohibit-password", "StrictModes no", "UsePAM no", "Subsystem sftp internal-sftp", "",
    ]))
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation folder, made by its service otherwise
    log = folder / "sshd.log"
    with log.open("w") as log_file:
        server = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(folder / "sshd_config"), "-p", str(port)], stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"sshd did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield port, folder / "client"
    finally:
        server.terminate()
        server.wait(timeout=10)


def add_ssh_remote(repo: Path, port: int, path: Path, key: Path) -> None:
    run(["dvc", "remote", "add", "--local", "ssh", f"ssh://127.0.0.1:{port}{path}"], repo)
    run(["dvc", "remote", "modify", "--local", "ssh", "user", getpass.getuser()], repo)
    run(["dvc", "remote", "modify", "--local", "ssh", "keyfile", str(key)], repo)


@pytest.mark.slow
def test_push_and_pull_through_a_real_ssh_server(pushed, tmp_path_factory, tmp_path):
    if not SSHD.exists():
        pytest.skip("sshd not installed: apt-get install openssh-server")
    if importlib.util.find_spec("dvc_ssh") is None:
        pytest.skip('dvc-ssh not installed: pip install -e ".[dev]" (or pip install dvc-ssh)')
    fresh = clone(pushed, tmp_path_factory)
    storage = tmp_path / "storage"
    with sshd_on_loopback(tmp_path) as (port, key):
        for repo in (pushed, fresh):
            add_ssh_remote(repo, port, storage, key)
        run(["dvc", "push", "-r", "ssh", "prepare", "student"], pushed)
        assert (storage / "files" / "md5").is_dir()
        run(["dvc", "pull", "-r", "ssh", "prepare", "student"], fresh)
    pulled = checksums(fresh)
    assert pulled and pulled == {p: h for p, h in checksums(pushed).items() if p.startswith(("data/task/", "models/base/"))}
    status = json.loads(run(["dvc", "status", "--json", "prepare", "student"], fresh).stdout)
    assert status == {}, status


# --- pr-report on a two-commit repository of its own ------------------------------------------

TRAIN = """import json, yaml
p = yaml.safe_load(open("params.yaml"))["train"]
json.dump({"accuracy": round(1 - p["lr"], 4)}, open("metrics.json", "w"))
json.dump([{"step": s, "loss": round(p["lr"] * 10 / (s + 1), 4)} for s in range(3)], open("loss.json", "w"))
"""
PIPELINE = {
    "stages": {"train": {"cmd": "python train.py", "deps": ["train.py"], "params": ["train"],
                         "metrics": [{"metrics.json": {"cache": False}}], "plots": [{"loss.json": {"cache": False}}]}},
    "plots": [{"loss_curve": {"x": "step", "y": {"loss.json": "loss"}}}],
}


@pytest.fixture
def two_commits(tmp_path) -> Path:
    """A one-stage DVC repo: commit `lr: 0.1`, then commit `lr: 0.2` (accuracy 0.9 → 0.8)."""
    run(["git", "init", "-q"], tmp_path)
    run(["dvc", "init", "-q"], tmp_path)
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(PIPELINE, sort_keys=False))
    for lr in (0.1, 0.2):
        (tmp_path / "params.yaml").write_text(f"train:\n  lr: {lr}\n")
        run(["dvc", "repro"], tmp_path)
        git_commit(tmp_path, f"lr {lr}")
    return tmp_path


def test_pr_report_shows_changed_params_metrics_and_plots(two_commits, monkeypatch, capsys):
    monkeypatch.chdir(two_commits)
    main(["pr-report", "--base", "HEAD~1", "--head", "HEAD"])
    report = capsys.readouterr().out
    assert re.search(r"\| params\.yaml \| train\.lr +\| 0\.1 +\| 0\.2 +\|", report)
    assert re.search(r"\| metrics\.json \| accuracy +\| 0\.9 +\| 0\.8 +\| -0\.1 +\|", report)
    assert "**loss_curve**" in report and "`HEAD~1`: 3 steps; loss 1 → 0.3333" in report and "`HEAD`: 3 steps; loss 2 → 0.6667" in report


def test_pr_report_fails_in_one_line_on_an_unknown_revision_or_outside_a_dvc_repo(two_commits, tmp_path_factory, monkeypatch, capsys):
    for folder, argv, words in ((two_commits, ["--base", "no-such-branch"], "unknown git revision 'no-such-branch'"),
                                (tmp_path_factory.mktemp("plain"), ["--base", "HEAD"], "not inside a DVC repository")):
        monkeypatch.chdir(folder)
        with pytest.raises(SystemExit) as exit_info:
            main(["pr-report", *argv])
        error = capsys.readouterr().err.strip()
        assert exit_info.value.code == 2 and len(error.splitlines()) == 1 and words in error
