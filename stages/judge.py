"""Stage judge: keep the teacher traces that pass the rule checks (and, optionally, an LLM judge's grade)."""

from supertiny.jsonl import read_jsonl, write_json, write_jsonl
from supertiny.judge import judge_traces
from supertiny.params import load_params
from supertiny.tasks import get_task
from supertiny.teacher.llm_judge import LLMJudge
from supertiny.stage import stage_main


@stage_main
def main() -> str:
    params = load_params()
    task = get_task(params.prepare.task, params.custom)
    traces = read_jsonl("data/traces/train.jsonl", required=("id", "context", "messages", "final", "status"))
    llm_judge = LLMJudge(params.teach, params.judge) if params.judge.llm_judge else None
    accepted, rejected, metrics = judge_traces(task, traces, params.judge, llm_judge)
    write_jsonl("data/judged/accepted.jsonl", accepted)
    write_jsonl("data/judged/rejected.jsonl", rejected)
    write_json("metrics/judge.json", metrics)
    return f"data/judged: accepted {metrics['accepted']} of {metrics['traces']} traces"


if __name__ == "__main__":
    main()
