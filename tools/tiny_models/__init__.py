"""Pieces of tools/make_tiny_models.py: seeded tiny MoE checkpoints in Hugging Face layout
(safetensors) and GGUF, written with numpy and the standard library only.

The independent reader of these files lives in tests/reference/ and shares no code with this
package, so a mistake in a writer here shows up as a disagreement there.
"""
