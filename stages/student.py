"""Stage student: materialise the base student (preset, hub id or folder) as safetensors."""

from supertiny.modelcard import write_card
from supertiny.params import as_dict, load_params
from supertiny.train.student import count_parameters, load_base_student, save_model
from supertiny.stage import stage_main


@stage_main
def main() -> str:
    params = load_params().student
    model, tokenizer, source = load_base_student(params)
    save_model(model, tokenizer, "models/base")
    write_card(
        "models/base", kind="hf", stage="student", inputs={"source": source}, params=as_dict(params),
        parameters=count_parameters(model), architecture=model.config.model_type,
    )
    return f"models/base: {source} ({count_parameters(model) / 1e6:.1f}M parameters)"


if __name__ == "__main__":
    main()
