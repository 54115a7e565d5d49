"""The `supertiny` command: use a built model outside the pipeline.

`dvc repro` builds the models; this is what a user runs next, on their own requests.
"""

from __future__ import annotations

import argparse
import json
import sys

from supertiny.errors import exit_on_user_error


def _predict(args: argparse.Namespace) -> None:
    from supertiny.jsonl import iter_jsonl
    from supertiny.params import load_params
    from supertiny.runtime.loading import load_predictor
    from supertiny.tasks import get_task

    params = load_params(args.params)
    task = get_task(params.prepare.task, params.custom)
    examples = list(iter_jsonl(args.input, required=("input", "context")))
    predictor = load_predictor(args.model, task, args.max_new_tokens or params.generation.max_new_tokens, constrained=params.generation.constrained,
                               confidence=params.generation.confidence)
    for example, prediction in zip(examples, predictor.predict(examples, batch_size=args.batch_size)):
        answer = prediction.answer
        print(json.dumps({"id": example.get("id"), "answer": answer, "raw": None if answer is not None else prediction.text}))


SERVE_SIZES = (
    "--max-tokens-cap", "--max-input-chars", "--max-prompt-tokens", "--max-context-bytes", "--max-batch", "--max-queue",
    "--max-connections",
)


def _serve(args: argparse.Namespace) -> None:
    from supertiny.errors import SupertinyError
    from supertiny.params import load_params
    from supertiny.serve.app import serve
    from supertiny.serve.protocol import Limits
    from supertiny.tasks import get_task

    if small := [name for name in SERVE_SIZES if getattr(args, name[2:].replace("-", "_")) < 1]:
        raise SupertinyError(f"serve: {', '.join(small)} must be >= 1")
    if args.read_timeout <= 0:
        raise SupertinyError("serve: --read-timeout must be > 0")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    params = load_params(args.params)
    task = get_task(params.prepare.task, params.custom)
    fallback = None
    if args.fallback:
        from supertiny.serve.fallback import Fallback, read_threshold

        threshold = args.fallback_threshold
        if threshold is None:  # the calibrated one, if it was picked on the confidence this server computes
            threshold = read_threshold(args.cascade_metrics, params.generation.confidence)
        if not 0.0 <= threshold <= 1.01:
            raise SupertinyError(f"serve: --fallback-threshold {threshold} is not a confidence (0 to 1)")
        fallback = Fallback(params.teach, task, threshold, args.handoff_log)  # a custom task's teacher reads its settings
    limits = Limits(
        args.max_tokens_cap, args.max_input_chars, params.generation.max_new_tokens, args.max_context_bytes, args.max_prompt_tokens,
    )
    serve(
        args.model, task, args.host, args.port, args.model_name,
        limits, args.context, args.api_key_env, args.max_batch, args.max_queue, args.max_connections, args.read_timeout,
        fallback, params.generation.constrained, params.generation.confidence,
    )


def _check_params(args: argparse.Namespace) -> None:
    from supertiny.params import load_params

    load_params(args.params)
    print(f"{args.params}: ok")


def _pr_report(args: argparse.Namespace) -> None:
    from pathlib import Path

    from supertiny.pr_report import build_report

    report = build_report(Path.cwd(), args.base, args.head, Path(args.plots_dir) if args.plots_dir else None, args.plots_url)
    if args.output:
        Path(args.output).write_text(report)
    else:
        print(report, end="")


def _bfcl_report(args: argparse.Namespace) -> None:
    from supertiny.bfcl_report import bfcl_report, read_run
    from supertiny.jsonl import write_json

    report = bfcl_report(*read_run(".", args.rev))
    write_json(args.output, report)
    print(f"{args.output}: " + ", ".join(f"{name} {scores['overall']:.3f}" for name, scores in report["models"].items()))


def _scaling_report(args: argparse.Namespace) -> None:
    from supertiny.jsonl import write_json
    from supertiny.scaling_report import scaling_report

    rows = scaling_report(args.runs)
    write_json(args.output, rows)
    print(f"{args.output}: " + ", ".join(f"{row['run']} {row['deployed_test']:.3f}" for row in rows))


