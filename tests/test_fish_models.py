"""Fish Audio models as published today: the default, name checks, cue syntax, latency, cache key.

Sources: ../shared/fish-api/ (openapi.json: the `model` header's enum and its silent fallback to
s2.1-pro; models-overview.mdx; deprecations.mdx; emotions.mdx).
"""

from __future__ import annotations

from fakes.fixtures import make_project

from charvoice.engines.fish.engine import FishEngine
from charvoice.engines.fish.settings import FISH_DEFAULT_MODEL
from charvoice.project.characters import load_characters
from charvoice.project.config import load_config
from charvoice.project.lines import Line


def set_model(project, text: str) -> None:
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text().replace('model = "s1"', text))


def test_the_default_model_is_the_recommended_one_and_really_speaks(tmp_path, fish, fish_env):
    project = make_project(
        tmp_path,
        fish,
        characters={"bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n'},
        lines=[("a.1", "Bram", "Hello.")],
    )
    set_model(project, "")  # no model named: the default
    run = project.run("build")
    assert run.exit_code == 0, run.output
    assert FISH_DEFAULT_MODEL == "s2.1-pro"
    assert [(r.headers["model"], r.model_used) for r in fish.calls("POST", "/v1/tts")] == [("s2.1-pro", "s2.1-pro")]


def test_a_typo_is_refused_with_file_line_and_a_suggestion_before_any_request(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish)
    set_model(project, 'model = "s2.1-por"')
    run = project.run("build")
    assert run.exit_code == 2
    assert "charvoice.toml:14:" in run.output and "did you mean 's2.1-pro'?" in run.output
    assert "allow_unlisted_model" in run.output and "Traceback" not in run.output
    assert fish.calls() == [] and not (project.root / "game/voice").exists()


def test_a_retired_model_is_refused_naming_the_date(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish)
    set_model(project, 'model = "speech-1.6"')
    run = project.run("build")
    assert run.exit_code == 2 and "retired on 2026-02-28" in run.output and "charvoice.toml:14:" in run.output
    assert fish.calls() == []


def test_a_newer_model_passes_when_allowed_and_uses_bracket_cues(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish)
    set_model(project, 'model = "s3-ultra"\nallow_unlisted_model = true\nlatency = "low"')
    config = load_config(project.root)
    engine = FishEngine.from_config(config, "k")
    request = engine.request(Line("l", "bram", "Hi.", "en", "x", 1), load_characters(config)["bram"], "Hi.")
    assert request.params["model"] == "s3-ultra" and request.params["latency"] == "low"


def test_cue_syntax_follows_the_model(tmp_path, fish, fish_env):
    lines = [("a.1", "Bram", "Get off my boat.")]
    project = make_project(
        tmp_path, fish, characters={"bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n'}, lines=lines
    )
    project.write("dialogue/lines.csv", 'id,character,text,direction\na.1,Bram,"Get off my boat.",angry\n')
    texts = {}
    for model in ("s1", "s2-pro", "s2.1-pro-free"):
        set_model(project, f'model = "{model}"')
        assert project.run("build").exit_code == 0
        texts[model] = fish.tts_texts()[-1]
        (project.root / "charvoice.toml").write_text(
            (project.root / "charvoice.toml").read_text().replace(f'model = "{model}"', 'model = "s1"')
        )
    assert texts == {
        "s1": "(angry) Get off my boat.",
        "s2-pro": "[angry] Get off my boat.",
        "s2.1-pro-free": "[angry] Get off my boat.",
    }


def test_the_model_is_part_of_the_cache_key(tmp_path, fish, fish_env):
    project = make_project(
        tmp_path,
        fish,
        characters={"bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n'},
        lines=[("a.1", "Bram", "Hello.")],
    )
    assert project.run("build").exit_code == 0
    set_model(project, 'model = "s2.1-pro"')
    assert project.run("build").exit_code == 0
    assert [r.model_used for r in fish.calls("POST", "/v1/tts")] == ["s1", "s2.1-pro"]
