"""The same weights as GGUF for llama.cpp, the benchmark's anchor runtime.

llama.cpp's own converter ships only in the llama-cpp-python sdist, so the Llama tensors
and the GPT-2-style BPE vocabulary are written here with the `gguf` package, as
convert_hf_to_gguf.py writes them (q/k rows permuted to llama.cpp's rotary layout; the
tied LM head is the token embedding), then quantized by llama.cpp itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from supertiny.errors import SupertinyError

QUANT_TYPES = {"Q8_0": 7, "Q4_0": 2}  # llama_ftype values


def _permute(weights: np.ndarray, heads: int) -> np.ndarray:
    """HF's rotate-half q/k rows to llama.cpp's interleaved pairs."""
    return weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def write_gguf(model, folder: str | Path, path: str | Path) -> None:
    """Write the float32 GGUF of a Llama-architecture transformers model saved in `folder`."""
    import gguf

    config = model.config
    if config.model_type != "llama" or not config.tie_word_embeddings:
        raise SupertinyError(f"benchmark: GGUF export covers tied-embedding Llama models; got {config.model_type!r}")
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    writer = gguf.GGUFWriter(str(path), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_key_length(head_dim)
    writer.add_value_length(head_dim)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(float(config.rope_parameters["rope_theta"]))
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    vocab = gguf.BpeVocab(Path(folder))
    special = {t["id"] for t in json.loads((Path(folder) / "tokenizer.json").read_text())["added_tokens"] if t.get("special")}
    tokens = [text if isinstance(text, bytes) else text.encode() for text, _, _ in vocab.all_tokens()]
    types = [gguf.TokenType.CONTROL if i in special else kind for i, (_, _, kind) in enumerate(vocab.all_tokens())]
    padding = config.vocab_size - len(tokens)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens + [f"[PAD{i}]".encode() for i in range(padding)])
    writer.add_token_types(types + [gguf.TokenType.UNUSED] * padding)
    gguf.SpecialVocab(Path(folder), load_merges=True, n_vocab=config.vocab_size).add_to_gguf(writer, quiet=True)

    names = gguf.TensorNameMap(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            continue  # tied: llama.cpp reuses token_embd
        data = tensor.detach().float().numpy()
        if name.endswith("q_proj.weight"):
            data = _permute(data, config.num_attention_heads)
        elif name.endswith("k_proj.weight"):
            data = _permute(data, config.num_key_value_heads)
        writer.add_tensor(names.get_name(name, try_suffixes=(".weight",)), np.ascontiguousarray(data))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def quantize_gguf(source: str | Path, target: str | Path, quant_type: str) -> None:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANT_TYPES[quant_type]
    if llama_cpp.llama_model_quantize(str(source).encode(), str(target).encode(), params) != 0:
        raise SupertinyError(f"benchmark: llama.cpp could not quantize {source} to {quant_type}")
