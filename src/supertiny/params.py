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
    samples: int = 1
    cache_dir: str | None = ".supertiny-cache"
    timeout_s: float = 60.0
    max_retries: int = 6
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0

    def check(self) -> None:
        _require(self.max_turns >= 1, "teach.max_turns must be >= 1")
        _require(self.concurrency >= 1, "teach.concurrency must be >= 1")
        _require(0.0 <= self.temperature <= 2.0, "teach.temperature must be within [0, 2]")
        _require(self.backend != "openai" or bool(self.model), "teach.model must name the endpoint's model")
        _require(self.samples >= 1, "teach.samples must be >= 1")
        _require(self.timeout_s > 0, "teach.timeout_s must be > 0")
        _require(self.max_retries >= 0, "teach.max_retries must be >= 0")
        _require(0 < self.backoff_base_s <= self.backoff_max_s, "teach.backoff_base_s must be > 0 and <= teach.backoff_max_s")


@dataclass
class JudgeParams:
    require_grounded_devices: bool = True
    max_calls: int = 8
    llm_judge: bool = False
    llm_judge_model: str | None = None
    llm_judge_min_score: int = 4

    def check(self) -> None:
        _require(1 <= self.llm_judge_min_score <= 5, "judge.llm_judge_min_score must be within [1, 5]")


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


class TrainsLikeSft:
    """A section whose stage fine-tunes with the SFT trainer (rft, distill, prune's recovery)."""

    def training(self) -> SftParams:
        """The trainer settings, in the shape the SFT trainer takes."""
        return SftParams(
            max_steps=self.max_steps, batch_size=self.batch_size, learning_rate=self.learning_rate,
            warmup_ratio=self.warmup_ratio, precision=self.precision, seed=self.seed,
        )


@dataclass
class RftParams(TrainsLikeSft):
    """Rejection-sampling fine-tuning: the SFT student samples, the correct samples train it."""

    prompts: int = 256            # train prompts sampled (null-free: capped at the accepted traces)
    samples: int = 4              # k answers per prompt
    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 128
    generation_batch_size: int = 32
    max_steps: int = 30
    batch_size: int = 8
    learning_rate: float = 5.0e-5
    warmup_ratio: float = 0.05
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    seed: int = 0

    def check(self) -> None:
        _require(self.prompts >= 1 and self.samples >= 1, "rft.prompts and rft.samples must be >= 1")
        _require(0.0 < self.temperature <= 2.0, "rft.temperature must be within (0, 2]: sampling needs it above 0")
        _require(0.0 < self.top_p <= 1.0, "rft.top_p must be within (0, 1]")
        _require(self.max_steps >= 1 and self.batch_size >= 1, "rft.max_steps and rft.batch_size must be >= 1")
        _require(0 < self.learning_rate < 1, "rft.learning_rate must be within (0, 1)")


@dataclass
class DistillParams(TrainsLikeSft):
    """Constrained KD from a bigger white-box teacher sharing the student's tokenizer."""

    teacher: str | None = None    # a fine-tuned model folder or Hugging Face id; null skips the stage
    top_k: int = 100
    top_m: int = 100
    tail_weight: float = 10.0     # λ on the student's confident tokens outside the teacher's top-k
    max_steps: int = 40
    batch_size: int = 8
    learning_rate: float = 5.0e-5
    warmup_ratio: float = 0.05
    max_examples: int | None = None
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    seed: int = 0

    def check(self) -> None:
        _require(self.top_k >= 1 and self.top_m >= 1, "distill.top_k and distill.top_m must be >= 1")
        _require(self.tail_weight >= 0, "distill.tail_weight must be >= 0")
        _require(self.max_steps >= 1 and self.batch_size >= 1, "distill.max_steps and distill.batch_size must be >= 1")
        _require(0 < self.learning_rate < 1, "distill.learning_rate must be within (0, 1)")


@dataclass
class RlParams:
    """GRPO with the Sim-RL similarity as reward (trl's GRPOTrainer)."""

    prompts: int = 256            # train prompts available to RL
    steps: int = 12
    group_size: int = 4           # completions per prompt (GRPO's num_generations)
    prompts_per_step: int = 4
    beta: float = 0.0             # KL coefficient against the starting model (0: no reference model)
    learning_rate: float = 1.0e-6
    temperature: float = 1.0
    max_new_tokens: int = 128
    dynamic_filtering: bool = True  # drop groups whose rewards are all equal
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    seed: int = 0

    def check(self) -> None:
        _require(self.group_size >= 2, "rl.group_size must be >= 2: GRPO compares completions within a group")
        _require(self.steps >= 1 and self.prompts_per_step >= 1 and self.prompts >= 1, "rl.steps, rl.prompts and rl.prompts_per_step must be >= 1")
        _require(self.beta >= 0, "rl.beta must be >= 0")
        _require(0 < self.learning_rate < 1, "rl.learning_rate must be within (0, 1)")
        _require(0.0 < self.temperature <= 2.0, "rl.temperature must be within (0, 2]")


