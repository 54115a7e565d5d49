"""params.yaml: one typed section per stage, validated in full before any stage works.

Every stage calls `load_params()` first, so a typo anywhere in params.yaml (an unknown
key, a wrong type, a value out of range) stops the pipeline at its first stage with a
one-line error naming the key, before anything is computed or overwritten.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from supertiny.errors import SupertinyError

PARAMS_FILE = "params.yaml"


@dataclass
class PrepareParams:
    task: str = "smart_home"
    seed: int = 20261125
    train_size: int = 1500
    dev_size: int = 100
    test_size: int = 150
    typo_rate: float = 0.06

    def check(self) -> None:
        _require(self.train_size >= 1 and self.dev_size >= 1 and self.test_size >= 1, "prepare.*_size must be >= 1")
        _require(0.0 <= self.typo_rate <= 0.5, "prepare.typo_rate must be within [0, 0.5]")


@dataclass
class TeachParams:
    backend: Literal["reference", "openai"] = "reference"
    model: str = "reference-rules-v1"
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.0
    max_tokens: int = 512
    max_turns: int = 6
    concurrency: int = 4
    seed: int = 0
    price_input_per_mtok: float = 2.5
    price_output_per_mtok: float = 10.0

    def check(self) -> None:
        _require(self.max_turns >= 1, "teach.max_turns must be >= 1")
        _require(self.concurrency >= 1, "teach.concurrency must be >= 1")
        _require(0.0 <= self.temperature <= 2.0, "teach.temperature must be within [0, 2]")
        _require(self.backend != "openai" or bool(self.model), "teach.model must name the endpoint's model")


@dataclass
class JudgeParams:
    require_grounded_devices: bool = True
    max_calls: int = 8


@dataclass
class TinyModelParams:
    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    intermediate_size: int = 256

    def check(self) -> None:
        _require(
            self.num_attention_heads % self.num_key_value_heads == 0,
            "student.tiny.num_attention_heads must be a multiple of num_key_value_heads",
        )
        _require(
            self.hidden_size % self.num_attention_heads == 0,
            "student.tiny.hidden_size must be a multiple of num_attention_heads",
        )


@dataclass
class StudentParams:
    model: str = "smollm2-135m"
    seed: int = 0
    trust_remote_code: bool = False
    tiny: TinyModelParams = field(default_factory=TinyModelParams)


@dataclass
class SftParams:
    max_steps: int = 120
    batch_size: int = 8
    grad_accum: int = 1
    learning_rate: float = 1.0e-4
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    max_length: int = 512
    max_examples: int | None = None
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    seed: int = 0

    def check(self) -> None:
        _require(self.max_steps >= 1, "sft.max_steps must be >= 1")
        _require(self.batch_size >= 1 and self.grad_accum >= 1, "sft.batch_size and sft.grad_accum must be >= 1")
        _require(0 < self.learning_rate < 1, "sft.learning_rate must be within (0, 1)")
        _require(0 <= self.warmup_ratio < 1, "sft.warmup_ratio must be within [0, 1)")


@dataclass
class EvaluateParams:
    split: Literal["dev", "test"] = "test"
    limit: int | None = None
    batch_size: int = 16
    max_new_tokens: int = 160
    latency_samples: int = 12
    threads: int | None = None

    def check(self) -> None:
        _require(self.batch_size >= 1, "evaluate.batch_size must be >= 1")
        _require(self.max_new_tokens >= 8, "evaluate.max_new_tokens must be >= 8")
        _require(self.latency_samples >= 1, "evaluate.latency_samples must be >= 1")


@dataclass
class ReportParams:
    cpu_price_per_hour: float = 0.10
    title: str = "supertiny report"


@dataclass
class Params:
    prepare: PrepareParams = field(default_factory=PrepareParams)
    teach: TeachParams = field(default_factory=TeachParams)
    judge: JudgeParams = field(default_factory=JudgeParams)
    student: StudentParams = field(default_factory=StudentParams)
    sft: SftParams = field(default_factory=SftParams)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    report: ReportParams = field(default_factory=ReportParams)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise SupertinyError(f"{PARAMS_FILE}: {message}")


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    """Read and validate the whole params file; raise a one-line SupertinyError on any problem."""
    path = Path(path)
    if not path.exists():
        raise SupertinyError(f"{path}: file not found (run from the project root)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise SupertinyError(f"{path}{where}: invalid YAML ({getattr(error, 'problem', error)})") from None
    if not isinstance(raw, dict):
        raise SupertinyError(f"{path}: expected a mapping of sections at the top level")
    return _build(Params, raw, prefix="", source=str(path))


def _build(cls: type, raw: Any, prefix: str, source: str):
    if not isinstance(raw, dict):
        raise SupertinyError(f"{source}: {prefix.rstrip('.') or 'top level'} must be a mapping")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in raw:
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(names)})"
            raise SupertinyError(f"{source}: unknown key {prefix + str(key)!r}{hint}")
    values = {}
    for name in names:
        if name in raw:
            values[name] = _coerce(hints[name], raw[name], prefix + name, source)
    instance = cls(**values)
    check = getattr(instance, "check", None)
    if check is not None:
        try:
            check()
        except SupertinyError as error:
            raise SupertinyError(str(error).replace(PARAMS_FILE, source, 1)) from None
    return instance


def _coerce(hint: Any, value: Any, key: str, source: str):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, key, source)
            except SupertinyError as error:
                errors.append(error)
        raise errors[0]
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise SupertinyError(f"{source}: {key} must be one of {', '.join(map(str, allowed))}; got {value!r}")
        return value
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, prefix=key + ".", source=source)
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-4 as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif hint is str:
        if isinstance(value, str):
            return value
    else:  # pragma: no cover - a schema bug, not a user error
        raise TypeError(f"unsupported params type {hint!r} for {key}")
    raise SupertinyError(f"{source}: {key} must be {getattr(hint, '__name__', hint)}; got {value!r}")


def as_dict(section: Any) -> dict[str, Any]:
    """A section as plain data, e.g. to record in a model card."""
    return dataclasses.asdict(section)
