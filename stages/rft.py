"""Stage rft: the SFT student samples answers on train prompts; its correct ones (and the
teacher's where it never succeeded) fine-tune it further. With `rft.max_steps: 0` (the
default: it does not pay at this scale, README) the SFT model passes through unchanged."""

import random
import tempfile

from supertiny.checkpoints import count_parameters, load_model, save_model, use_bf16
from supertiny.device import resolve_device, torch_device
from supertiny.jsonl import read_jsonl, write_json
from supertiny.launch import is_main_process, relaunch_under_accelerate
from supertiny.modelcard import write_card
from supertiny.params import as_dict, load_params
from supertiny.passthrough import pass_through
from supertiny.tasks import example_tools, get_task
from supertiny.train.rft import sample_answers, score_samples, select_rft_rows
from supertiny.train.sft import train_sft
from supertiny.stage import stage_main


@stage_main
def main() -> str | None:
    params = load_params()
    settings = params.rft
    device = resolve_device(params.train.device)
    if settings.max_steps == 0:
        return pass_through("models/sft", "models/rft", "rft", "rft.max_steps is 0", as_dict(settings))
    relaunch_under_accelerate(params.train)  # every process samples the same answers (same seed), then trains on its share
    task = get_task(params.prepare.task)
    traces = read_jsonl("data/judged/accepted.jsonl", required=("input", "context", "final"))
    traces = random.Random(settings.seed).sample(traces, min(settings.prompts, len(traces)))
    model, tokenizer = load_model("models/sft")
    model.to(torch_device(device))

    texts = sample_answers(
        model, tokenizer, task, traces, settings.samples, settings.temperature, settings.top_p,
        params.generation.max_new_tokens, settings.generation_batch_size, settings.seed, bf16=use_bf16(settings.precision, device),
    )
    samples = [score_samples(group, trace["final"], example_tools(task, trace)) for group, trace in zip(texts, traces)]
    rows, selection = select_rft_rows(task, traces, samples, settings.seed)

    with tempfile.TemporaryDirectory() as work_dir:
        training = train_sft(model, tokenizer, rows, settings, params.train, work_dir, "metrics/train/rft.json")
    if not is_main_process():
        return None
    save_model(model, tokenizer, "models/rft")
    write_card(
        "models/rft", kind="hf", stage="rft", inputs={"model": "models/sft", "traces": "data/judged/accepted.jsonl"},
        params=as_dict(settings), parameters=count_parameters(model), selection=selection,
    )
    write_json("metrics/rft.json", {**selection, **{f"train_{k}": v for k, v in training.items()}})
    return (f"models/rft: {selection['acceptance_rate']:.0%} of samples correct, {selection['solved_at_least_once']:.0%} of prompts solved, "
            f"{training['steps']} steps, final loss {training['final_loss']}")


if __name__ == "__main__":
    main()
