"""Reading the user's feature files into task examples, and refusing bad ones up front.

`tools.json` is the list the feature sends as `tools=`. `requests.jsonl` holds one request
a line, either as the chat it sends (`messages`: system messages with its instructions and
context, then the user's message, optionally followed by the answer) or as `input` plus an
optional `context` (any JSON). A gold answer (`tool_calls` in OpenAI's shape, `gold` in
supertiny's, or a final assistant message) makes a request eligible for dev and test; a
`split` field places a request by hand. Every problem stops `prepare` before it writes
anything, with one line naming the file, the line and what is wrong (docs/data-contracts.md).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from supertiny.errors import SupertinyError
from supertiny.jsonl import iter_jsonl
from supertiny.tool_format import Answer
from supertiny.tool_schemas import call_problem, schemas_by_name, tools_problem

SPLITS = ("train", "dev", "test")
REQUEST_KEYS = ("id", "messages", "input", "context", "tools", "tool_calls", "gold", "split", "category", "meta", "parallel_tool_calls")
CONTEXT_ROLES = ("system", "developer")


def read_tools(path: str | Path) -> list[dict]:
    """The function tools in `path`, checked: valid JSON, each entry a function whose
    parameters are a valid JSON schema, no name twice."""
    path = Path(path)
    if not path.is_file():
        raise SupertinyError(f"{path}: file not found (custom.tools in params.yaml)")
    text = path.read_text(encoding="utf-8")
    try:
        tools = json.loads(text)
    except json.JSONDecodeError as error:
        raise SupertinyError(f"{path}:{error.lineno}: invalid JSON ({error.msg} at column {error.colno})") from None
    if problem := tools_problem(tools):
        index, why = problem
        line = item_lines(text)[index] if index is not None else 1
        raise SupertinyError(f"{path}:{line}: {'' if index is None else f'tool {index + 1}: '}{why}")
    return tools


def item_lines(text: str) -> list[int]:
    """The line each item of the top-level JSON array in `text` starts on."""
    decoder, lines = json.JSONDecoder(), []
    position = text.index("[") + 1
    while True:
        position = _skip(text, position)
        if text[position] == "]":
            return lines
        lines.append(text.count("\n", 0, position) + 1)
        _, position = decoder.raw_decode(text, position)
        position = _skip(text, position)
        position += text[position] == ","


def _skip(text: str, position: int) -> int:
    while text[position] in " \t\r\n":
        position += 1
    return position


def read_requests(path: str | Path, tools: list[dict]) -> list[tuple[int, dict]]:
    """(line number, request as a task example plus its `split`, or None) for every request, checked."""
    path = Path(path)
    if not path.is_file():
        raise SupertinyError(f"{path}: file not found (custom.requests in params.yaml)")
    requests, ids, numbers = [], set(), _line_numbers(path)
    for number, row in zip(numbers, iter_jsonl(path)):
        try:
            example = request_example(row, tools, number)
        except ValueError as error:
            raise SupertinyError(f"{path}:{number}: {error}") from None
        if example["id"] in ids:
            raise SupertinyError(f"{path}:{number}: id {example['id']!r} is used twice")
        ids.add(example["id"])
        requests.append((number, example))
    if not requests:
        raise SupertinyError(f"{path}: no requests")
    return requests


def _line_numbers(path: Path) -> list[int]:
    """The numbers of the non-empty lines, as `iter_jsonl` yields them."""
    with path.open(encoding="utf-8") as handle:
        return [number for number, line in enumerate(handle, start=1) if line.strip()]


def request_example(row: dict, default_tools: list[dict], number: int) -> dict:
    """One request line as a task example (`id`, `input`, `context`, `category`, optional
    `tools`, `gold` and `split`); a ValueError says what is wrong with it."""
    unknown = [key for key in row if key not in REQUEST_KEYS]
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (known: {', '.join(REQUEST_KEYS)})")
    if ("messages" in row) == ("input" in row):
        raise ValueError("give either `messages` (the chat the feature sends) or `input` (the user's message, with an optional `context`)")
    if "messages" in row:
        if "context" in row:
            raise ValueError("`context` goes with `input`; with `messages` the system messages are the context")
        utterance, context, answer = split_messages(row["messages"])
    else:
        utterance, context, answer = row["input"], row.get("context"), None
        if not isinstance(utterance, str) or not utterance.strip():
            raise ValueError("input must be the user's message, a non-empty string")
    tools = default_tools
    if "tools" in row:
        if problem := tools_problem(row["tools"]):
            index, why = problem
            raise ValueError(f"tools{'' if index is None else f'[{index}]'}: {why}")
        tools = row["tools"]
    gold = gold_answer(row, answer, tools)
    split = row.get("split")
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    if split in ("dev", "test") and gold is None:
        raise ValueError(f"split {split} needs a gold answer (`tool_calls`, `gold`, or a final assistant message)")
    category = row.get("category", default_category(gold))
    if not isinstance(category, str) or not category.isidentifier():
        raise ValueError(f"category must be a name (letters, digits, _); got {category!r}")
    example = {"id": _id(row, number), "input": utterance, "context": context, "category": category}
    if tools is not default_tools and tools != default_tools:
        example["tools"] = tools
    if gold is not None:
        example["gold"] = gold
    if "meta" in row:
        example["meta"] = row["meta"]
    return {**example, "split": split}


def _id(row: dict, number: int) -> str:
    if "id" not in row:
        return f"line-{number}"
    if not isinstance(row["id"], (str, int)) or isinstance(row["id"], bool):
        raise ValueError("id must be a string or an integer")
    return str(row["id"])


def split_messages(messages) -> tuple[str, str | None, dict | None]:
    """(the user's message, the context: the system messages' text, the final assistant
    message if any). The feature's chat is one turn: system messages, one user message, and
    optionally the answer."""
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ValueError("messages must be a list of message objects")
    roles = [m.get("role") for m in messages]
    answer = messages[-1] if roles and roles[-1] == "assistant" else None
    turns = roles[: len(roles) - (answer is not None)]
    system = [i for i, role in enumerate(turns) if role in CONTEXT_ROLES]
    if turns.count("user") != 1 or turns[-1:] != ["user"] or len(system) != len(turns) - 1:
        raise ValueError("messages must be system messages, then one user message, then optionally the assistant's answer "
                         "(multi-turn chats are not supported)")
    utterance = message_text(messages[len(turns) - 1])
    if not utterance.strip():
        raise ValueError("the user message has no text")
    return utterance, system_text(messages), answer


def system_text(messages: list[dict]) -> str | None:
    """The context a chat carries: the text of its system (and developer) messages, or None."""
    return "\n\n".join(message_text(m) for m in messages if m.get("role") in CONTEXT_ROLES) or None


def message_text(message: dict) -> str:
    """A message's text: a string, or the text parts of a content list."""
    content = message.get("content")
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        texts = [p.get("text") for p in content if p.get("type") == "text"]
        if all(isinstance(t, str) for t in texts):
            return "".join(texts)
    raise ValueError(f"a {message.get('role')} message's content must be a string or a list of text parts")


