"""Model folders as the pipeline writes them, for serving in tests."""

from __future__ import annotations

from pathlib import Path

from supertiny.checkpoints import count_parameters, save_model
from supertiny.modelcard import write_card
from supertiny.params import as_dict

from presets import shipped, tiny_student_params


def tiny_model_folder(tiny_student, folder: Path) -> Path:
    """The `tiny` preset student saved like `stages/student.py` saves models/base."""
    model, tokenizer = tiny_student
    save_model(model, tokenizer, folder)
    write_card(
        folder, kind="hf", stage="student", inputs={"source": "tiny preset (random init)"},
        params=as_dict(tiny_student_params()), parameters=count_parameters(model), architecture=model.config.model_type,
    )
    return folder


def teacher_model_folder(folder: Path) -> Path:
    """The reference teacher's folder like `stages/teach.py` writes models/teacher: real tool calls, no weights."""
    write_card(folder, kind="teacher", stage="teach", inputs={}, params=as_dict(shipped().teach), backend="reference")
    return folder


# Scaled-down copies of the 0.5B-class students README "A bigger student" points at: the
# architecture (class, attention layout, biases, norms, tied embeddings, rope) as released, the
# sizes shrunk so that a test trains, prunes and exports one in seconds. Real sizes, for the reader:
#
#   Qwen2.5-0.5B(-Instruct): Qwen2ForCausalLM, hidden 896, 24 layers, 14 query : 2 KV heads
#     (groups of 7), head_dim 64, MLP 4864, q/k/v with bias, tied embeddings, vocab 151936,
#     rope_theta 1e6, rms_norm_eps 1e-6: 494M parameters (136M of them the embedding).
#   Qwen3-0.6B: Qwen3ForCausalLM, hidden 1024, 28 layers, 16 query : 8 KV heads (groups of 2),
#     explicit head_dim 128 (16 x 128 = 2048 != hidden), MLP 3072, no attention bias, RMSNorm
#     on each head's q and k (q_norm, k_norm), tied embeddings, vocab 151936, rope_theta 1e6,
#     rms_norm_eps 1e-6: 596M parameters.
#
# Scaled down: the same class, head ratio and head_dim layout, 2 layers. head_dim stays 16:
# onnxruntime's CPU GroupQueryAttention needs a multiple of 16 ("head_size shall be a multiple
# of 16"). Weights are drawn wider than the 0.02 default (logits spread ~sqrt(hidden) x range):
# a flat random model repeats one token whatever its input, which any export would match. No
# Qwen tokenizer exists offline, so the folder holds SmolLM2's (the project's own offline
# tokenizer, ChatML tokens included) and the vocabulary is its 49152 tokens.
SCALED_QWEN = {
    "qwen2.5-0.5b": dict(
        architecture="Qwen2ForCausalLM", hidden_size=224, intermediate_size=1216, num_hidden_layers=2,
        num_attention_heads=14, num_key_value_heads=2,  # head_dim 224 / 14 = 16, groups of 7 as released
        use_sliding_window=False, sliding_window=32768, max_window_layers=21,  # as released: a window that is off
        initializer_range=0.1,
    ),
    "qwen3-0.6b": dict(
        architecture="Qwen3ForCausalLM", hidden_size=64, intermediate_size=192, num_hidden_layers=2,
        num_attention_heads=16, num_key_value_heads=8, head_dim=16, attention_bias=False,  # 16 x 16 = 256 != hidden 64, as released
        initializer_range=0.2,
    ),
}


def scaled_qwen_folder(name: str, folder: Path, tokenizer, seed: int = 0) -> Path:
    """A local Hugging Face folder (safetensors, config, tokenizer) of a randomly initialised,
    scaled-down `name` from SCALED_QWEN: what `student.model` would point at.

    `tokenizer`: SmolLM2's (the `tiny_student` fixture's: loading it from the GGUF takes
    seconds), put back in the state a downloaded Qwen base model's is in: no chat template,
    `<|endoftext|>` as end and padding, so `load_base_student` has to re-template it.
    """
    import copy

    import torch
    import transformers

    shape = dict(SCALED_QWEN[name])
    model_class = getattr(transformers, shape.pop("architecture"))
    tokenizer = copy.deepcopy(tokenizer)
    tokenizer.chat_template = None
    tokenizer.eos_token = tokenizer.pad_token = "<|endoftext|>"
    end = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    config = model_class.config_class(
        vocab_size=len(tokenizer), tie_word_embeddings=True, rope_theta=1e6, rms_norm_eps=1e-6, max_position_embeddings=2048,
        bos_token_id=end, eos_token_id=end, **shape,  # as Qwen's configs: both are <|endoftext|>
    )
    torch.manual_seed(seed)
    model = model_class(config)
    with torch.no_grad():  # transformers initialises biases to zero; Qwen2.5's trained q/k/v biases are large
        for module in model.modules():
            if isinstance(module, torch.nn.Linear) and module.bias is not None:
                module.bias.normal_(0.0, 0.5)
    save_model(model, tokenizer, folder)
    return folder
