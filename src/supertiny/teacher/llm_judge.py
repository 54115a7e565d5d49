"""The optional LLM-as-judge: a model grades each rule-accepted trace against a rubric.

It reuses the teacher's client (endpoint, key, retries, response cache), so a rerun of the
judge stage pays for no grade twice. The judge sees what the teacher saw: its
instructions, the request, its lookups with their results, and its final answer.
"""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor

from supertiny.errors import SupertinyError
from supertiny.params import JudgeParams, TeachParams
from supertiny.teacher.client import ChatClient
from supertiny.teacher.run import cost_usd

RUBRIC = """You grade the final answer of a tool-calling assistant. You get the instructions it \
followed, the user's request, the lookups it made with their results, and its final answer (tool \
calls, or a reply when nothing should be done).
Score 1-5: 5 = exactly what the request asks, on the right devices with the right values; \
4 = correct with a harmless difference; 3 = partly correct; 2 = mostly wrong; 1 = wrong or harmful.
Answer with only a JSON object: {"score": <1-5>, "reason": "<one short sentence>"}"""

_SCORE_KEY = re.compile(r'"?score"?\s*[:=]\s*"?([1-5])\b', re.I)
_DIGIT = re.compile(r"(?<![\d./])([1-5])(?!\.?\d)")
_SCALE = re.compile(r"(?:out of|/)\s*5\b|\b5\s*(?:-|to)\s*1\b|\b1\s*(?:-|to)\s*5\b", re.I)


def render_trace(trace: dict) -> str:
    """The trace as the judge reads it: instructions, request, lookups -> results, final answer."""
    messages = trace["messages"]
    calls = {c.get("id"): c["function"] for m in messages if m["role"] == "assistant" for c in m.get("tool_calls") or []}
    lines = ["Instructions:", next((m["content"] for m in messages if m["role"] == "system"), ""), ""]
    lines.append("Request: " + next(m["content"] for m in messages if m["role"] == "user"))
    for message in messages:
        if message["role"] == "tool":
            call = calls.get(message.get("tool_call_id"), {"name": "?", "arguments": ""})
            lines.append(f"Lookup {call['name']}({call['arguments']}) -> {message['content']}")
    final = trace["final"]
    if isinstance(final, str):
        lines.append("Final answer (reply): " + final)
    else:
        lines.append("Final answer (calls): " + json.dumps(final, ensure_ascii=False))
    return "\n".join(lines)


def parse_grade(text: str) -> dict:
    """{"score": 1-5 or None, "reason": str} from the judge's reply, JSON or not."""
    text = (text or "").strip()
    match = re.search(r"\{.*\}", text, re.S)
    if match:
        try:
            payload = json.loads(match.group(0))
            score = payload.get("score") if isinstance(payload, dict) else None
            if isinstance(score, (int, float)) and 1 <= score <= 5:
                return {"score": int(score), "reason": str(payload.get("reason", ""))}
        except json.JSONDecodeError:
            pass
    return {"score": _loose_score(text), "reason": text[:200]}


def _loose_score(text: str) -> int | None:
    """A grade from free text: a `score: N`, else the one digit 1-5 left once the scale itself
    ("out of 5", "/5", "1-5") is set aside; None when that leaves none or several (a guess would
    let a bad trace through)."""
    keyed = _SCORE_KEY.search(text)
    if keyed:
        return int(keyed.group(1))
    digits = {int(d) for d in _DIGIT.findall(_SCALE.sub(" ", text))}
    return digits.pop() if len(digits) == 1 else None


class LLMJudge:
    def __init__(self, teach: TeachParams, judge: JudgeParams):
        if not judge.llm_judge_model and teach.backend != "openai":
            raise SupertinyError("params.yaml: judge.llm_judge needs judge.llm_judge_model or teach.backend: openai")
        self.teach = teach
        self.model = judge.llm_judge_model or teach.model
        self.client = ChatClient(teach)
        self._lock = threading.Lock()
        self._tokens = [0, 0]

    def grade_one(self, trace: dict) -> dict:
        request = {
            "model": self.model,
            "messages": [{"role": "system", "content": RUBRIC}, {"role": "user", "content": render_trace(trace)}],
            "temperature": 0.0,
            "max_tokens": 200,
            "seed": self.teach.seed,
        }
        response, _ = self.client.create(request)
        usage = response.get("usage") or {}
        with self._lock:
            self._tokens[0] += usage.get("prompt_tokens") or 0
            self._tokens[1] += usage.get("completion_tokens") or 0
        return parse_grade(response["choices"][0]["message"].get("content") or "")

    def grade(self, traces: list[dict]) -> list[dict]:
        stop = threading.Event()

        def one(trace: dict) -> dict | None:
            if stop.is_set():
                return None
            try:
                return self.grade_one(trace)
            except SupertinyError:
                stop.set()  # the endpoint is failing for good: grade nothing new
                raise

        with ThreadPoolExecutor(max_workers=self.teach.concurrency) as pool:
            return list(pool.map(one, traces))

    def metrics(self) -> dict:
        prompt, completion = self._tokens
        counters = {f"llm_judge_{key}": value for key, value in self.client.stats.as_metrics().items()}
        return {
            "llm_judge_model": self.model,
            "llm_judge_prompt_tokens": prompt,
            "llm_judge_completion_tokens": completion,
            "llm_judge_cost_usd": round(cost_usd(prompt, completion, self.teach), 4),
            **counters,
        }
