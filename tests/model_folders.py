"""Model folders as the pipeline writes them, for serving in tests."""

from __future__ import annotations

from pathlib import Path

from supertiny.checkpoints import count_parameters, save_model
from supertiny.modelcard import write_card
from supertiny.params import as_dict

from presets import shipped, tiny_student_params


def tiny_model_folder(tiny_student, folder: Path) -> Path:
    """The `tiny` preset student saved like `stages/student.py` saves models/base."""
    model, tokenizer = tiny_student
    save_model(model, tokenizer, folder)
    write_card(
        folder, kind="hf", stage="student", inputs={"source": "tiny preset (random init)"},
        params=as_dict(tiny_student_params()), parameters=count_parameters(model), architecture=model.config.model_type,
    )
    return folder


def teacher_model_folder(folder: Path) -> Path:
    """The reference teacher's folder like `stages/teach.py` writes models/teacher: real tool calls, no weights."""
    write_card(folder, kind="teacher", stage="teach", inputs={}, params=as_dict(shipped().teach), backend="reference")
    return folder
