"""The OpenAI-compatible gateway: auth, limits, streaming proxy, traffic log."""

from distillshield.gateway.app import Gateway

__all__ = ["Gateway"]
