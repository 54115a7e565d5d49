"""Compression: structured pruning with recovery, export and quantization for CPU serving."""
