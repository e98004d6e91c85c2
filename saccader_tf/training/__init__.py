"""Losses and per-stage training steps."""
