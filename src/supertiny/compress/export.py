"""Export a student to the deployment runtime: onnxruntime-genai's model builder.

The builder writes one ONNX graph with fused q/k/v, GroupQueryAttention over a
preallocated KV cache (generation never recomputes the prompt), and weight-only
quantization (MatMulNBits, one scale per `block_size` weights; the tied embedding and LM
head share one quantized matrix). It runs in a subprocess: it is a CLI first, and its
imports and peak memory then leave with it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from supertiny.errors import SupertinyError

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json")


def export_genai(source: str | Path, output: str | Path, precision: str, block_size: int = 32, accuracy_level: int = 4, threads: int = 2) -> None:
    """Build `output` (model.onnx, its weights, genai_config.json, the source's tokenizer) from
    the transformers folder `source`."""
    source, output = Path(source), Path(output)
    shutil.rmtree(output, ignore_errors=True)
    with tempfile.TemporaryDirectory() as cache:
        command = [sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(source), "-o", str(output), "-p", precision, "-e", "cpu", "-c", cache]
        # prune_lm_head: the prefill's LM head scores the last position only, the one generation
        # reads (the vocabulary projection is a quarter of a pruned SmolLM2's prefill FLOPs)
        command += ["--extra_options", "prune_lm_head=true"]
        if precision != "fp32":
            command += [f"block_size={block_size}", f"accuracy_level={accuracy_level}"]
        # The builder stamps the graph's producer_version with `git rev-parse HEAD` run beside its
        # own package: in a venv inside this repository that is *our* commit, so the model's bytes
        # would change with every commit. No git repository there: the wheel's own commit is used.
        env = {**os.environ, "GIT_DIR": str(Path(cache) / "no-git")}
        result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
        raise SupertinyError(f"quantize: the onnxruntime-genai model builder failed on {source}: {lines[-1] if lines else result.returncode}")
    for name in TOKENIZER_FILES:  # the student's own tokenizer and template, byte for byte
        (output / name).unlink(missing_ok=True)
        if (source / name).exists():
            shutil.copy(source / name, output / name)
    if precision == "int8":
        share_int8_embeddings(output)
    set_threads(output, threads)


def share_int8_embeddings(folder: str | Path) -> None:
    """At int8 the builder keeps the tied token embedding as a float32 copy beside the int8 LM
    head (its quantized lookup is 4-bit only), the largest matrix stored twice. Point the
    lookup at the LM head's int8 blocks instead: GatherBlockQuantized reads 8 bits as well."""
    import onnx
    from onnx import helper, numpy_helper

    path = Path(folder) / "model.onnx"
    model = onnx.load(path)
    graph = model.graph
    embedding = {init.name: init for init in graph.initializer}.get("model.embed_tokens.weight")
    gather = next((n for n in graph.node if n.op_type == "Gather" and n.input[0] == "model.embed_tokens.weight"), None)
    head = next((n for n in graph.node if n.op_type == "MatMulNBits" and n.name.startswith("/lm_head/")), None)
    attributes = {a.name: helper.get_attribute_value(a) for a in head.attribute} if head is not None else {}
    if embedding is None or gather is None or attributes.get("bits") != 8 or len(head.input) != 3 or attributes["K"] % attributes["block_size"]:
        return  # nothing to share, or zero points / padded blocks this rewrite does not handle
    rows = numpy_helper.from_array(np.array([attributes["N"], attributes["K"]], dtype=np.int64), "lm_head.MatMul.weight_Q8_rows_shape")
    reshape = helper.make_node("Reshape", [head.input[1], rows.name], ["lm_head.MatMul.weight_Q8_rows"], name="/model/embed_tokens/Reshape")
    lookup = helper.make_node(
        "GatherBlockQuantized", [reshape.output[0], gather.input[1], head.input[2]], list(gather.output),
        name="/model/embed_tokens/GatherBlockQuantized", domain="com.microsoft",
        gather_axis=0, quantize_axis=1, block_size=attributes["block_size"], bits=8,
    )
    position = list(graph.node).index(gather)
    graph.node.remove(gather)
    graph.node.insert(position, lookup)
    graph.node.insert(position, reshape)
    graph.initializer.remove(embedding)
    graph.initializer.append(rows)
    (Path(folder) / "model.onnx.data").unlink()  # loaded above; onnx appends to an existing data file
    onnx.save(model, path, save_as_external_data=True, all_tensors_to_one_file=True, location="model.onnx.data")


def set_threads(folder: str | Path, threads: int) -> None:
    """Pin the session's intra-op threads (by default onnxruntime takes every core it sees)."""
    path = Path(folder) / "genai_config.json"
    config = json.loads(path.read_text())
    options = config["model"]["decoder"]["session_options"]
    options["intra_op_num_threads"] = threads
    options["inter_op_num_threads"] = 1
    path.write_text(json.dumps(config, indent=4))