def gold_answer(row: dict, answer: dict | None, tools: list[dict]) -> Answer | None:
    """The request's gold answer (calls checked against its tools), or None."""
    given = [key for key in ("tool_calls", "gold") if key in row] + (["a final assistant message"] if answer else [])
    if len(given) > 1:
        raise ValueError(f"give one gold answer, not {' and '.join(given)}")
    if "gold" in row:
        gold = row["gold"]
        if isinstance(gold, str):
            return _reply(gold, "gold")
        if not isinstance(gold, list) or not all(isinstance(c, dict) and set(c) == {"name", "arguments"} for c in gold):
            raise ValueError('gold must be a reply (a string) or a list of calls {"name": ..., "arguments": {...}}')
        calls = gold
    elif "tool_calls" in row or (answer and answer.get("tool_calls")):
        calls = openai_calls(row["tool_calls"] if "tool_calls" in row else answer["tool_calls"])
    elif answer:
        return _reply(message_text(answer), "the assistant's answer")
    else:
        return None
    if not calls:
        raise ValueError("the gold answer has no calls (a request needing none has a reply as its answer)")
    schemas = schemas_by_name(tools)
    for index, call in enumerate(calls, start=1):
        if problem := call_problem(call, schemas):
            raise ValueError(f"gold call {index} {problem[1]}" if problem[0] == "unknown_function" else f"gold call {index}: {problem[1]}")
    return calls


