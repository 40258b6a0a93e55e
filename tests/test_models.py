"""Model files read once: a GGUF file's conversion is kept and read back with the same tokenizer and weights."""

from __future__ import annotations

import pytest

from distillshield import models
from distillshield.models import _keep, load_causal_lm, load_tokenizer


def test_a_kept_folder_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "kept"
    _keep(target, lambda folder: (folder / "a.txt").write_text("one"))
    assert (target / "a.txt").read_text() == "one"

    def fails(folder):
        (folder / "half.txt").write_text("half")
        raise OSError("disk full")

    other = tmp_path / "other"
    _keep(other, fails)
    assert not other.exists()
    _keep(target, lambda folder: (folder / "a.txt").write_text("two"))      # another process got there first
    assert (target / "a.txt").read_text() == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]            # no scratch folder left behind


def test_an_unwritable_cache_only_means_no_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))                      # a file where the cache folder would go
    written = []
    _keep(models._cache(blocker, "models"), written.append)
    assert written == []


@pytest.mark.slow
def test_the_kept_conversion_gives_the_same_tokens_weights_and_answers(tmp_path, monkeypatch):
    import torch

    from distillshield.backends.builtin import packaged_model_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = packaged_model_path()
    converted = load_tokenizer(path), load_causal_lm(path)
    assert (models._cache(path, "models") / "model.safetensors").exists()
    assert (models._cache(path, "tokenizers") / "tokenizer_config.json").exists()
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


def test_the_cache_is_keyed_by_content_not_by_name_size_or_time(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model = tmp_path / "m.gguf"
    model.write_bytes(b"a" * 64)
    first = models._cache(model, "models")
    stat = model.stat()
    model.write_bytes(b"b" * 64)                         # another file, same name, size and time
    os.utime(model, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert models._cache(model, "models") != first
    assert models._cache(model, "models").parent == tmp_path / "cache" / "distillshield" / "models"
