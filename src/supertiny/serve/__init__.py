"""`supertiny serve`: a model the pipeline built, behind an OpenAI-compatible chat endpoint.

A client that called a large LLM with tools keeps its code and changes only the base URL
and the model name: requests and answers are OpenAI chat completions with `tool_calls`.
"""
