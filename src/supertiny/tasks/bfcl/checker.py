"""Scoring predictions with bfcl-eval's own checker, not ours: its AST checker for calls,
its no-call rule for the irrelevance categories, its formulas for the summaries.

bfcl-eval is installed without its dependencies (scripts/setup): they pin an old numpy and
bring dozens of vendor SDKs. Its AST checker module imports `MODEL_CONFIG_MAPPING` for one
lookup (whether a model's function names had `.` turned into `_`), and the module defining
it imports every model handler of the leaderboard and their SDKs (anthropic, cohere,
mistralai, google-genai, boto3, qwen-agent, ...). So that one module is given here, holding
the one entry the checker reads: supertiny's model, whose names went through that change
(`data.openai_name`). Everything else is bfcl-eval's code, imported unchanged.
"""

from __future__ import annotations

import sys
import types
from functools import cache

from supertiny.tasks.bfcl.data import by_id, is_irrelevance
from supertiny.tool_format import Answer

MODEL_NAME = "supertiny"  # how the checker is told whose output it reads
NON_LIVE_AST = ("simple_python", "multiple", "parallel", "parallel_multiple")
LIVE_AST = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")


@cache
def _bfcl():
    """bfcl-eval's checker, format rules and summary formulas, imported with the model
    mapping it reads (see the module's docstring)."""
    name = "bfcl_eval.constants.model_config"
    module = sys.modules.setdefault(name, types.ModuleType(name))
    module.__dict__.setdefault("MODEL_CONFIG_MAPPING", {}).setdefault(MODEL_NAME, types.SimpleNamespace(underscore_to_dot=True))
    from bfcl_eval.constants.enums import Language
    from bfcl_eval.eval_checker.ast_eval.ast_checker import ast_checker
    from bfcl_eval.eval_checker.eval_runner_helper import calculate_unweighted_accuracy, calculate_weighted_accuracy
    from bfcl_eval.utils import is_empty_output, is_function_calling_format_output

    return types.SimpleNamespace(
        ast_checker=ast_checker, python=Language.PYTHON, is_empty_output=is_empty_output,
        is_function_calling_format_output=is_function_calling_format_output,
        unweighted=calculate_unweighted_accuracy, weighted=calculate_weighted_accuracy,
    )


def decoded_output(answer: Answer | None) -> list[dict] | None:
    """A parsed answer as BFCL's checker reads a decoded one, `[{name: {argument: value}}]`:
    a reply is no call (`[]`); an unparseable text is None (BFCL: the decoding failed)."""
    if answer is None:
        return None
    if isinstance(answer, str):
        return []
    return [{call["name"]: call["arguments"]} for call in answer]


def check(entry: dict, category: str, answer: Answer | None) -> dict:
    """BFCL's verdict on an answer to `entry` (its data file's entry, possible answer as
    `ground_truth`): `{"valid": bool, ...}` with the checker's error where it has one."""
    bfcl, output = _bfcl(), decoded_output(answer)
    if is_irrelevance(category):  # bfcl's relevance_file_runner: no decodable call is right
        return {"valid": output is None or bfcl.is_empty_output(output)}
    if output is None:
        return {"valid": False, "error_type": "ast_decoder:decoder_failed"}
    if not bfcl.is_function_calling_format_output(output):
        return {"valid": False, "error_type": "ast_decoder:decoder_wrong_output_format"}
    return bfcl.ast_checker(entry["function"], output, entry["ground_truth"], bfcl.python, category, MODEL_NAME)


def official_scores(rows: list[dict]) -> tuple[dict[str, float], list[bool]]:
    """(metrics, each row's verdict) for scored rows (`id`, `category`, `prediction`): the
    accuracy per BFCL category as `bfcl_<category>`, and, where every category of one is
    present, BFCL's summaries: `bfcl_non_live_ast`, the unweighted mean of simple, multiple,
    parallel and parallel_multiple (BFCL's simple also averages Java and JavaScript, which
    are not tested here), and `bfcl_live_ast`, the live categories' mean weighted by size."""
    verdicts = [check(by_id(row["category"])[row["id"]], row["category"], row["prediction"])["valid"] for row in rows]
    totals: dict[str, list[bool]] = {}
    for row, verdict in zip(rows, verdicts):
        totals.setdefault(row["category"], []).append(verdict)
    scores = {category: {"accuracy": sum(v) / len(v), "total_count": len(v), "display_accuracy": sum(v) / len(v)}
              for category, v in totals.items()}
    metrics = {f"bfcl_{category}": round(score["accuracy"], 4) for category, score in sorted(scores.items())}
    bfcl = _bfcl()
    for key, categories, formula in (("bfcl_non_live_ast", NON_LIVE_AST, bfcl.unweighted), ("bfcl_live_ast", LIVE_AST, bfcl.weighted)):
        if all(category in scores for category in categories):
            metrics[key] = round(formula([scores[category] for category in categories])["accuracy"], 4)
    return metrics, verdicts
