"""supertiny: turn an expensive function-calling LLM feature into a super-tiny model."""

__version__ = "0.1.0"
