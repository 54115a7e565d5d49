"""Stage student: materialise the base student (preset, hub id or folder) as safetensors."""

from supertiny.checkpoints import count_parameters, save_model
from supertiny.modelcard import write_card
from supertiny.params import as_dict, load_params
from supertiny.train.student import load_base_student
from supertiny.stage import stage_main


@stage_main
def main() -> str:
    settings = load_params().student
    model, tokenizer, source = load_base_student(settings)
    save_model(model, tokenizer, "models/base")
    write_card(
        "models/base", kind="hf", stage="student", inputs={"source": source}, params=as_dict(settings),
        parameters=count_parameters(model), architecture=model.config.model_type,
    )
    return f"models/base: {source} ({count_parameters(model) / 1e6:.1f}M parameters)"


if __name__ == "__main__":
    main()