def _reply(text: str, what: str) -> str:
    if not text.strip():
        raise ValueError(f"{what} is an empty reply")
    return text


def openai_calls(tool_calls) -> list[dict]:
    """OpenAI `tool_calls` (arguments as a JSON string or object) as supertiny calls."""
    if not isinstance(tool_calls, list):
        raise ValueError("tool_calls must be a list")
    calls = []
    for index, call in enumerate(tool_calls, start=1):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise ValueError(f'tool call {index} must be {{"type": "function", "function": {{"name": ..., "arguments": ...}}}}')
        arguments = function.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError as error:
                raise ValueError(f"tool call {index} ({function['name']}): arguments are not valid JSON ({error.msg})") from None
        if not isinstance(arguments, dict):
            raise ValueError(f"tool call {index} ({function['name']}): arguments must be a JSON object")
        calls.append({"name": function["name"], "arguments": arguments})
    return calls


def default_category(gold: Answer | None) -> str:
    """Without a given category: what kind of answer the gold is (`reply`, `simple`: one call, `multiple`)."""
    if gold is None:
        return "unlabeled"
    if isinstance(gold, str):
        return "reply"
    return "simple" if len(gold) == 1 else "multiple"


def tools_vary(requests: list[tuple[int, dict]]) -> bool:
    return any("tools" in example for _, example in requests)


def assign_splits(
    path: str | Path, requests: list[tuple[int, dict]], default_tools: list[dict], seed: int, dev_fraction: float, test_fraction: float,
) -> dict[str, list[dict]]:
    """train/dev/test examples. Requests with a `split` go there; of the other gold-answered
    ones a seeded shuffle sends `test_fraction` to test and `dev_fraction` to dev; the rest,
    and every request without gold, train. Each split keeps the file's order. Where tool
    sets vary, every example carries its tools (the student's prompt shows them)."""
    free = [i for i, (_, example) in enumerate(requests) if example["split"] is None and "gold" in example]
    random.Random(seed).shuffle(free)
    test_count, dev_count = round(len(free) * test_fraction), round(len(free) * dev_fraction)
    chosen = {i: "test" for i in free[:test_count]} | {i: "dev" for i in free[test_count : test_count + dev_count]}
    vary = tools_vary(requests)
    splits: dict[str, list[dict]] = {split: [] for split in SPLITS}
    for i, (_, example) in enumerate(requests):
        split = example["split"] or chosen.get(i, "train")
        row = {key: value for key, value in example.items() if key != "split"}
        if vary and "tools" not in row:
            row = _with_tools(row, default_tools)
        splits[split].append(row)
    gold_count = sum("gold" in example for _, example in requests)
    for split in SPLITS:
        if not splits[split]:
            hint = "requests without gold answers go to train" if split == "train" else (
                f"{gold_count} requests have gold answers; give more, raise custom.{split}_fraction, or mark some `\"split\": \"{split}\"`"
            )
            raise SupertinyError(f"{path}: the {split} split is empty ({hint})")
    return splits


def _with_tools(row: dict, tools: list[dict]) -> dict:
    """`row` with `tools` after its category, where every example of a varying feature has it."""
    keys = list(row)
    at = keys.index("category") + 1
    return {**{k: row[k] for k in keys[:at]}, "tools": tools, **{k: row[k] for k in keys[at:]}}
