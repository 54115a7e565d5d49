"""Stage rl: GRPO from the best knowledge-transfer model so far (distill if it ran, else rft),
rewarded by the Sim-RL similarity to the teacher's accepted answers. With `rl.steps: 0` (the
default: it does not pay at this scale, README) that model passes through unchanged."""

import tempfile

from supertiny.checkpoints import count_parameters, load_model, save_model
from supertiny.device import resolve_device
from supertiny.jsonl import read_jsonl, write_json
from supertiny.launch import is_main_process, relaunch_under_accelerate
from supertiny.modelcard import read_card, write_card
from supertiny.params import as_dict, load_params
from supertiny.passthrough import pass_through
from supertiny.tasks import get_task
from supertiny.train.common import TrainingCurves, trainer_metrics
from supertiny.train.rl import first_and_last, make_grpo_trainer, rl_rows
from supertiny.stage import stage_main

CURVE_KEYS = ("reward", "reward_std", "frac_reward_zero_std", "frac_groups_filtered", "completions/mean_length", "kl", "loss", "learning_rate")


@stage_main
def main() -> str | None:
    params = load_params()
    settings = params.rl
    resolve_device(params.train.device)
    source = "models/distill" if read_card("models/distill").get("kind") == "hf" else "models/rft"
    if settings.steps == 0:
        return pass_through(source, "models/rl", "rl", "rl.steps is 0", as_dict(settings))
    relaunch_under_accelerate(params.train)
    task = get_task(params.prepare.task, params.custom)
    traces = read_jsonl("data/judged/accepted.jsonl", required=("input", "context", "final"))
    model, tokenizer = load_model(source)

    curves = TrainingCurves("metrics/train/rl.json", keys=CURVE_KEYS)
    rows = rl_rows(task, traces, settings.prompts, settings.seed)
    with tempfile.TemporaryDirectory() as work_dir:
        trainer = make_grpo_trainer(
            model, tokenizer, task, rows, work_dir, [curves], steps=settings.steps, prompts_per_step=settings.prompts_per_step,
            group_size=settings.group_size, learning_rate=settings.learning_rate, beta=settings.beta,
            temperature=settings.temperature, max_new_tokens=params.generation.max_new_tokens,
            dynamic_filtering=settings.dynamic_filtering, precision=settings.precision, seed=settings.seed, train=params.train,
        )
        training = trainer_metrics(trainer.train(), curves)
    if not is_main_process():
        return None
    reward_first, reward_last = first_and_last(curves.rows, "reward")
    metrics = {
        "source": source,
        "reward_first_steps": reward_first,
        "reward_last_steps": reward_last,
        "frac_groups_filtered": first_and_last(curves.rows, "frac_groups_filtered", window=len(curves.rows))[0],
        **training,
    }
    save_model(model, tokenizer, "models/rl")
    write_card(
        "models/rl", kind="hf", stage="rl", inputs={"model": source, "traces": "data/judged/accepted.jsonl"},
        params=as_dict(settings), parameters=count_parameters(model),
    )
    write_json("metrics/rl.json", metrics)
    return f"models/rl: {metrics['steps']} GRPO steps from {source}, mean reward {reward_first} -> {reward_last}"


if __name__ == "__main__":
    main()
