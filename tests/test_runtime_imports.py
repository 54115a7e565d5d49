"""The deployed runtime and the server run without torch, and the source's imports stay a
tree: no cycles, and nothing in runtime/ pulls in the training code."""

from __future__ import annotations

import json
import subprocess
import sys

import import_graph

WITHOUT_TORCH = """
import sys
sys.modules["torch"] = None  # any `import torch` now fails
import json

import supertiny.runtime.genai
import supertiny.serve.app
from supertiny.runtime.loading import load_predictor
from supertiny.runtime.prediction import Prediction
from supertiny.tasks import get_task

folder, example = sys.argv[1], json.loads(open(sys.argv[2]).read())
[prediction] = load_predictor(folder, get_task("smart_home"), 8).predict([example])
assert isinstance(prediction, Prediction) and prediction.prompt_tokens > 0, prediction
assert sys.modules["torch"] is None and not [name for name in sys.modules if name.startswith("torch.")]
print("answered without torch")
"""


def test_the_deployed_model_loads_and_answers_without_torch(tiny_exports, splits, tmp_path):
    example = tmp_path / "example.json"
    example.write_text(json.dumps(splits["test"][0]))
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_TORCH, str(tiny_exports("int8")), str(example)], capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0 and "answered without torch" in result.stdout, result.stderr[-3000:]


def test_the_source_has_no_import_cycle():
    assert [[str(path.relative_to(import_graph.SRC)) for path in cycle] for cycle in import_graph.cycles()] == []


def test_the_runtime_never_imports_the_training_code():
    training = {path for name, path in import_graph.modules().items() if name.startswith("supertiny.train")}
    runtime = [name for name in import_graph.modules() if name.startswith("supertiny.runtime")]
    reached = {name: sorted(str(p.relative_to(import_graph.SRC)) for p in import_graph.closure(name) & training) for name in runtime}
    assert {name: files for name, files in reached.items() if files} == {}
