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
    from supertiny.runtime.predictor import load_predictor
    from supertiny.tasks import get_task

    task = get_task(load_params(args.params).prepare.task)
    examples = list(iter_jsonl(args.input, required=("input", "context")))
    predictor = load_predictor(args.model, task, args.max_new_tokens)
    for example, prediction in zip(examples, predictor.predict(examples, batch_size=args.batch_size)):
        answer = prediction.answer
        print(json.dumps({"id": example.get("id"), "answer": answer, "raw": None if answer is not None else prediction.text}))


def _check_params(args: argparse.Namespace) -> None:
    from supertiny.params import load_params

    load_params(args.params)
    print(f"{args.params}: ok")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="supertiny", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    predict = commands.add_parser("predict", help="answer requests from a JSONL file (fields: input, context) with a built model")
    predict.add_argument("model", help="a model folder written by the pipeline, e.g. models/sft")
    predict.add_argument("input", help="JSONL of requests, like data/task/test.jsonl")
    predict.add_argument("--params", default="params.yaml", help="params file naming the task (default: params.yaml)")
    predict.add_argument("--batch-size", type=int, default=16)
    predict.add_argument("--max-new-tokens", type=int, default=160)
    predict.set_defaults(run=_predict)

    check = commands.add_parser("check-params", help="validate params.yaml without running anything")
    check.add_argument("params", nargs="?", default="params.yaml")
    check.set_defaults(run=_check_params)
    return parser


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    sys.exit(main())
