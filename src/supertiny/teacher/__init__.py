"""The prototype: a function-calling teacher pipeline that produces traces."""
