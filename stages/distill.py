"""Stage distill: constrained knowledge distillation of the RFT student from a bigger
white-box teacher. With no teacher set (the default) the stage writes a `skipped` card and
the RL stage starts from the RFT model."""

import shutil
from pathlib import Path

from supertiny.checkpoints import count_parameters, load_model, save_model
from supertiny.errors import SupertinyError
from supertiny.device import resolve_device
from supertiny.jsonl import read_jsonl, write_json
from supertiny.launch import is_main_process, relaunch_under_accelerate
from supertiny.modelcard import write_card
from supertiny.params import as_dict, load_params
from supertiny.tasks import get_task
from supertiny.train.ckd import train_ckd
from supertiny.train.sft import sft_rows
from supertiny.train.student import load_teacher_model
from supertiny.stage import stage_main

OUT = Path("models/distill")


@stage_main
def main() -> str | None:
    params = load_params()
    settings = params.distill
    resolve_device(params.train.device)
    shutil.rmtree(OUT, ignore_errors=True)
    if settings.teacher is None:
        write_card(OUT, kind="skipped", stage="distill", inputs={}, params=as_dict(settings), reason="distill.teacher is not set")
        write_json("metrics/distill.json", {"skipped": True})
        write_json("metrics/train/distill.json", [])
        return "models/distill: skipped (distill.teacher is not set)"
    relaunch_under_accelerate(params.train)

    task = get_task(params.prepare.task)
    traces = read_jsonl("data/judged/accepted.jsonl", required=("input", "context", "final"))
    model, tokenizer = load_model("models/rft")
    teacher, teacher_tokenizer = load_teacher_model(settings.teacher, params.student.trust_remote_code)
    if teacher_tokenizer.get_vocab() != tokenizer.get_vocab():
        raise SupertinyError(f"params.yaml: distill.teacher {settings.teacher!r} does not share the student's tokenizer")

    rows = sft_rows(task, traces, settings.max_examples, settings.seed)
    training = train_ckd(model, teacher, tokenizer, rows, settings, settings, params.train, "metrics/train/distill.json")
    if not is_main_process():
        return None
    metrics = {"skipped": False, "teacher": settings.teacher, "teacher_parameters": count_parameters(teacher), **training}
    save_model(model, tokenizer, OUT)
    write_card(
        OUT, kind="hf", stage="distill", inputs={"model": "models/rft", "teacher": settings.teacher},
        params=as_dict(settings), parameters=count_parameters(model),
    )
    write_json("metrics/distill.json", metrics)
    return f"models/distill: {metrics['steps']} CKD steps from {settings.teacher}, final loss {metrics['final_loss']}"


if __name__ == "__main__":
    main()
