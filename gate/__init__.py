"""asr-gate: a CI gate on the Attack Success Rate of an LLM application."""

__version__ = "0.1.0"
