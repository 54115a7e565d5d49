"""params.yaml: one typed section per stage, validated in full before any stage works.

params.yaml is the only place a param's value lives: the types here declare which keys
exist and which values are valid, never a default. A key missing from the file is an
error like an unknown one, so the code cannot silently fill in a value the file does not
show (and DVC, which tracks params.yaml, cannot miss a change).

Every stage calls `load_params()` first, so a typo anywhere in params.yaml (an unknown or
missing key, a wrong type, a value out of range) stops the pipeline at its first stage with
a one-line error naming the key, before anything is computed or overwritten.

The fine-tuning stages share one settings type, `TrainingParams` (as trl's configs share
a base); a stage's section derives from it and declares only what it adds.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml

from supertiny.errors import SupertinyError

PARAMS_FILE = "params.yaml"
Precision = Literal["auto", "fp32", "bf16"]


class _Invalid(SupertinyError):
    """A check failed: `key` (relative to its section) and what is wrong with it; loading
    the file adds the file and the section to the message."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key} {problem}")
        self.key, self.problem = key, problem


def _require(condition: bool, key: str, problem: str) -> None:
    if not condition:
        raise _Invalid(key, problem)


def _check_learning_rate(value: float) -> None:
    _require(0 < value < 1, "learning_rate", "must be within (0, 1)")


@dataclass
class PrepareParams:
    task: str
    seed: int
    train_size: int         # unlabeled inputs the teacher answers
    dev_size: int
    test_size: int
    typo_rate: float
    train_requests_per_home: int  # smart_home: train requests asked in turn of each drawn home and state (sft.turns_per_sequence packs them)
    train_opposite_power_share: float  # smart_home: of train's two-device power requests, the share switching one on and one off
    handoffs: str           # a hand-off log of `serve --fallback`, or a folder of them: their requests join train

    def check(self) -> None:
        _require(self.task in TASKS, "task", f"must be one of {', '.join(TASKS)}; got {self.task!r}")
        _require(bool(self.handoffs.strip()), "handoffs", "must name a file or folder (examples/handoffs: none)")
        for key in ("train_size", "dev_size", "test_size"):
            _require(getattr(self, key) >= 1, key, "must be >= 1")
        _require(0.0 <= self.typo_rate <= 0.5, "typo_rate", "must be within [0, 0.5]")
        _require(self.train_requests_per_home >= 1, "train_requests_per_home", "must be >= 1")
        _require(0.0 <= self.train_opposite_power_share <= 1.0, "train_opposite_power_share", "must be within [0, 1]")


TASKS = ("smart_home", "custom", "bfcl")


