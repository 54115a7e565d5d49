"""Stage quantize: export the recovered model to onnxruntime-genai, quantized."""

import time

from supertiny.changes import with_student_golds
from supertiny.checkpoints import load_model
from supertiny.compress.export import export_genai
from supertiny.compress.fidelity import answer_sequences, greedy_match, top1_agreement, torch_logits
from supertiny.jsonl import read_jsonl, write_json
from supertiny.modelcard import read_card, write_card
from supertiny.params import as_dict, load_params
from supertiny.runtime.files import weights_bytes
from supertiny.runtime.genai import KIND, GenaiModel
from supertiny.tasks import get_task
from supertiny.stage import stage_main

SOURCE, TARGET = "models/pruned", "models/deployed"


@stage_main
def main() -> str:
    params = load_params()
    settings = params.quantize
    task = get_task(params.prepare.task)
    dev = read_jsonl("data/task/dev.jsonl", required=("id", "input", "context", "gold"))[: settings.check_examples]
    dev = with_student_golds(dev, read_jsonl("data/traces/dev.jsonl", required=("id", "final")))
    began = time.perf_counter()
    export_genai(SOURCE, TARGET, settings.precision, settings.block_size, settings.accuracy_level, settings.threads)
    export_seconds = time.perf_counter() - began
    model, tokenizer = load_model(SOURCE)
    sequences = answer_sequences(tokenizer, task, dev)
    reference, deployed = torch_logits(model, sequences), GenaiModel(TARGET)
    logits = [deployed.logits(ids, start) for ids, start in sequences]
    source = read_card(SOURCE)
    size, fp32_size, student_size = weights_bytes(TARGET), weights_bytes(SOURCE), source["source_bytes"]
    agreement = round(top1_agreement(reference, logits), 4)
    write_card(
        TARGET, kind=KIND, stage="quantize", inputs={"model": SOURCE, "student": source["inputs"]["model"]},
        params=as_dict(settings), parameters=source["parameters"], file_bytes=size,
    )
    write_json("metrics/quantize.json", {
        "precision": settings.precision,
        "file_bytes": size,
        "pruned_fp32_bytes": fp32_size,
        "student_fp32_bytes": student_size,
        "size_vs_student": round(size / student_size, 4),
        "top1_agreement_vs_pytorch": agreement,
        **{f"dev_{key}": value for key, value in greedy_match(logits, sequences).items()},
        **{f"dev_{key}_pytorch": value for key, value in greedy_match(reference, sequences).items()},
        "export_seconds": round(export_seconds, 1),
    })
    return f"{TARGET}: {settings.precision}, {size / 1e6:.0f} MB ({size / student_size:.0%} of the fp32 student), top-1 agreement {agreement:.3f}"


if __name__ == "__main__":
    main()
