"""Strawberry types only: scalars, object types, inputs, payloads and error types."""
