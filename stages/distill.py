"""Stage distill: constrained knowledge distillation of the RFT student from a bigger
white-box teacher. With no teacher set (the default) the stage writes a `skipped` card and
the RL stage starts from the RFT model."""

import shutil
import tempfile
from pathlib import Path

from supertiny.errors import SupertinyError
from supertiny.jsonl import read_jsonl, write_json
from supertiny.modelcard import write_card
from supertiny.params import as_dict, load_params
from supertiny.tasks import get_task
from supertiny.train.ckd import CKDTrainer
from supertiny.train.common import TrainingCurves
from supertiny.train.sft import make_sft_trainer, sft_rows
from supertiny.train.student import count_parameters, load_model, load_teacher_model, save_model
from supertiny.stage import stage_main

OUT = Path("models/distill")


@stage_main
def main() -> str:
    params = load_params()
    settings = params.distill
    shutil.rmtree(OUT, ignore_errors=True)
    if settings.teacher is None:
        write_card(OUT, kind="skipped", stage="distill", inputs={}, params=as_dict(settings), reason="distill.teacher is not set")
        write_json("metrics/distill.json", {"skipped": True})
        write_json("metrics/train/distill.json", [])
        return "models/distill: skipped (distill.teacher is not set)"

    task = get_task(params.prepare.task)
    traces = read_jsonl("data/judged/accepted.jsonl", required=("input", "context", "final"))
    model, tokenizer = load_model("models/rft")
    teacher, teacher_tokenizer = load_teacher_model(settings.teacher, params.student.trust_remote_code)
    if teacher_tokenizer.get_vocab() != tokenizer.get_vocab():
        raise SupertinyError(f"params.yaml: distill.teacher {settings.teacher!r} does not share the student's tokenizer")

    rows = sft_rows(task, traces, settings.max_examples, settings.seed)
    curves = TrainingCurves("metrics/train/distill.json", keys=("loss", "teacher_agreement", "learning_rate", "grad_norm"))
    with tempfile.TemporaryDirectory() as work_dir:
        trainer = make_sft_trainer(
            model, tokenizer, rows, settings.training(), work_dir, [curves], trainer_class=CKDTrainer,
            teacher_model=teacher, top_k=settings.top_k, top_m=settings.top_m, tail_weight=settings.tail_weight,
        )
        result = trainer.train()
    metrics = {
        "skipped": False,
        "teacher": settings.teacher,
        "teacher_parameters": count_parameters(teacher),
        "steps": int(result.global_step),
        "final_loss": curves.last("loss"),
        "train_seconds": round(float(result.metrics.get("train_runtime", 0.0)), 1),
    }
    save_model(model, tokenizer, OUT)
    write_card(
        OUT, kind="hf", stage="distill", inputs={"model": "models/rft", "teacher": settings.teacher},
        params=as_dict(settings), parameters=count_parameters(model), training=metrics,
    )
    write_json("metrics/distill.json", metrics)
    return f"models/distill: {metrics['steps']} CKD steps from {settings.teacher}, final loss {metrics['final_loss']}"


if __name__ == "__main__":
    main()
