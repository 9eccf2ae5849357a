"""voice_manifest.json: what `charvoice build` writes follows charvoice/manifest.schema.json, and
the Godot addon reads exactly what the schema promises (keys, res:// paths, locale fallback)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import addon_rules
import jsonschema
import pytest
from gdtoolkit.parser import parser
from helpers_formats import make_project
from lark import Tree

from charvoice.godot import install as godot
from charvoice.pipeline import manifest as manifest_module
from charvoice.project.lines import ID_PATTERN, LINE_ID_PATTERN

REPO = Path(__file__).resolve().parent.parent
ADDON = REPO / "plugin_godot/addons/charvoice"
MANIFEST_GD = ADDON / "runtime/charvoice_manifest.gd"
SCHEMA = json.loads((REPO / "charvoice/manifest.schema.json").read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)

EN = "title: Quay\n---\nMara: The tide is turning. #line:quay.tide\nTobin: Then we row. #line:quay.row\n-> Wait for me! #line:quay.wait\n===\n"
FR = "title: Quay\n---\nMara: La marée tourne. #line:quay.tide\n-> Attendez-moi ! #line:quay.wait\n===\n"

# Where each key the GDScript reads lives in the schema: the object schema that lists it.
KEY_HOMES = {
    "KEY_FORMAT": "#",
    "KEY_VERSION": "#",
    "KEY_REVISION": "#",
    "KEY_CHANGED": "#",
    "KEY_DEFAULT_LOCALE": "#",
    "KEY_CHARACTERS": "#",
    "KEY_LINES": "#",
    "KEY_SILENT": "#",
    "KEY_NAME": "#/$defs/character",
    "KEY_CHARACTER": "#/$defs/line",
    "KEY_AUDIO": "#/$defs/line",
    "KEY_FALLBACK": "#/$defs/line",
    "KEY_PATH": "#/$defs/audio",
    "KEY_TEXT": "#/$defs/audio",
    "KEY_DURATION": "#/$defs/audio",
    "KEY_ASSET_KEY": "#/$defs/audio",
    "KEY_TIMINGS": "#/$defs/audio",
}
# Keys the addon cannot work without: the schema must make writers provide them.
KEYS_RELIED_ON = {"KEY_FORMAT", "KEY_VERSION", "KEY_REVISION", "KEY_LINES", "KEY_AUDIO", "KEY_PATH", "KEY_ASSET_KEY"}


def _gd_constants(path: Path) -> dict[str, object]:
    """name -> value of the simple (string/int) constants of a GDScript file, read with gdtoolkit."""
    constants: dict[str, object] = {}
    for node in parser.parse(path.read_text(encoding="utf-8")).children:
        if isinstance(node, Tree) and node.data == "const_stmt":
            statement = node.children[0]
            name, value = str(statement.children[0]), statement.children[-1]
            if isinstance(value, Tree) and value.data == "expr":
                value = value.children[0]
            if isinstance(value, Tree) and value.data == "string":
                constants[name] = json.loads(str(value.children[0]))
            elif not isinstance(value, Tree) and value.type == "NUMBER":
                constants[name] = int(str(value))
    return constants


def _schema_at(pointer: str) -> dict:
    node = SCHEMA
    for part in pointer.lstrip("#").strip("/").split("/"):
        if part:
            node = node[part]
    return node


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A two-locale project (one line without French text) built once by `charvoice build`."""
    project = make_project(
        tmp_path_factory.mktemp("godot") / "p", {"quay.yarn": EN, "quay.fr.yarn": FR}, locales=("en", "fr")
    )
    result = project.run("build")
    assert result.exit_code == 0, result.output
    return project


def _load(project) -> dict:
    return json.loads(project.manifest.read_text(encoding="utf-8"))


