"""Model files, read once: a GGUF file's tokenizer and weights, converted by transformers and kept.

transformers reads a GGUF file by converting its vocabulary and dequantising every tensor: 5 s for SmolLM2's
tokenizer and 20 s for its weights on a small CPU, more for Gemma's vocabulary, each time a process starts. The
converted tokenizer and float32 weights are kept in the user's cache folder (``$XDG_CACHE_HOME`` or
``~/.cache``, under ``distillshield``), keyed by the file's name and SHA-256, and read back from there
afterwards. A folder transformers can load is read as it is. A cache that cannot be written (a
read-only home) only means converting again next time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

_MODEL_FILE = "model.safetensors"


def _cache(path: Path, kind: str) -> Path:
    # keyed by content: an audit must read the very file whose digest its report names, even if another file
    # of the same name, size and time took its place (SHA-256 of SmolLM2's 98 MB file: about 0.3 s)
    with open(path, "rb") as stream:
        digest = hashlib.file_digest(stream, "sha256").hexdigest()
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "distillshield" / kind / f"{path.stem}-{digest[:32]}"


def _keep(folder: Path, write) -> None:
    """Write into a fresh folder beside ``folder`` and move it into place, so that a reader never sees half a
    conversion; another process that got there first wins."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    except OSError:
        return
    try:
        write(scratch)
        scratch.rename(folder)
    except OSError:
        pass
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def load_tokenizer(path: str | Path):
    """The tokenizer of a model folder or a GGUF file (converted once, then read from the cache)."""
    from transformers import AutoTokenizer

    path = Path(path)
    if path.is_dir():
        return AutoTokenizer.from_pretrained(str(path))
    cache = _cache(path, "tokenizers")
    if (cache / "tokenizer_config.json").exists():
        return AutoTokenizer.from_pretrained(str(cache))
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    _keep(cache, lambda folder: tokenizer.save_pretrained(str(folder)))
    return tokenizer


def load_causal_lm(path: str | Path):
    """A causal language model in float32 on the CPU, in eval mode, from a model folder or a GGUF file
    (dequantised once, then read from the cache as safetensors: the same weights, bit for bit)."""
    import torch
    from transformers import AutoModelForCausalLM

    path = Path(path)
    if path.is_dir():
        return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32).eval()
    cache = _cache(path, "models")
    if (cache / _MODEL_FILE).exists():
        return AutoModelForCausalLM.from_pretrained(str(cache), dtype=torch.float32).eval()
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32).eval()
    _keep(cache, lambda folder: _save_weights(model, folder))
    return model


def _save_weights(model, folder: Path) -> None:
    # save_pretrained refuses a model read from GGUF; its config and tensors are all a folder needs
    from safetensors.torch import save_model

    model.config.save_pretrained(str(folder))
    model.generation_config.save_pretrained(str(folder))
    save_model(model, str(folder / _MODEL_FILE))
