"""Every fixed string the bot says, and (with LLM backends) every prompt, in one place."""

from __future__ import annotations

# The no-answer sentinel: tests and evaluation recognise abstention by it.
NO_ANSWER = "I couldn't find that in the articles."
