"""Stage benchmark: per-request latency of the deployed model against the same weights in
PyTorch fp32, the unpruned fp32 student, and llama.cpp at Q8_0 and Q4_0."""

import tempfile
from pathlib import Path

import torch

from supertiny.checkpoints import load_model
from supertiny.jsonl import read_jsonl, write_json
from supertiny.modelcard import read_card
from supertiny.params import load_params
from supertiny.prompting import END_OF_TURN
from supertiny.runtime import llamacpp
from supertiny.runtime.benchmark import bandwidth_floor, compare, flat_metrics, read_bandwidth_gbs
from supertiny.runtime.files import weights_bytes
from supertiny.runtime.genai import GenaiPredictor
from supertiny.runtime.hf import HFPredictor
from supertiny.runtime.token_predictor import TokenPredictor
from supertiny.tasks import get_task
from supertiny.stage import stage_main

PRUNED, DEPLOYED = "models/pruned", "models/deployed"


@stage_main
def main() -> str:
    params = load_params()
    settings = params.benchmark
    torch.set_num_threads(settings.threads)
    task = get_task(params.prepare.task)
    examples = read_jsonl(f"data/task/{params.evaluate.split}.jsonl", required=("input", "context"))[: settings.requests]
    tokens = params.generation.max_new_tokens
    predictors = {
        "deployed": lambda: GenaiPredictor(DEPLOYED, task, tokens, constrained=params.generation.constrained),
        "deployed_prefix_cache": lambda: GenaiPredictor(DEPLOYED, task, tokens, reuse_prefix=True, constrained=params.generation.constrained),  # as `supertiny serve` runs it
        "pytorch_fp32": lambda: HFPredictor(PRUNED, task, tokens),
        "student_fp32": lambda: HFPredictor(params.prune.source, task, tokens),
    }
    metrics = {"requests": len(examples), "threads": settings.threads}
    with tempfile.TemporaryDirectory() as work:
        if settings.llama_cpp and llamacpp.available():
            from supertiny.compress.gguf_export import quantize_gguf, write_gguf

            model, tokenizer = load_model(PRUNED)
            write_gguf(model, PRUNED, Path(work) / "f32.gguf")
            del model
            end_id = tokenizer.convert_tokens_to_ids(END_OF_TURN)
            for kind in ("Q8_0", "Q4_0"):
                path = Path(work) / f"{kind}.gguf"
                quantize_gguf(Path(work) / "f32.gguf", path, kind)
                metrics[f"llamacpp_{kind.lower()}_file_bytes"] = path.stat().st_size
                predictors[f"llamacpp_{kind.lower()}"] = lambda path=path: TokenPredictor(
                    llamacpp.LlamaCppModel(path, end_id, settings.threads), tokenizer, task, tokens
                )
        else:
            metrics["llamacpp_skipped"] = "disabled by benchmark.llama_cpp" if not settings.llama_cpp else "llama-cpp-python is not installed"
        results = compare(predictors, examples)
    # a hub: every request against one home, so requests share the instructions and the home
    hub = [{**example, "context": examples[0]["context"]} for example in examples]
    hub_results = compare({name: predictors[name] for name in ("deployed", "deployed_prefix_cache", "pytorch_fp32")}, hub)
    precision = read_card(DEPLOYED)["params"]["precision"]
    flat = flat_metrics(results, precision)
    flat |= {f"hub_{key}": value for key, value in flat_metrics(hub_results, precision).items()}
    flat |= bandwidth_floor(read_bandwidth_gbs(settings.bandwidth_mib, settings.threads), weights_bytes(DEPLOYED), results["deployed"].get("decode_tokens_per_s"))
    write_json("metrics/benchmark.json", {**metrics, "deployed_precision": precision, **flat})
    return (f"metrics/benchmark.json: deployed p50 {flat['deployed_latency_ms_p50']:.0f} ms, {flat.get('speedup_p50_vs_student_fp32')}x faster than the fp32 student, "
            f"decode {flat.get('decode_ms_per_token_over_floor')}x the memory-bandwidth floor")


if __name__ == "__main__":
    main()
