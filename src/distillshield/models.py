"""Model files, read once: a GGUF file's tokenizer and weights, converted by transformers and kept.

transformers reads a GGUF file by converting its vocabulary and dequantising every tensor: 5 s for SmolLM2's
tokenizer and 20 s for its weights on a small CPU, more for Gemma's vocabulary, each time a process starts. The
converted tokenizer and float32 weights are kept in the user's cache folder (``$XDG_CACHE_HOME`` or
``~/.cache``, under ``distillshield``), keyed by the file's name and SHA-256, and read back from there
afterwards. A folder transformers can load is read as it is.

The cache is only ever a shortcut: a cache folder that cannot be written (a read-only home, a full disk, no
home at all), is not the user's own or is open to other users' writes, or holds a conversion that no longer
loads, means converting again, never an error.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

_MODEL_FILE = "model.safetensors"
_TOKENIZER_FILE = "tokenizer_config.json"
_STALE_SCRATCH_SECONDS = 86400      # a scratch folder this old was left by a process that died converting


def _cache_root() -> Path | None:
    """The user's own cache folder for DistillShield, or None where there is none it can trust."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    try:
        root = (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "distillshield"
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = root.stat()
    except (OSError, RuntimeError):                 # RuntimeError: no home directory to be found
        return None
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None                                  # someone else could have put weights there
    return root


@functools.cache
def _digest(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def _cache_folder(path: Path, kind: str) -> Path | None:
    # keyed by content: an audit must read the very file whose digest its report names, even if another file
    # of the same name, size and time took its place (SHA-256 of SmolLM2's 98 MB file: about 0.1 s)
    root = _cache_root()
    if root is None:
        return None
    info = path.stat()
    return root / kind / f"{path.stem}-{_digest(str(path), info.st_size, info.st_mtime_ns)[:32]}"


def _keep(folder: Path | None, write) -> None:
    """Write into a fresh folder beside ``folder`` and move it into place, so that a reader never sees half a
    conversion; another process that got there first wins. Any failure leaves no folder behind."""
    if folder is None:
        return
    try:
        folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _remove_stale_scratch(folder.parent)
        scratch = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    except OSError:
        return
    try:
        write(scratch)
        for file in (f for f in scratch.iterdir() if f.is_file()):
            with open(file, "rb") as stream:
                os.fsync(stream.fileno())
        scratch.rename(folder)
    except Exception:       # noqa: BLE001 - a full disk raises safetensors' own error; no cache is no failure
        pass
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _remove_stale_scratch(parent: Path) -> None:
    for leftover in parent.glob(".*-*"):
        try:
            if time.time() - leftover.stat().st_mtime > _STALE_SCRATCH_SECONDS:
                shutil.rmtree(leftover, ignore_errors=True)
        except OSError:
            continue


def _from_cache(folder: Path | None, marker: str, load):
    """What ``load`` reads from a kept conversion, or None (nothing kept, or a conversion that no longer
    loads: it is removed, to be converted again)."""
    if folder is None or not (folder / marker).exists():
        return None
    try:
        return load(str(folder))
    except Exception:       # noqa: BLE001 - a truncated or foreign file: convert again rather than fail
        shutil.rmtree(folder, ignore_errors=True)
        return None


def load_tokenizer(path: str | Path):
    """The tokenizer of a model folder or a GGUF file (converted once, then read from the cache)."""
    from transformers import AutoTokenizer

    path = Path(path)
    if path.is_dir():
        return AutoTokenizer.from_pretrained(str(path))
    folder = _cache_folder(path, "tokenizers")
    tokenizer = _from_cache(folder, _TOKENIZER_FILE, AutoTokenizer.from_pretrained)
    if tokenizer is None:
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        _keep(folder, lambda scratch: tokenizer.save_pretrained(str(scratch)))
    return tokenizer


def load_causal_lm(path: str | Path):
    """A causal language model in float32 on the CPU, in eval mode, from a model folder or a GGUF file
    (dequantised once, then read from the cache as safetensors: the same weights, bit for bit)."""
    import torch
    from transformers import AutoModelForCausalLM

    def read(where: str, **extra):
        return AutoModelForCausalLM.from_pretrained(where, dtype=torch.float32, **extra).eval()

    path = Path(path)
    if path.is_dir():
        return read(str(path))
    folder = _cache_folder(path, "models")
    model = _from_cache(folder, _MODEL_FILE, read)
    if model is None:
        model = read(str(path.parent), gguf_file=path.name)
        _keep(folder, lambda scratch: _save_weights(model, scratch))
    return model


def _save_weights(model, folder: Path) -> None:
    # save_pretrained refuses a model read from GGUF; its config and tensors are all a folder needs
    from safetensors.torch import save_model

    model.config.save_pretrained(str(folder))
    model.generation_config.save_pretrained(str(folder))
    save_model(model, str(folder / _MODEL_FILE))