def _compare(args: argparse.Namespace) -> None:
    from supertiny.compare import compare_markdown, compare_runs, scored_rows
    from supertiny.errors import SupertinyError
    from supertiny.jsonl import write_json

    if len(args.before) != len(args.after):
        raise SupertinyError(f"--before names {len(args.before)} runs and --after {len(args.after)}: give one of each per seed, in the same order")
    after_model = args.after_model or args.model
    pairs = [(scored_rows(before, args.model), scored_rows(after, after_model)) for before, after in zip(args.before, args.after)]
    rows = compare_runs(pairs)
    if args.output:
        write_json(args.output, rows)
    print(compare_markdown(rows, args.before, args.after, args.model, after_model), end="")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supertiny", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    predict = commands.add_parser("predict", help="answer requests from a JSONL file (fields: input, context) with a built model")
    predict.add_argument("model", help="a model folder written by the pipeline, e.g. models/sft")
    predict.add_argument("input", help="JSONL of requests, like data/task/test.jsonl")
    predict.add_argument("--params", default="params.yaml", help="params file naming the task (default: params.yaml)")
    predict.add_argument("--batch-size", type=int, default=16)
    predict.add_argument("--max-new-tokens", type=int, help="longest answer (default: generation.max_new_tokens in the params file)")
    predict.set_defaults(run=_predict)

    serve = commands.add_parser("serve", help="serve a built model as an OpenAI-compatible chat endpoint with tools")
    serve.add_argument("model", help="a model folder written by the pipeline, e.g. models/sft")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--model-name", help="the model id clients send (default: the folder's name)")
    serve.add_argument("--params", default="params.yaml", help="params file naming the task (default: params.yaml)")
    serve.add_argument("--context", help="JSON file: the context for requests that carry none (e.g. the one home this server controls)")
    serve.add_argument("--max-tokens-cap", type=int, default=256,
                       help="largest max_tokens a request may ask for (default: 256); requests that set none get "
                            "generation.max_new_tokens from the params file, within this cap")
    serve.add_argument("--max-input-chars", type=int, default=2000, help="longest user message accepted (default: 2000)")
    serve.add_argument("--max-prompt-tokens", type=int, default=1024,
                       help="longest prompt (instructions, context, user message) in tokens; longer ones get 413 before "
                            "they are queued (default: 1024; with --max-tokens-cap, within the model's positions)")
    serve.add_argument("--max-context-bytes", type=int, default=65536,
                       help="largest context, as JSON, rendered for the model; larger ones get 413 (default: 65536)")
    serve.add_argument("--max-batch", type=int, default=8, help="requests decoded together (default: 8)")
    serve.add_argument("--max-queue", type=int, default=256, help="requests waiting before new ones get 503 (default: 256)")
    serve.add_argument("--max-connections", type=int, default=512,
                       help="open connections; past it the longest-idle one is closed (default: 512)")
    serve.add_argument("--read-timeout", type=float, default=10.0,
                       help="seconds a connection has to send a request's head (after connecting or its last answer) "
                            "and then its body (default: 10)")
    serve.add_argument("--api-key-env", default="SUPERTINY_API_KEY",
                       help="environment variable holding the bearer token clients must send; unset: no auth (default: SUPERTINY_API_KEY)")
    serve.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    serve.add_argument("--fallback", action="store_true",
                       help="hand requests the model is unsure of to the teacher (the params file's teach settings; README, Cascade)")
    serve.add_argument("--fallback-threshold", type=float,
                       help="confidence below which a request is handed off (default: `threshold` in --cascade-metrics)")
    serve.add_argument("--cascade-metrics", default="metrics/cascade.json", help="the calibrate stage's metrics (default: metrics/cascade.json)")
    serve.add_argument("--handoff-log", default="handoffs/handoffs.jsonl",
                       help="JSONL of every hand-off, rotated at 64 MB, 5 kept (default: handoffs/handoffs.jsonl)")
    serve.set_defaults(run=_serve)

    check = commands.add_parser("check-params", help="validate params.yaml without running anything")
    check.add_argument("params", nargs="?", default="params.yaml")
    check.set_defaults(run=_check_params)

    pr_report = commands.add_parser("pr-report", help="Markdown of the params, metrics and plots diffs between two revisions, for a pull request")
    pr_report.add_argument("--base", required=True, help="git revision to compare against, e.g. origin/main")
    pr_report.add_argument("--head", default="workspace", help="git revision, or `workspace` for the working tree (default: workspace)")
    pr_report.add_argument("--output", help="write the Markdown here (default: stdout)")
    pr_report.add_argument("--plots-dir", help="also render the plots diff as HTML into this folder (dvc plots diff -o), and the key plots as SVG")
    pr_report.add_argument("--plots-url", help="show the head's committed key plot SVGs (reports/plots) from this URL prefix, "
                           "e.g. https://github.com/OWNER/REPO/raw/<head sha>")
    pr_report.set_defaults(run=_pr_report)

    bfcl = commands.add_parser("bfcl-report", help="reports/bfcl.json from a BFCL run: per-category scores of base, sft and deployed (README, BFCL)")
    bfcl.add_argument("--rev", help="the run's git revision or experiment name, e.g. bfcl-subset (default: the workspace)")
    bfcl.add_argument("--output", default="reports/bfcl.json", help="where to write it (default: reports/bfcl.json)")
    bfcl.set_defaults(run=_bfcl_report)

    scaling = commands.add_parser("scaling-report", help="reports/scaling.json: sft and deployed exact match against sft's training, one row per run (README, More training)")
    scaling.add_argument("runs", nargs="+", help="runs as LABEL=REV or REV: a commit or experiment name, or `workspace`")
    scaling.add_argument("--output", default="reports/scaling.json", help="where to write it (default: reports/scaling.json)")
    scaling.set_defaults(run=_scaling_report)

    compare = commands.add_parser("compare", help="exact match of two runs, request by request: the change per set and category, "
                                  "with its 95%% interval (README, Is a change beyond the noise?)")
    compare.add_argument("--before", action="append", required=True,
                         help="a run: a commit or experiment name, `workspace`, or a scored JSONL file; repeat for more seeds")
    compare.add_argument("--after", action="append", required=True, help="the run compared with it; repeat for more seeds, in --before's order")
    compare.add_argument("--model", default="deployed", help="the scored model read in each run, data/eval/<model>.jsonl (default: deployed)")
    compare.add_argument("--after-model", help="another model for the --after runs, e.g. deployed against --model sft (default: --model)")
    compare.add_argument("--output", help="also write the rows as JSON here")
    compare.set_defaults(run=_compare)
    return parser


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
