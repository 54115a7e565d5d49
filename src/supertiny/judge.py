"""The judge: keep only teacher traces whose final answer could be right.

Rule checks need no gold: the trace finished within its turns, a reply (an answer with no
calls) is a short sentence that does not claim an action was done, every call names a known
action, validates against its JSON schema and passes no argument the schema lacks
(`tool_schemas.call_problem`; the trace's own tools where its task varies them), and the
task's own rules hold: for smart_home, the calls are consistent with the home (devices
exist and can do what is asked, no duplicate or conflicting calls, the request's words
support each device) and every device id the answer uses was seen in a helper result
(grounded, not guessed).
"""

from __future__ import annotations

import json
import re
from collections import Counter

from supertiny.params import JudgeParams
from supertiny.tasks import example_tools
from supertiny.tool_schemas import call_problem, schemas_by_name


# A reply is what the user hears when nothing is done, so it must not say something was:
# "Done!", "I've turned on ...", "the lights are now off", "Switching it off now".
_CLAIMS_ACTION = re.compile(
    r"^\W*(?:ok(?:ay)?\W+)?(?:done|all set|there you go|turning|switching|setting|starting|playing)\b"
    r"|\bi(?:['’]ve| have| just| already)?\s+(?:now\s+|just\s+|already\s+|gone ahead and\s+)?"
    r"(?:turned|switched|set|started|stopped|changed|dimmed|brightened|raised|lowered|played|adjusted|done"
    r"|updated|added|created|booked|scheduled|logged|sent|deleted|cancell?ed|moved|put)\b"
    r"|\b(?:is|are|has been|have been)\s+(?:now\s+)?(?:turned|switched|set)\b"
    r"|\b(?:is|are)\s+now\s+(?:on|off)\b",
    re.IGNORECASE,
)


def reply_problems(reply: str, params: JudgeParams) -> list[str]:
    """Why a reply cannot be right whatever was asked: empty, too long, or claiming a call it did not make."""
    if not reply.strip():
        return ["empty_reply"]
    if len(reply) > params.max_reply_chars:
        return ["reply_too_long"]
    return ["reply_claims_action"] if _CLAIMS_ACTION.search(reply) else []


def rejection_reasons(task, trace: dict, params: JudgeParams) -> list[str]:
    if trace.get("status") != "ok":
        return [trace.get("status") or "unfinished"]
    final = trace.get("final")
    if final is None:
        return ["no_answer"]
    if isinstance(final, str):
        return reply_problems(final, params)
    if not final:
        return ["empty_answer"]
    reasons = []
    if len(final) > params.max_calls:
        reasons.append("too_many_calls")
    schemas = schemas_by_name(example_tools(task, trace))
    reasons += [problem[0] for call in final if (problem := call_problem(call, schemas))]
    if not reasons:
        reasons += task.answer_problems(trace, final)
    if params.require_grounded_devices and task.name == "smart_home" and not reasons:
        seen = " ".join(m.get("content") or "" for m in trace["messages"] if m["role"] == "tool")
        if any(json.dumps(c["arguments"]["device"]) not in seen for c in final if "device" in c["arguments"]):
            reasons.append("ungrounded_device")
    return sorted(set(reasons))


def judge_traces(task, traces: list[dict], params: JudgeParams, llm_judge=None) -> tuple[list[dict], list[dict], dict]:
    """Rule checks on every trace; then, if an `LLMJudge` is given, its grade on those that passed."""
    all_problems = [rejection_reasons(task, trace, params) for trace in traces]
    if llm_judge is not None:
        traces = list(traces)  # graded copies replace the passing traces; the caller's list stays as it was
        passed = [i for i, problems in enumerate(all_problems) if not problems]
        for i, grade in zip(passed, llm_judge.grade([traces[i] for i in passed])):
            traces[i] = {**traces[i], "llm_judge": grade}
            if grade["score"] is None:
                all_problems[i] = ["llm_judge_unparsed"]
            elif grade["score"] < params.llm_judge_min_score:
                all_problems[i] = ["llm_judge_low_score"]
    accepted, rejected, reasons = [], [], Counter()
    for trace, problems in zip(traces, all_problems):
        if problems:
            rejected.append({**trace, "rejected_because": problems})
            reasons.update(problems)
        else:
            accepted.append(trace)
    metrics = {
        "traces": len(traces),
        "accepted": len(accepted),
        "rejected": len(rejected),
        "acceptance_rate": round(len(accepted) / max(1, len(traces)), 4),
        **{f"rejected_{reason}": count for reason, count in sorted(reasons.items())},
        **(llm_judge.metrics() if llm_judge is not None else {}),
    }
    return accepted, rejected, metrics
