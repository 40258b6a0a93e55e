"""Keyed, per-account watermarks: schemes as logits processors, keys, detectors with exact p-values."""

from distillshield.watermark.detect import (
    Attribution,
    Detection,
    attribute,
    attribute_tokens,
    detect_text,
    detect_tokens,
    holm,
    load_tokenizer,
    tokenize,
)
from distillshield.watermark.keys import KeyVersion, MasterKey, account_key, key_path
from distillshield.watermark.processor import RowWatermark, WatermarkLogitsProcessor, serving_hook_factory
from distillshield.watermark.schemes import DEFAULT_SCHEME, SCHEMES, KGW, ExpMin, Scheme, TokenScore, Tournament, parse_scheme

__all__ = [
    "Attribution", "DEFAULT_SCHEME", "Detection", "ExpMin", "KGW", "KeyVersion", "MasterKey", "RowWatermark",
    "SCHEMES", "Scheme", "TokenScore", "Tournament", "WatermarkLogitsProcessor", "account_key", "attribute",
    "attribute_tokens", "detect_text", "detect_tokens", "holm", "key_path", "load_tokenizer", "parse_scheme",
    "serving_hook_factory", "tokenize",
]
