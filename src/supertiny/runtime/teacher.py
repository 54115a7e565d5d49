"""The prototype teacher as a model folder (card kind `teacher`): evaluated and served like
any student, so its accuracy is the bar the students are measured against."""

from __future__ import annotations

from pathlib import Path

from supertiny.modelcard import CARD_FILE, read_card
from supertiny.params import TeachParams, section_from_dict
from supertiny.runtime.prediction import Prediction
from supertiny.teacher.backends import make_backend
from supertiny.teacher.loop import run_tool_loop


class TeacherPredictor:
    """The teacher answering through its tool loop, with the teach params its card recorded."""

    parameters = None  # unknown: a rule set, or a model behind an API

    def __init__(self, folder: str | Path | None, task, params: TeachParams | None = None):
        """From a teacher model folder, or from `params` directly (the serve fallback's teacher)."""
        self.params = params or section_from_dict(TeachParams, read_card(folder).get("params"), str(Path(folder) / CARD_FILE))
        self.backend = make_backend(self.params, task)
        self.task = task

    def predict(self, examples: list[dict], batch_size: int = 1) -> list[Prediction]:
        if hasattr(self.backend, "remember"):  # the replay teacher answers from the examples' gold
            self.backend.remember(examples)
        predictions = []
        for example in examples:
            trace = run_tool_loop(self.backend, self.task, example, self.params.max_turns)
            answer = trace.final if trace.status == "ok" else None
            text = answer if isinstance(answer, str) else str(answer)
            predictions.append(Prediction(text, answer, trace.usage.prompt_tokens, trace.usage.completion_tokens))
        return predictions