def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_built_manifest_follows_the_schema(built):
    data = _load(built)
    errors = sorted(VALIDATOR.iter_errors(data), key=lambda error: list(error.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)
    assert data["default_locale"] in data["locales"]
    assert all(line["character"] in data["characters"] for line in data["lines"].values())
    assert data["lines"]["quay.row"]["fallback"] == {"fr": "en"}  # the case the addon must follow


def test_the_demo_fixtures_follow_the_schema():
    fixtures = [REPO / "game/test/data/fixture_manifest.json"]
    built_demo = REPO / "game/voice/voice_manifest.json"  # present once `charvoice build` ran here
    fixtures += [built_demo] if built_demo.is_file() else []
    for path in fixtures:
        errors = list(VALIDATOR.iter_errors(json.loads(path.read_text(encoding="utf-8"))))
        assert not errors, f"{path}: {[error.message for error in errors]}"


def test_schema_rejects_what_the_addon_could_not_read():
    good = {"path": "en/a/x.ogg", "text": "Hi.", "duration_s": 1.0, "key": "0" * 64}
    audio_schema = {"$ref": "#/$defs/audio", "$defs": SCHEMA["$defs"]}
    assert jsonschema.Draft202012Validator(audio_schema).is_valid(good)
    for path in (
        "/abs/x.ogg",
        "../up/x.ogg",
        "en/../../x.ogg",
        "res://voice/x.ogg",
        "en\\a\\x.ogg",
        "en/a/x.opus",
        "C:/x.ogg",
    ):
        assert not jsonschema.Draft202012Validator(audio_schema).is_valid({**good, "path": path}), path
    assert not jsonschema.Draft202012Validator(audio_schema).is_valid({k: v for k, v in good.items() if k != "key"})


def test_schema_line_ids_are_the_ids_charvoice_allows():
    assert SCHEMA["$defs"]["character_id"]["pattern"] == f"^{ID_PATTERN.pattern}$"
    line_id = re.compile(SCHEMA["$defs"]["line_id"]["pattern"])  # JSON Schema and Python share \uXXXX
    for value in ("Start_0100_Zoë", "intro/greet", "Sally:1", "a key with spaces", "x" * 512, "", "a\nb", "x" * 513):
        assert bool(line_id.fullmatch(value)) == bool(LINE_ID_PATTERN.fullmatch(value)), value


def test_every_audio_path_resolves_to_a_file_inside_the_godot_project(built):
    data = _load(built)
    godot_project = built.root / "game"  # the project.godot folder of the conventional layout
    manifest_res = godot.res_path(godot_project, built.manifest)
    assert manifest_res == godot.DEFAULT_MANIFEST_PATH, (
        "the addon's default setting fits `charvoice init` in a Godot project"
    )
    for line_id, line in data["lines"].items():
        for locale, entry in line["audio"].items():
            res = addon_rules.resolve_audio_path(manifest_res, entry["path"])
            assert res.startswith("res://voice/"), res
            assert (godot_project / res.removeprefix("res://")).is_file(), f"{line_id} [{locale}] -> {res}"


def test_every_locale_of_every_line_plays_audio(built):
    data = _load(built)
    default = data["default_locale"]
    for line_id, line in data["lines"].items():
        audio, borrowed = list(line["audio"]), line.get("fallback", {})
        for requested in [*data["locales"], "fr_CA", "de_DE", ""]:
            chosen = addon_rules.pick_line_locale(requested, audio, borrowed, default)
            assert chosen in audio, f"{line_id} for {requested!r}"
    assert addon_rules.pick_line_locale("fr_CA", ["en", "fr"], {}, default) == "fr"
    row = data["lines"]["quay.row"]
    assert addon_rules.pick_line_locale("fr_CA", list(row["audio"]), row["fallback"], default) == "en"


def test_revision_is_where_the_addon_polls_it(built):
    """read_revision() reads only the first REVISION_SCAN_LINES lines while a game runs."""
    scan_lines = _gd_constants(MANIFEST_GD)["REVISION_SCAN_LINES"]
    head = built.manifest.read_text(encoding="utf-8").splitlines()[:scan_lines]
    found = [re.search(r'"revision"\s*:\s*(\d+)', line) for line in head]
    revisions = [int(match.group(1)) for match in found if match]
    assert revisions == [_load(built)["revision"]]


def test_a_rebuild_grows_the_revision_and_changes_the_key(built):
    before = _load(built)
    script = built.root / "dialogue/quay.yarn"
    script.write_text(EN.replace("Then we row.", "Then we row, fast."), encoding="utf-8")
    result = built.run("build")
    assert result.exit_code == 0, result.output
    after = _load(built)
    assert after["revision"] > before["revision"]
    assert "quay.row" in after["changed"]
    old, new = before["lines"]["quay.row"]["audio"]["en"], after["lines"]["quay.row"]["audio"]["en"]
    assert new["key"] != old["key"], "a reader that missed the publish still sees the change by its key"
    assert after["lines"]["quay.tide"]["audio"]["en"]["key"] == before["lines"]["quay.tide"]["audio"]["en"]["key"]
    assert not list(VALIDATOR.iter_errors(after))


def test_the_gdscript_reads_only_keys_the_schema_defines():
    constants = _gd_constants(MANIFEST_GD)
    keys = {name: value for name, value in constants.items() if name.startswith("KEY_")}
    assert set(keys) == set(KEY_HOMES), "a KEY_* constant was added or removed: map it to its place in the schema here"
    for name, key in keys.items():
        home = _schema_at(KEY_HOMES[name])
        assert key in home["properties"], f"{name} = {key!r} is not a property of {KEY_HOMES[name]}"
        if name in KEYS_RELIED_ON:
            assert key in home.get("required", []), f"the addon needs {key!r}: the schema must require it"
    assert constants["FORMAT"] == SCHEMA["properties"]["format"]["const"] == manifest_module.FORMAT
    assert constants["VERSION"] == SCHEMA["properties"]["version"]["const"] == manifest_module.VERSION


def test_no_manifest_key_is_read_outside_the_constants():
    """Every key goes through a KEY_* constant (so the test above sees it), and only the manifest
    reader parses the manifest: the other scripts use its API."""
    source = MANIFEST_GD.read_text(encoding="utf-8")
    literal_keys = re.findall(r'(?:\.get\(|[\w)\]]\[)\s*"([^"]*)"', source)  # x.get("k"), x["k"]
    assert literal_keys == [], f"string-literal keys in charvoice_manifest.gd: {literal_keys}"
    for script in ADDON.rglob("*.gd"):
        if script != MANIFEST_GD:
            assert "JSON.parse_string" not in script.read_text(encoding="utf-8"), f"{script.name} parses JSON itself"
