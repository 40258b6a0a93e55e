"""Model files read once: a GGUF file's conversion is kept and read back with the same tokenizer and weights,
and the cache is only ever a shortcut."""

from __future__ import annotations

import os

import pytest

from distillshield import models
from distillshield.models import _cache_folder, _cache_root, _from_cache, _keep, load_causal_lm, load_tokenizer


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "distillshield"


def test_a_kept_folder_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "kept"
    _keep(target, lambda folder: (folder / "a.txt").write_text("one"))
    assert (target / "a.txt").read_text() == "one"

    def fails(error):
        def write(folder):
            (folder / "half.txt").write_text("half")
            raise error
        return write

    for error in (OSError("disk full"), RuntimeError("safetensors: No space left on device")):
        _keep(tmp_path / "other", fails(error))                              # not only OSError: no folder, no raise
        assert not (tmp_path / "other").exists()
    _keep(target, lambda folder: (folder / "a.txt").write_text("two"))      # another process got there first
    assert (target / "a.txt").read_text() == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]            # no scratch folder left behind


def test_a_scratch_folder_left_by_a_dead_process_is_removed_once_stale(tmp_path):
    stale, fresh = tmp_path / ".m-abc-1", tmp_path / ".m-abc-2"
    stale.mkdir()
    fresh.mkdir()
    os.utime(stale, (0, 0))
    _keep(tmp_path / "m-abc", lambda folder: (folder / "a").write_text("x"))
    assert not stale.exists() and fresh.exists()


def test_no_trustworthy_cache_folder_means_no_cache(tmp_path, monkeypatch, cache):
    assert _cache_root() == cache and (cache.stat().st_mode & 0o777) == 0o700
    cache.chmod(0o777)                                                       # open to other users' writes
    assert _cache_root() is None
    cache.chmod(0o700)
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))                      # a file where the folder would go
    assert _cache_root() is None and _cache_folder(blocker, "models") is None
    _keep(None, lambda folder: pytest.fail("nothing to write to"))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")                  # ignored, as the spec says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert _cache_root() == tmp_path / "home" / ".cache" / "distillshield"


def test_a_kept_conversion_that_no_longer_loads_is_removed_and_read_again(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"")                          # truncated by a crash

    def load(where):
        raise RuntimeError("header too small")

    assert _from_cache(folder, "model.safetensors", load) is None and not folder.exists()
    assert _from_cache(None, "model.safetensors", load) is None


def test_the_cache_is_keyed_by_content_not_by_name_size_or_time(tmp_path, cache):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"a" * 64)
    first = _cache_folder(model, "models")
    info = model.stat()
    model.write_bytes(b"b" * 64)                         # another file, same name, size and time
    os.utime(model, ns=(info.st_atime_ns, info.st_mtime_ns))
    models._digest.cache_clear()
    assert _cache_folder(model, "models") != first
    assert _cache_folder(model, "models").parent == cache / "models"


@pytest.mark.slow
def test_the_kept_conversion_gives_the_same_tokens_weights_and_answers(cache):
    import torch

    from distillshield.backends.builtin import packaged_model_path

    path = packaged_model_path()
    converted = load_tokenizer(path), load_causal_lm(path)
    assert (_cache_folder(path, "models") / "model.safetensors").exists()
    assert (_cache_folder(path, "tokenizers") / "tokenizer_config.json").exists()
    kept = load_tokenizer(path), load_causal_lm(path)
    messages = [{"role": "user", "content": "Name two colours."}]
    ids = [tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True) for tokenizer, _ in
           (converted, kept)]
    assert ids[0] == ids[1]
    prompt = torch.tensor([list(ids[0]["input_ids"] if hasattr(ids[0], "keys") else ids[0])])
    with torch.no_grad():
        logits = [model(prompt).logits for _, model in (converted, kept)]
    assert torch.equal(logits[0], logits[1])
    assert converted[1].generation_config.eos_token_id == kept[1].generation_config.eos_token_id
