"""Stage sft: fine-tune the base student on the accepted traces' final answers."""

import tempfile

from supertiny.changes import with_student_golds
from supertiny.checkpoints import count_parameters, load_model, save_model
from supertiny.compress.fidelity import answer_sequences
from supertiny.device import resolve_device
from supertiny.errors import SupertinyError
from supertiny.jsonl import read_jsonl, write_json
from supertiny.launch import is_main_process, relaunch_under_accelerate
from supertiny.modelcard import write_card
from supertiny.params import as_dict, load_params
from supertiny.tasks import get_task
from supertiny.train.dev_curve import DevCurve
from supertiny.train.sft import sft_rows, train_sft
from supertiny.stage import stage_main


@stage_main
def main() -> str | None:
    params = load_params()
    resolve_device(params.train.device)
    relaunch_under_accelerate(params.train)
    task = get_task(params.prepare.task)
    traces = read_jsonl("data/judged/accepted.jsonl", required=("input", "context", "final"))
    if not traces:  # before loading anything: a judge that rejected every trace leaves nothing to learn
        raise SupertinyError("data/judged/accepted.jsonl: no accepted traces to train on (metrics/judge.json and data/judged/rejected.jsonl say why)")
    rows = sft_rows(task, traces, params.sft.max_examples, params.sft.seed, params.sft.turns_per_sequence)
    dev = read_jsonl("data/task/dev.jsonl", required=("id", "input", "context", "gold"))[: params.sft.dev_curve_examples]
    dev = with_student_golds(dev, read_jsonl("data/traces/dev.jsonl", required=("id", "final")))  # the answers as the student writes them
    model, tokenizer = load_model("models/base")
    dev_curve = DevCurve(answer_sequences(tokenizer, task, dev), params.sft.dev_curve_every, "metrics/train/sft_dev.json")
    with tempfile.TemporaryDirectory() as work_dir:
        metrics = train_sft(model, tokenizer, rows, params.sft, params.train, work_dir, "metrics/train/sft.json", [dev_curve],
                            params.sft.neftune_noise_alpha)
    if not is_main_process():
        return None
    save_model(model, tokenizer, "models/sft")
    write_card(
        "models/sft", kind="hf", stage="sft", inputs={"model": "models/base", "traces": "data/judged/accepted.jsonl"},
        params=as_dict(params.sft), parameters=count_parameters(model),
    )
    write_json("metrics/sft.json", metrics | dev_curve.last())
    return f"models/sft: {metrics['steps']} steps on {metrics['examples']} traces in {metrics['sequences']} sequences, final loss {metrics['final_loss']}"


if __name__ == "__main__":
    main()
