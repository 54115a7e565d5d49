"""Shared fixtures: the tiny DVC project, the built-in task, small generated splits, a tiny student."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DVC_NO_ANALYTICS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def project(tmp_path_factory):
    """The whole DVC graph on the tiny preset, built once (a real `dvc repro`, ~4 min).

    Shared by test_dvc_workflow.py and test_pipeline.py: a test that changes it must put it
    back (params, outputs), and must not leave a run-cache entry a later test expects to run.
    """
    from dvc_project import build_tiny_project, keep_as_built

    return keep_as_built(build_tiny_project(tmp_path_factory.mktemp("project")))


@pytest.fixture(scope="session")
def task():
    from supertiny.tasks import get_task

    return get_task("smart_home")


@pytest.fixture(scope="session")
def splits(task):
    from presets import drawing

    return task.generate(drawing(7, {"train": 400, "dev": 120, "test": 150}, typo_rate=0.06))


@pytest.fixture(scope="session")
def tiny_student():
    """(model, tokenizer) of the `tiny` preset: SmolLM2's tokenizer, a 2-layer random model."""
    from presets import tiny_student_params
    from supertiny.train.student import load_base_student

    model, tokenizer, _ = load_base_student(tiny_student_params())
    return model, tokenizer


@pytest.fixture(scope="session")
def teacher_traces(task, splits):
    """The reference teacher's traces for the first 24 train examples."""
    from reference_teacher import reference_teacher_traces

    return reference_teacher_traces(task, splits["train"][:24])


@pytest.fixture(scope="session")
def sft_rows_small(task, teacher_traces):
    """Prompt/completion rows (the student's training format) from those traces."""
    from supertiny.train.sft import sft_rows

    return sft_rows(task, teacher_traces, max_examples=None, seed=0)


@pytest.fixture(scope="session")
def trained_tiny(tiny_student, sft_rows_small, tmp_path_factory):
    """Folder of a tiny student trained 20 steps on task text. A random init's outputs are
    flat or chaotic, so quantized and exported copies disagree with it by chance; a trained
    model's are peaked, as a real student's are."""
    import copy

    import torch

    from supertiny.modelcard import write_card
    from supertiny.checkpoints import save_model

    model, tokenizer = copy.deepcopy(tiny_student[0]), tiny_student[1]
    texts = [tokenizer.apply_chat_template(r["prompt"] + r["completion"], tokenize=True, return_dict=False) for r in sft_rows_small[:4]]
    batch = torch.tensor([ids[:64] for ids in texts])
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-2)
    for _ in range(20):
        model(input_ids=batch, labels=batch).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    folder = tmp_path_factory.mktemp("trained_tiny")
    save_model(model.eval(), tokenizer, folder)
    write_card(folder, kind="hf", stage="test", inputs={}, params={})
    return folder


@pytest.fixture(scope="session")
def tiny_exports(trained_tiny, tmp_path_factory):
    """precision -> onnxruntime-genai export of `trained_tiny`, built on first use."""
    from supertiny.compress.export import export_genai
    from supertiny.modelcard import write_card

    root, built = tmp_path_factory.mktemp("exports"), {}

    def export(precision: str):
        if precision not in built:
            built[precision] = root / precision
            export_genai(trained_tiny, built[precision], precision)
            write_card(built[precision], kind="ort-genai", stage="test", inputs={}, params={"precision": precision}, parameters=1)
        return built[precision]

    return export




@pytest.fixture(scope="session")
def examples(splits):
    """A dozen train requests: what the teacher tests send to an endpoint."""
    return splits["train"][:12]


@pytest.fixture(scope="session")
def reference_traces(task, examples):
    """The offline reference teacher's traces of `examples`: what any endpoint replaying it must give."""
    from presets import shipped
    from supertiny.teacher.reference import ReferenceBackend
    from supertiny.teacher.run import run_teacher

    return run_teacher(ReferenceBackend(task), task, examples, shipped().teach, desc="reference")

# The test files on the shared tiny build (the session fixture `project` above).
SHARED_BUILD_FILES = {"test_pipeline.py", "test_dvc_workflow.py", "test_reproducibility.py", "test_scaling_report.py"}


def pytest_xdist_make_scheduler(config, log):
    """How two workers share the suite (`-n auto --maxprocesses 2 --dist loadscope` in
    pyproject.toml): most of its time goes to whole-graph builds, each a chain of
    single-threaded Python processes, so two at once take little longer than one. A test file
    stays on one worker (its module fixtures, e.g. a whole-graph build, are built once), and the
    files on the shared `project` build share one worker too, so that build is made once.
    (xdist's own `loadgroup` marks do not take with pytest 9: it renames test ids through an
    attribute pytest no longer reads.)"""
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerPerBuild(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "shared tiny build" if path.rsplit("/", 1)[-1] in SHARED_BUILD_FILES else path

    return OneWorkerPerBuild(config, log)
