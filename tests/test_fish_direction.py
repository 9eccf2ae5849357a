"""The writer's direction reaches Fish S2 models (issue 23, item 2): a Yarn trailing comment,
hashtags and the direction column become free-form `[bracket]` cues (emotions.mdx); the request
carries them, the cost preview counts their bytes, the recording script and the review page
show what was sent."""

from __future__ import annotations

import csv
import io
import json

from fakes.fixtures import make_project

TOM = {"tom": 'name = "Tom"\n[voice]\nmodel_id = "{bram_model}"\n', "bram": 'name = "Bram"\n[voice]\nscratch = true\n'}
SCENE = "title: Tutorial\n---\nTom: Uh.. hello? #line:tutorial-tom-01 // tentative\nTom: Welcome aboard. #line:tutorial-tom-02 #cheerful\n===\n"
SENT = {"tutorial-tom-01": "[tentative] Uh.. hello?", "tutorial-tom-02": "[happy] Welcome aboard."}


def s2_project(tmp_path, fish, settings: str = ""):
    project = make_project(tmp_path, fish, characters=TOM, lines=[])
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text().replace('model = "s1"', f'model = "s2.1-pro"\n{settings}'))
    project.write("dialogue/tutorial.yarn", SCENE)
    (project.root / "dialogue/lines.csv").unlink()
    return project


def test_a_yarn_comment_and_tags_are_sent_as_s2_cues_and_billed(tmp_path, fish, fish_env):
    project = s2_project(tmp_path, fish)
    dry = project.run("build", "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    cost = json.loads(dry.stdout)["cost"]
    assert cost["bytes"] == sum(len(text.encode()) for text in SENT.values())  # the cues' bytes are billed too
    run = project.run("build")
    assert run.exit_code == 0, run.output
    assert sorted(fish.tts_texts()) == sorted(SENT.values())
    assert {r.model_used for r in fish.calls("POST", "/v1/tts")} == {"s2.1-pro"}

    script = project.run("export-script")
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(script.stdout.lstrip("\ufeff")))}
    assert {line_id: row["sent"] for line_id, row in rows.items()} == SENT
    assert rows["tutorial-tom-01"]["text"] == "Uh.. hello?" and rows["tutorial-tom-01"]["notes"] == "tentative"
    page = project.root / "review.html"
    assert project.run("review", "--output", str(page)).exit_code == 0
    assert "sent: [tentative] Uh.. hello?" in page.read_text()


def test_cues_off_sends_the_words_alone(tmp_path, fish, fish_env):
    project = s2_project(tmp_path, fish, 'cues = "off"')
    assert project.run("build").exit_code == 0
    assert sorted(fish.tts_texts()) == ["Uh.. hello?", "Welcome aboard."]


def test_an_unknown_cues_setting_is_refused_naming_the_file(tmp_path, fish, fish_env):
    project = s2_project(tmp_path, fish, 'cues = "loud"')
    run = project.run("build")
    assert run.exit_code == 2 and "charvoice.toml" in run.output and "cues" in run.output, run.output
    assert fish.calls() == []
