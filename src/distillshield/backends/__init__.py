"""Model backends: the built-in transformers model and OpenAI-compatible upstreams."""

from distillshield.backends.base import Backend, BackendRequest, Reply, StreamReply

__all__ = ["Backend", "BackendRequest", "Reply", "StreamReply"]