@dataclass
class PruneParams(TrainsLikeSft):
    """Structured pruning of the best stage-2 model, then CKD recovery from its unpruned self."""

    source: str = "models/sft"    # the model folder to compress
    target_ratio: float = 0.8     # parameters kept, of the source's (the MLP width is rounded down to reach it)
    heads_per_group: int | None = None  # query heads kept per KV group (null: keep every head)
    importance: Literal["taylor", "magnitude"] = "taylor"
    calibration_examples: int = 8  # train examples whose loss gradients Taylor importance reads
    round_to: int = 32            # the MLP width stays a multiple of this
    dev_examples: int = 24        # dev slice scored (teacher-forced) before and after recovery
    top_k: int = 100
    top_m: int = 100
    tail_weight: float = 10.0
    hard_label_weight: float = 1.0  # + cross-entropy on the traces' answers (0: CKD only)
    max_steps: int = 20           # recovery steps (0: no recovery)
    batch_size: int = 8
    learning_rate: float = 2.0e-4
    warmup_ratio: float = 0.05
    max_examples: int | None = None
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    seed: int = 0

    def check(self) -> None:
        _require(0 < self.target_ratio <= 1, "prune.target_ratio must be within (0, 1]")
        _require(self.heads_per_group is None or self.heads_per_group >= 1, "prune.heads_per_group must be >= 1 or null")
        _require(self.round_to >= 1 and self.calibration_examples >= 1, "prune.round_to and prune.calibration_examples must be >= 1")
        _require(self.dev_examples >= 1, "prune.dev_examples must be >= 1")
        _require(self.top_k >= 1 and self.top_m >= 1 and self.tail_weight >= 0, "prune.top_k and prune.top_m must be >= 1, prune.tail_weight >= 0")
        _require(self.hard_label_weight >= 0, "prune.hard_label_weight must be >= 0")
        _require(self.max_steps >= 0 and self.batch_size >= 1, "prune.max_steps must be >= 0 and prune.batch_size >= 1")
        _require(0 < self.learning_rate < 1, "prune.learning_rate must be within (0, 1)")


@dataclass
class QuantizeParams:
    """Export to onnxruntime-genai (ONNX with a KV cache) and weight-only quantization."""

    precision: Literal["int4", "int8", "fp32"] = "int8"
    block_size: int = 32          # weights per quantization scale
    accuracy_level: int = 4       # MatMulNBits compute: 4 = int8 activations, 1 = fp32
    threads: int = 2              # intra-op threads of the deployed session
    check_examples: int = 8       # dev examples for top-1 agreement with PyTorch

    def check(self) -> None:
        _require(self.block_size in (16, 32, 64, 128, 256), "quantize.block_size must be one of 16, 32, 64, 128, 256")
        _require(self.accuracy_level in (1, 2, 3, 4), "quantize.accuracy_level must be one of 1, 2, 3, 4")
        _require(self.threads >= 1 and self.check_examples >= 1, "quantize.threads and quantize.check_examples must be >= 1")


@dataclass
class BenchmarkParams:
    """Per-request latency of the deployed runtime against PyTorch fp32 and llama.cpp."""

    requests: int = 8             # test requests timed per runtime, batch 1
    max_new_tokens: int = 160
    threads: int = 2
    llama_cpp: bool = True        # also llama.cpp at Q8_0 and Q4_0, where llama-cpp-python is installed

    def check(self) -> None:
        _require(self.requests >= 1 and self.threads >= 1, "benchmark.requests and benchmark.threads must be >= 1")
        _require(self.max_new_tokens >= 8, "benchmark.max_new_tokens must be >= 8")


@dataclass
class EvaluateParams:
    split: Literal["dev", "test"] = "test"
    limit: int | None = None
    batch_size: int = 16
    max_new_tokens: int = 160
    latency_samples: int = 12
    threads: int | None = None
    precision: Literal["auto", "fp32", "bf16"] = "auto"  # PyTorch models; auto: bf16 where the CPU has it

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
    rft: RftParams = field(default_factory=RftParams)
    distill: DistillParams = field(default_factory=DistillParams)
    rl: RlParams = field(default_factory=RlParams)
    prune: PruneParams = field(default_factory=PruneParams)
    quantize: QuantizeParams = field(default_factory=QuantizeParams)
    benchmark: BenchmarkParams = field(default_factory=BenchmarkParams)
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
