"""The documentation site: it builds with `mkdocs build --strict`, its configuration reference
covers every key of the schema charvoice validates with, and its troubleshooting page quotes
messages charvoice really prints."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO

from charvoice.project.schema import Field, Table

DOCS = REPO / "docs"


def reference_module():
    spec = importlib.util.spec_from_file_location("config_reference", DOCS / "hooks" / "config_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_key_of_the_schema_is_described():
    assert reference_module().problems() == []


def test_a_key_added_to_the_schema_without_a_description_is_named(monkeypatch):
    reference = reference_module()
    file, schema, heading = reference.FILES["charvoice"]
    audio = schema.fields["audio"]
    grown = Table({**schema.fields, "audio": Table({**audio.fields, "dither": Field(bool, False)})})
    monkeypatch.setitem(reference.FILES, "charvoice", (file, grown, heading))

    assert reference.problems() == [
        "charvoice.toml: audio.dither has no description in docs/reference/keys.toml [charvoice]"
    ]


def test_a_description_of_a_key_the_schema_lacks_is_named(monkeypatch):
    reference = reference_module()
    described = reference.descriptions()
    described["character"]["speech.pitch_shift"] = "a key nobody validates"
    monkeypatch.setattr(reference, "descriptions", lambda: described)

    assert reference.problems() == [
        "docs/reference/keys.toml [character]: speech.pitch_shift is not a key of characters/<id>.toml"
    ]


def test_the_reference_shows_each_default_and_limit_from_the_schema():
    from charvoice.project import config

    page = reference_module().render()

    audio = config.SCHEMA.fields["audio"].fields
    row = next(line for line in page.splitlines() if line.startswith("| `loudness_lufs` |"))
    assert f"`{audio['loudness_lufs'].default}`" in row and "-40.0 to -5.0" in row
    row = next(line for line in page.splitlines() if line.startswith("| `output` |"))
    assert f'`"{config.SCHEMA.fields["project"].fields["output"].default}"`' in row
    assert 'name = "auto"' in page and "### `[engine.fish]`" in page and "### `[qa.chars_per_second]`" in page


def _source_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in (REPO / "charvoice").rglob("*.py"))


def test_troubleshooting_quotes_messages_charvoice_prints():
    source = _source_text()
    headings = re.findall(r"^### (``?) ?(.+?) ?\1$", (DOCS / "troubleshooting.md").read_text(encoding="utf-8"), re.M)
    assert len(headings) >= 15
    for _, message in headings:
        for fragment in (part.strip(" ()") for part in message.split("…")):
            if len(fragment) >= 6:
                assert fragment in source, f"troubleshooting.md quotes {fragment!r}, which charvoice never prints"


def test_every_input_of_the_action_is_documented():
    action = (REPO / "action.yml").read_text(encoding="utf-8")
    inputs_block = action.split("\ninputs:\n", 1)[1].split("\noutputs:\n", 1)[0]
    names = re.findall(r"^  ([\w-]+):$", inputs_block, re.M)
    page = (DOCS / "teams-and-ci.md").read_text(encoding="utf-8")
    assert len(names) >= 5
    for name in names:
        assert f"| `{name}` |" in page, f"action input {name} is not in the inputs table of teams-and-ci.md"


def test_mkdocs_builds_the_site_strictly(tmp_path):
    pytest.importorskip("mkdocs", reason="the docs extra is not installed (pip install -e '.[docs]')")
    pytest.importorskip("material", reason="the docs extra is not installed (pip install -e '.[docs]')")
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    configuration = (site / "reference" / "configuration" / "index.html").read_text(encoding="utf-8")
    assert "loudness_lufs" in configuration and "enhance_audio_quality" in configuration
    godot = (site / "godot" / "index.html").read_text(encoding="utf-8")
    assert "CharVoice" in godot  # the addon's README, included
    teams = (site / "teams-and-ci" / "index.html").read_text(encoding="utf-8")
    assert "voice-shard" in teams and "YOUR-ORG/charvoice@v1" in teams  # the example workflow, included as it is tested


def test_the_settings_classes_default_to_the_schema_defaults():
    """The typed settings keep defaults for code that builds them directly (tests, benchmarks);
    they must be the schema's, the one place the reference and the validator read them from."""
    import dataclasses

    from charvoice.engines.fish import settings as fish
    from charvoice.project import config

    pairs = [
        (config.AudioSettings, config.SCHEMA, ("audio",)),
        (config.QASettings, config.SCHEMA, ("qa",)),
        (fish.FishSettings, fish.SCHEMA, ()),  # [engine.fish]: Fish validates its own table
        (config.CacheSettings, config.SCHEMA, ("cache",)),
    ]
    for settings, schema, path in pairs:
        table = schema
        for name in path:
            table = table.fields[name]
        for item in dataclasses.fields(settings):
            spec = table.fields[item.name]
            if isinstance(spec, Field) and item.default is not dataclasses.MISSING:
                assert item.default == spec.default, (
                    f"{settings.__name__}.{item.name}: {item.default!r} != {spec.default!r}"
                )


def test_the_readme_is_a_front_page_whose_links_all_lead_somewhere():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 300
    quick_start = "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && pytest"
    assert quick_start in readme and quick_start in (REPO / ".ci" / "run").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [target for target in targets if "://" not in target]
    assert len(local) >= 15
    assert not [target for target in local if not (REPO / target).exists()]