@dataclass
class CustomParams:
    """`prepare.task: custom`: the user's own feature, given by its files (README, Distil your own feature)."""

    tools: str              # JSON file: the OpenAI function schemas the feature sends as `tools=`
    requests: str           # JSONL file: one request a line (chat `messages`, or `input` + `context`)
    helpers: list[str]      # `module:function` lookups the teacher may call first (empty: none)
    teacher_prompt: str | None  # system instructions put before each request's context for the teacher
    dev_fraction: float     # of the gold-answered requests without a `split`, to dev
    test_fraction: float    # ... and to test (the rest train)

    def check(self) -> None:
        for key in ("tools", "requests"):
            _require(bool(getattr(self, key).strip()), key, "must name a file")
        for spec in self.helpers:
            _require(bool(re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", spec)), "helpers", f"entry {spec!r} must be module:function")
        for key in ("dev_fraction", "test_fraction"):
            _require(0 < getattr(self, key) < 1, key, "must be within (0, 1)")
        _require(self.dev_fraction + self.test_fraction < 1, "test_fraction", "plus dev_fraction must be below 1 (train needs requests)")


@dataclass
class BfclParams:
    """`prepare.task: bfcl`: BFCL's live categories train, its non-live AST categories test (README, BFCL)."""

    train_per_category: int | None  # live requests trained on per category, a seeded sample (null: all)
    dev_fraction: float     # of each live category, to dev
    test_per_category: int | None  # non-live requests tested per category, a seeded sample (null: all)
    train_irrelevance: int | None  # live_irrelevance requests trained on (null: as train_per_category)
    train_composed: int     # train requests composed of 2-3 one-call train requests (tasks/bfcl/compose.py)

    def check(self) -> None:
        for key in ("train_per_category", "test_per_category"):
            _require(getattr(self, key) is None or getattr(self, key) >= 1, key, "must be >= 1 or null")
        _require(self.train_irrelevance is None or self.train_irrelevance >= 0, "train_irrelevance", "must be >= 0 or null")
        _require(self.train_composed >= 0, "train_composed", "must be >= 0")
        _require(0 < self.dev_fraction < 1, "dev_fraction", "must be within (0, 1)")


@dataclass
class TeachParams:
    backend: Literal["reference", "openai", "replay"]
    model: str
    base_url: str | None
    api_key_env: str        # the name of the environment variable holding the key, never the key
    temperature: float
    max_tokens: int
    max_turns: int
    concurrency: int
    seed: int
    price_input_per_mtok: float
    price_output_per_mtok: float
    samples: int
    cache_dir: str | None
    timeout_s: float
    max_retries: int
    backoff_base_s: float
    backoff_max_s: float
    requests_per_minute: float | None  # the endpoint's caps, kept client-side by all tool loops together (null: none)
    tokens_per_minute: float | None
    batch: bool             # the Batch API: each tool-loop round of all pending examples is one batch, at half price
    batch_poll_s: float     # how often a submitted batch is polled

    def check(self) -> None:
        _require(self.max_turns >= 1, "max_turns", "must be >= 1")
        _require(self.concurrency >= 1, "concurrency", "must be >= 1")
        _require(0.0 <= self.temperature <= 2.0, "temperature", "must be within [0, 2]")
        _require(self.backend != "openai" or bool(self.model), "model", "must name the endpoint's model")
        _require(self.samples >= 1, "samples", "must be >= 1")
        _require(1 <= self.max_tokens <= 131072, "max_tokens", "must be within [1, 131072]")
        _require(0 < self.timeout_s <= 3600, "timeout_s", "must be > 0 and <= 3600 (seconds)")
        _require(self.max_retries >= 0, "max_retries", "must be >= 0")
        _require(0 < self.backoff_base_s <= self.backoff_max_s, "backoff_base_s", "must be > 0 and <= backoff_max_s")
        _require(self.backoff_max_s <= 3600, "backoff_max_s", "must be <= 3600 (seconds)")
        for key in ("price_input_per_mtok", "price_output_per_mtok"):
            _require(0 <= getattr(self, key) < math.inf, key, "must be >= 0 and finite (USD per million tokens)")
        _require(self.cache_dir is None or bool(self.cache_dir.strip()), "cache_dir", "must be a folder, or null for no cache")
        for key in ("requests_per_minute", "tokens_per_minute"):
            value = getattr(self, key)
            _require(value is None or 0 < value < math.inf, key, "must be > 0 and finite, or null for no cap")
        _require(0 < self.batch_poll_s <= 3600, "batch_poll_s", "must be > 0 and <= 3600 (seconds)")


@dataclass
class JudgeParams:
    require_grounded_devices: bool
    max_calls: int
    max_reply_chars: int
    llm_judge: bool
    llm_judge_model: str | None
    llm_judge_min_score: int

    def check(self) -> None:
        _require(self.max_calls >= 1, "max_calls", "must be >= 1")
        _require(self.max_reply_chars >= 1, "max_reply_chars", "must be >= 1")
        _require(1 <= self.llm_judge_min_score <= 5, "llm_judge_min_score", "must be within [1, 5]")


@dataclass
class TinyModelParams:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    intermediate_size: int

    def check(self) -> None:
        _require(self.num_attention_heads % self.num_key_value_heads == 0, "num_attention_heads", "must be a multiple of num_key_value_heads")
        _require(self.hidden_size % self.num_attention_heads == 0, "hidden_size", "must be a multiple of num_attention_heads")


@dataclass
class StudentParams:
    model: str
    seed: int
    trust_remote_code: bool
    tiny: TinyModelParams


@dataclass
class GenerationParams:
    """How the student generates everywhere: RFT and GRPO sampling, evaluation, the benchmark, serving."""

    max_new_tokens: int     # the longest answer the student may write
    constrained: bool       # the deployed runtime decodes under each request's answer grammar (supertiny.answer_grammar)
    confidence: Literal["lowest_token", "answer"]  # how sure an answer is, for the cascade (supertiny.runtime.prediction.answer_confidence)

    def check(self) -> None:
        _require(self.max_new_tokens >= 8, "max_new_tokens", "must be >= 8")


@dataclass
class TrainParams:
    """Where the stages that train or generate with PyTorch run, and on how many processes
    (README, Scaling up). The batch sizes of each section stay global whatever `processes`."""

    device: Literal["auto", "cpu", "cuda"]  # auto: CUDA when torch sees a GPU, else CPU
    processes: int          # > 1: the training stages re-run themselves under `accelerate launch` (supertiny.launch)
    accelerate_config: str  # the accelerate config file those processes run under (DDP; FSDP/DeepSpeed are refused, supertiny.launch)

    def check(self) -> None:
        _require(1 <= self.processes <= 1024, "processes", "must be within [1, 1024]")
        _require(bool(self.accelerate_config.strip()), "accelerate_config", "must name an accelerate config file (e.g. configs/accelerate/ddp.yaml)")


@dataclass
class TrainingParams:
    """Settings of every fine-tuning run on trl's SFT trainer (sft, rft, distill, prune's recovery)."""

    max_steps: int
    batch_size: int
    grad_accum: int
    learning_rate: float
    warmup_ratio: float     # a fraction of max_steps
    weight_decay: float
    max_length: int         # tokens per example (prompt + answer)
    precision: Precision    # auto: bf16 on a GPU that supports it or a CPU with bf16 instructions, else fp32
    seed: int

    min_steps: ClassVar[int] = 1

    def check(self) -> None:
        _require(self.max_steps >= self.min_steps, "max_steps", f"must be >= {self.min_steps}")
        _require(self.batch_size >= 1, "batch_size", "must be >= 1")
        _require(self.grad_accum >= 1, "grad_accum", "must be >= 1")
        _check_learning_rate(self.learning_rate)
        _require(0 <= self.warmup_ratio < 1, "warmup_ratio", "must be within [0, 1)")
        _require(self.weight_decay >= 0, "weight_decay", "must be >= 0")
        _require(self.max_length >= 16, "max_length", "must be >= 16")


@dataclass
class SftParams(TrainingParams):
    """Fine-tuning on the accepted traces' answers."""

    max_examples: int | None  # accepted traces used (null: all)

    def check(self) -> None:
        super().check()
        _require(self.max_examples is None or self.max_examples >= 1, "max_examples", "must be >= 1 or null")


@dataclass
class SftStageParams(SftParams):
    """The sft stage's settings: those it shares with distill and prune's recovery, and its dev curve."""

    dev_curve_every: int     # steps between teacher-forced dev scorings (train/dev_curve.py); 0: the last step only
    dev_curve_examples: int  # dev examples each scoring reads
    neftune_noise_alpha: float | None  # NEFTune: uniform noise of this scale on the input embeddings while training (null: off)
    turns_per_sequence: int  # traces with the same prompt context trained as the turns of one conversation (1: one trace a sequence)

    def check(self) -> None:
        super().check()
        _require(self.turns_per_sequence >= 1, "turns_per_sequence", "must be >= 1")
        _require(self.dev_curve_every >= 0, "dev_curve_every", "must be >= 0")
        _require(self.dev_curve_examples >= 1, "dev_curve_examples", "must be >= 1")
        _require(self.neftune_noise_alpha is None or self.neftune_noise_alpha > 0, "neftune_noise_alpha", "must be > 0 or null")


@dataclass
class CkdParams:
    """Constrained knowledge distillation (see train/ckd.py)."""

    top_k: int              # the teacher's most likely tokens the KL term covers
    top_m: int              # the student's most likely tokens the tail term watches
    tail_weight: float      # λ on the student's confident tokens outside the teacher's top-k
    hard_label_weight: float  # + this x cross-entropy on the traces' answers (0: CKD only)

    def check(self) -> None:
        _require(self.top_k >= 1, "top_k", "must be >= 1")
        _require(self.top_m >= 1, "top_m", "must be >= 1")
        _require(self.tail_weight >= 0, "tail_weight", "must be >= 0")
        _require(self.hard_label_weight >= 0, "hard_label_weight", "must be >= 0")


@dataclass
class RftParams(TrainingParams):
    """Rejection-sampling fine-tuning: the SFT student samples, the correct samples train it."""

    prompts: int            # train prompts sampled (capped at the accepted traces)
    samples: int            # answers per prompt
    temperature: float
    top_p: float
    generation_batch_size: int

    min_steps: ClassVar[int] = 0  # 0: the stage is off, the SFT model passes through

    def check(self) -> None:
        super().check()
        _require(self.prompts >= 1, "prompts", "must be >= 1")
        _require(self.samples >= 1, "samples", "must be >= 1")
        _require(0.0 < self.temperature <= 2.0, "temperature", "must be within (0, 2]: sampling needs it above 0")
        _require(0.0 < self.top_p <= 1.0, "top_p", "must be within (0, 1]")
        _require(self.generation_batch_size >= 1, "generation_batch_size", "must be >= 1")


@dataclass
class DistillParams(SftParams, CkdParams):
    """Constrained KD from a bigger white-box teacher sharing the student's tokenizer."""

    teacher: str | None     # a fine-tuned model folder or Hugging Face id; null skips the stage

    def check(self) -> None:
        SftParams.check(self)
        CkdParams.check(self)


@dataclass
class RlParams:
    """GRPO with the Sim-RL similarity as reward (trl's GRPOTrainer)."""

    prompts: int            # train prompts available to RL
    steps: int              # 0: the stage is off, its source passes through
    group_size: int         # completions per prompt (GRPO's num_generations)
    prompts_per_step: int
    beta: float             # KL coefficient against the starting model (0: no reference model)
    learning_rate: float
    temperature: float
    dynamic_filtering: bool  # drop groups whose rewards are all equal
    precision: Precision
    seed: int

    def check(self) -> None:
        _require(self.group_size >= 2, "group_size", "must be >= 2: GRPO compares completions within a group")
        _require(self.steps >= 0, "steps", "must be >= 0 (0: the stage is off)")
        for key in ("prompts", "prompts_per_step"):
            _require(getattr(self, key) >= 1, key, "must be >= 1")
        _require(self.beta >= 0, "beta", "must be >= 0")
        _check_learning_rate(self.learning_rate)
        _require(0.0 < self.temperature <= 2.0, "temperature", "must be within (0, 2]")


@dataclass
class PruneParams(SftParams, CkdParams):
    """Structured pruning of the best stage-2 model, then CKD recovery from its unpruned self."""

    source: str             # the model folder to compress
    target_ratio: float     # parameters kept, of the source's
    heads_per_group: int | None  # query heads kept per KV group (null: keep every head)
    importance: Literal["taylor", "fisher", "magnitude"]
    calibration_examples: int  # train examples whose loss gradients Taylor and Fisher importance read
    round_to: int           # the MLP width stays a multiple of this
    dev_examples: int       # dev slice scored (teacher-forced) before and after recovery

    min_steps: ClassVar[int] = 0  # 0 recovery steps: prune only

    def check(self) -> None:
        SftParams.check(self)
        CkdParams.check(self)
        _require(0 < self.target_ratio <= 1, "target_ratio", "must be within (0, 1]")
        _require(self.heads_per_group is None or self.heads_per_group >= 1, "heads_per_group", "must be >= 1 or null")
        _require(self.round_to >= 1, "round_to", "must be >= 1")
        _require(self.calibration_examples >= 1, "calibration_examples", "must be >= 1")
        _require(self.dev_examples >= 1, "dev_examples", "must be >= 1")


@dataclass
class QuantizeParams:
    """Export to onnxruntime-genai (ONNX with a KV cache) and weight-only quantization."""

    precision: Literal["int4", "int8", "fp32"]
    block_size: int         # weights per quantization scale
    accuracy_level: int     # MatMulNBits compute: 4 = int8 activations, 1 = fp32
    threads: int            # intra-op threads of the deployed session
    check_examples: int     # dev examples for top-1 agreement with PyTorch

    def check(self) -> None:
        _require(self.block_size in (16, 32, 64, 128, 256), "block_size", "must be one of 16, 32, 64, 128, 256")
        _require(self.accuracy_level in (1, 2, 3, 4), "accuracy_level", "must be one of 1, 2, 3, 4")
        _require(self.threads >= 1, "threads", "must be >= 1")
        _require(self.check_examples >= 1, "check_examples", "must be >= 1")


@dataclass
class BenchmarkParams:
    """Per-request latency of the deployed runtime against PyTorch fp32 and llama.cpp."""

    requests: int           # test requests timed per runtime, batch 1
    threads: int
    llama_cpp: bool         # also llama.cpp at Q8_0 and Q4_0, where llama-cpp-python is installed
    bandwidth_mib: int      # buffer read to measure memory bandwidth (the decode floor); far larger than the caches

    def check(self) -> None:
        _require(self.requests >= 1, "requests", "must be >= 1")
        _require(self.bandwidth_mib >= 1, "bandwidth_mib", "must be >= 1")
        _require(self.threads >= 1, "threads", "must be >= 1")


EVALUATED_MODELS = ("teacher", "base", "sft", "rft", "distill", "rl", "pruned", "deployed")  # dvc.yaml's evaluate@<name>


@dataclass
class EvaluateParams:
    split: Literal["dev", "test"]
    limit: int | None
    held_out_limit: int | None  # examples scored of each hand-written held-out set (null: all)
    held_out_skip: list[str]    # models scored on the `split` only, not on the hand-written sets
    batch_size: int
    latency_samples: int
    threads: int | None
    precision: Precision    # PyTorch models

    def check(self) -> None:
        _require(self.limit is None or self.limit >= 1, "limit", "must be >= 1 or null")
        _require(self.held_out_limit is None or self.held_out_limit >= 1, "held_out_limit", "must be >= 1 or null")
        unknown = sorted(set(self.held_out_skip) - set(EVALUATED_MODELS))
        _require(not unknown, "held_out_skip", f"unknown model(s) {', '.join(unknown)}: choose from {', '.join(EVALUATED_MODELS)}")
        _require(self.batch_size >= 1, "batch_size", "must be >= 1")
        _require(self.latency_samples >= 1, "latency_samples", "must be >= 1")
        _require(self.threads is None or self.threads >= 1, "threads", "must be >= 1 or null")


@dataclass
class CascadeParams:
    """The deployed model answers, the teacher takes what it is unsure of (cascade.py)."""

    target_exact_match: float   # the cascade's exact match on dev the threshold must reach

    def check(self) -> None:
        _require(0.0 < self.target_exact_match <= 1.0, "target_exact_match", "must be in (0, 1]")


@dataclass
class ReportParams:
    cpu_price_per_hour: float
    title: str


@dataclass
class Params:
    prepare: PrepareParams
    custom: CustomParams
    bfcl: BfclParams
    teach: TeachParams
    judge: JudgeParams
    student: StudentParams
    generation: GenerationParams
    train: TrainParams
    sft: SftStageParams
    rft: RftParams
    distill: DistillParams
    rl: RlParams
    prune: PruneParams
    quantize: QuantizeParams
    benchmark: BenchmarkParams
    evaluate: EvaluateParams
    cascade: CascadeParams
    report: ReportParams

    def check(self) -> None:
        """What depends on two sections: which teacher can answer which task, and batches
        that split evenly over the training processes (each takes batch / processes)."""
        processes = self.train.processes
        for name in ("sft", "rft", "distill", "prune"):
            _require(getattr(self, name).batch_size % processes == 0, f"{name}.batch_size",
                     f"must be a multiple of train.processes ({processes}): the batch is global, each process takes batch_size / processes")
        _require(self.rl.prompts_per_step * self.rl.group_size % processes == 0, "rl.prompts_per_step",
                 f"x rl.group_size must be a multiple of train.processes ({processes}): each process samples its share of a step's completions")
        if self.prepare.task in GOLD_TASKS:
            _require(self.teach.backend != "reference", "teach.backend",
                     f"reference is smart_home's rule agent; {self.prepare.task} needs openai (or replay, which answers with the gold answers)")
        else:
            _require(self.teach.backend != "replay", "teach.backend",
                     f"replay answers with the requests' gold answers, which only prepare.task {' or '.join(GOLD_TASKS)} has (not {self.prepare.task})")


GOLD_TASKS = ("custom", "bfcl")  # tasks whose train requests can carry gold answers (the replay teacher's)


def load_params(path: str | Path = PARAMS_FILE) -> Params:
    """Read and validate the whole params file; raise a one-line SupertinyError on any problem."""
    path = Path(path)
    if not path.exists():
        raise SupertinyError(f"{path}: file not found (run from the project root)")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise SupertinyError(f"{path}{where}: invalid YAML ({getattr(error, 'problem', error)})") from None
    if not isinstance(raw, dict):
        raise SupertinyError(f"{path}: expected a mapping of sections at the top level")
    return _build(Params, raw, prefix="", source=str(path))


class _StrictLoader(yaml.SafeLoader):
    """safe_load that refuses what a params file never needs and could hide a mistake: a key
    set twice (YAML keeps the last silently) and aliases (a few lines can expand to gigabytes)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise _YAMLProblem()._set("aliases (*name) are not allowed in a params file", self.peek_event().start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise _YAMLProblem()._set(f"key {str(key)[:60]!r} is set twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _YAMLProblem(yaml.YAMLError):
    def _set(self, problem: str, mark):
        self.problem, self.problem_mark = problem, mark
        return self


def section_from_dict(cls: type, data: Any, source: str):
    """Validate `data` as a params section of type `cls` (e.g. the teach params recorded in a
    model card), with the same one-line errors as params.yaml, naming `source`."""
    return _build(cls, data, prefix="", source=source)


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
    missing = [name for name in names if name not in raw]
    if missing:
        raise SupertinyError(f"{source}: missing key {prefix + missing[0]!r} (every param is set in params.yaml; the code has no defaults)")
    values = {name: _coerce(hints[name], raw[name], prefix + name, source) for name in names}
    instance = cls(**values)
    check = getattr(instance, "check", None)
    if check is not None:
        try:
            check()
        except _Invalid as invalid:
            raise SupertinyError(f"{source}: {prefix}{invalid.key} {invalid.problem}") from None
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
    if origin is list:
        if not isinstance(value, list):
            raise SupertinyError(f"{source}: {key} must be a list; got {value!r}")
        (item,) = typing.get_args(hint)
        return [_coerce(item, v, f"{key}[{i}]", source) for i, v in enumerate(value)]
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise SupertinyError(f"{source}: {key} must be one of {', '.join(map(str, allowed))}; got {_shown(value)}")
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
    raise SupertinyError(f"{source}: {key} must be {getattr(hint, '__name__', hint)}; got {_shown(value)}")


def _shown(value: Any) -> str:
    """A value for a one-line error: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_dict(section: Any) -> dict[str, Any]:
    """A section as plain data, e.g. to record in a model card."""
    return dataclasses.asdict(section)
