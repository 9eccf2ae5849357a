"""Direction tags become the configured Fish model's cues; the lexicon rewrites invented names."""

from __future__ import annotations

from dataclasses import replace

import pytest
from helpers_formats import make_project

from charvoice.engines import Engines
from charvoice.engines.fish.engine import FishEngine
from charvoice.engines.offline import OfflineEngine
from charvoice.pipeline.cache import AudioCache
from charvoice.pipeline.manifest import Manifest
from charvoice.pipeline.plan import make_plan
from charvoice.project.characters import Character, Voice
from charvoice.project.loader import load_project
from charvoice.project.speech_text import (
    apply_lexicon,
    prepare,
    unknown_direction_warnings,
)

SCENE = "title: Dock\n---\nMara: Get off my boat. #line:dock.1 #angry #shout\nMara: Quietly now. #line:dock.2 #whisper #mood=sad\nMara: Fine. #line:dock.3 #grumpy\nTobin: Grumble. #line:dock.4 #grumpy #neutral\n===\n"


def _plan_texts(project_root):
    for name in ("Mara", "Tobin"):  # a real voice, so the Fish engine voices them (making requests calls nothing)
        (project_root / f"characters/{name.lower()}.toml").write_text(
            f'name = "{name}"\n[voice]\nmodel_id = "m-{name}"\n'
        )
    project = load_project(root=project_root)
    engines = Engines(FishEngine.from_config(project.config, None), OfflineEngine())
    rule = engines.direction()
    assert rule is not None  # Fish's own rule, as Workspace.open applies it
    project.voicing_warnings = rule.warnings(project.directed)
    try:
        plan = make_plan(project, engines, Manifest(project_root / "m.json"), AudioCache(project_root / "cache"))
    finally:
        engines.close()
    return project, {job.line.id: job.request.text for job in plan.todo}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            "s1",
            {
                "dock.1": "(angry)(shouting) Get off my boat.",
                "dock.2": "(whispering)(sad) Quietly now.",
                "dock.3": "Fine.",
                "dock.4": "Grumble.",
            },
        ),
        (
            "s2-pro",  # engine.fish.cues = "mapped": only what [direction] maps
            {
                "dock.1": "[angry][shouting] Get off my boat.",
                "dock.2": "[whispering][sad] Quietly now.",
                "dock.3": "Fine.",
                "dock.4": "Grumble.",
            },
        ),
    ],
)
def test_cues_in_the_models_syntax_are_part_of_the_text_sent(tmp_path, model, expected):
    cues = 'cues = "mapped"\n' if model != "s1" else ""  # S1 has a fixed tag set whatever the setting
    project_dir = make_project(
        tmp_path / "p", {"dock.yarn": SCENE}, extra=f'\n[engine.fish]\nmodel = "{model}"\n{cues}'
    )
    project, texts = _plan_texts(project_dir.root)
    assert texts == expected
    # Unknown tags are spoken by no one and reported once, however many lines use them.
    grumpy = [w for w in project.voicing_warnings if "grumpy" in w]
    assert grumpy == [
        "direction tag 'grumpy' (2 lines, first at dialogue/dock.yarn:5) has no cue and is not voiced; "
        'map it in charvoice.toml: [direction] grumpy = "angry" (or "" to silence it)'
    ]


def test_project_direction_table_adds_and_overrides(tmp_path):
    extra = '\n[engine.fish]\nmodel = "s2-pro"\n\n[direction]\ngrumpy = "grumbling, annoyed"\nangry = "furious"\nshout = ""\n'
    project_dir = make_project(tmp_path / "p", {"dock.yarn": SCENE}, extra=extra)
    project, texts = _plan_texts(project_dir.root)
    assert texts["dock.1"] == "[furious] Get off my boat."
    assert texts["dock.3"] == "[grumbling, annoyed] Fine."
    assert not [w for w in project.voicing_warnings if "direction tag" in w]


def test_the_offline_voice_gets_no_cues(tmp_path, engine_calls):
    project = make_project(tmp_path / "p", {"dock.yarn": SCENE})
    result = project.run("build")
    assert result.exit_code == 0, result.output
    assert sorted(engine_calls) == sorted(["Get off my boat.", "Quietly now.", "Fine.", "Grumble."])
    assert "direction tag" not in result.output  # on the default S2 model an unmapped tag is a free-form cue


def test_the_demo_scripts_tags_all_have_cues(demo):
    from charvoice.project.loader import load_project

    project = load_project(root=demo.root)
    assert unknown_direction_warnings(project.lines, project.config) == []


CHARACTER = Character("mara", "Mara", "characters/mara.toml", Voice(scratch=True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Welcome to Kerrowan.", "Welcome to Kerro-wan."),
        ("KERROWAN! Kerrowan's lamp.", "KERRO-WAN! Kerro-wan's lamp."),
        (
            "Kerrowanish folk, kerrowan.",
            "Kerrowanish folk, kerrowan.",
        ),  # whole words; a capitalised entry skips lower case
        ("The US ferry waits for us.", "The U.S. ferry waits for us."),  # "US" is not "us"
        ("Gorp! gorp. GORP", "Gorrp! gorrp. GORRP"),  # a lower-case entry matches any case, keeping it
        ("Xal'thar Prime and Xal'thar.", "Zal-tar Prime station and Zal-tar."),  # longest entry first
        ("我们去东京吧。", "我们去Tokyo吧。"),  # no word boundaries in Chinese
    ],
)
def test_lexicon_is_whole_word_and_case_aware(text, expected):
    lexicon = {
        "Kerrowan": "Kerro-wan",
        "US": "U.S.",
        "gorp": "gorrp",
        "Xal'thar": "Zal-tar",
        "Xal'thar Prime": "Zal-tar Prime station",
        "东京": "Tokyo",
    }
    assert apply_lexicon(text, lexicon) == expected


def test_character_lexicon_wins_over_the_projects(tmp_path):
    project_dir = make_project(
        tmp_path / "p",
        {"a.yarn": "title: A\n---\nMara: Kerrowan. #line:a\n===\n"},
        extra='\n[lexicon]\nKerrowan = "Kerro-wan"\n',
    )
    config = load_project(root=project_dir.root).config
    assert prepare("Kerrowan.", CHARACTER, config) == "Kerro-wan."
    local = replace(CHARACTER, lexicon={"Kerrowan": "Care-oh-wan"})
    assert prepare("Kerrowan.", local, config) == "Care-oh-wan."
    assert (
        prepare("Kerrowan.", local, config, direction=("sad",), style="bracket") == "[sad] Care-oh-wan."
    )  # default model: S2


def test_a_yarn_comment_that_names_a_direction_is_a_cue_and_other_comments_are_only_notes(tmp_path):
    scene = "title: Dock\n---\nMara: Uh... hello? #line:t1 // tentative\nMara: Stay. #line:t2 // whisper\nMara: Go. #line:t3 // she means it, but softly\n===\n"
    extra = '\n[engine.fish]\nmodel = "s1"\n\n[direction]\ntentative = "uncertain"\n'
    project_dir = make_project(tmp_path / "p", {"dock.yarn": scene}, extra=extra)
    project, texts = _plan_texts(project_dir.root)
    # S1 lists no "uncertain": the nearest tag it lists goes instead, with one warning.
    assert texts == {"t1": "(hesitating) Uh... hello?", "t2": "(whispering) Stay.", "t3": "Go."}
    assert [line.notes for line in project.lines] == ["tentative", "whisper", "she means it, but softly"]
    assert not [w for w in project.voicing_warnings if "direction tag" in w], (
        "a free-text comment is not an unknown tag"
    )
    [s1] = [w for w in project.voicing_warnings if "Fish S1" in w]
    assert "uncertain -> hesitating (1 line, first at dialogue/dock.yarn:3)" in s1


def test_on_s2_models_every_direction_is_a_free_form_cue_unless_told_otherwise(tmp_path):
    scene = (
        "title: Dock\n---\nTom: Uh.. hello? #line:tutorial-tom-01 // tentative\n"
        "Mara: Go. #line:t2 #grumpy #mood=very_tired // she means it, but softly\n"
        "Mara: Stay. #line:t3 #neutral #camera:close\n===\n"
    )
    for cues, expected in [
        (
            "",  # the default: free
            {
                "tutorial-tom-01": "[tentative] Uh.. hello?",
                "t2": "[grumpy][very tired][she means it, but softly] Go.",
                "t3": "Stay.",  # [direction] silences neutral; camera:close is the game's tag
            },
        ),
        ('cues = "mapped"\n', {"tutorial-tom-01": "Uh.. hello?", "t2": "Go.", "t3": "Stay."}),
        ('cues = "off"\n', {"tutorial-tom-01": "Uh.. hello?", "t2": "Go.", "t3": "Stay."}),
    ]:
        root = tmp_path / (cues.split('"')[1] if cues else "free")
        project_dir = make_project(root, {"dock.yarn": scene}, extra=f'\n[engine.fish]\nmodel = "s2.1-pro"\n{cues}')
        (project_dir.root / "characters/tom.toml").write_text('name = "Tom"\n[voice]\nmodel_id = "m-Tom"\n')
        project, texts = _plan_texts(project_dir.root)
        assert texts == expected, cues
        reported = {w.split("'")[1] for w in project.voicing_warnings if "direction tag" in w}
        if cues == 'cues = "off"\n':
            assert reported == set()
        else:  # what is not sent is reported, once
            assert reported == ({"camera:close"} if not cues else {"camera:close", "grumpy", "mood=very_tired"})


def test_s1_takes_only_its_listed_tags_with_one_warning(tmp_path):
    scene = "title: Dock\n---\nMara: Easy. #line:t1 #calm\nMara: Back then. #line:t2 #nostalgic\nMara: Fine. #line:t3 #calm #angry\n===\n"
    project_dir = make_project(tmp_path / "p", {"dock.yarn": scene}, extra='\n[engine.fish]\nmodel = "s1"\n')
    project, texts = _plan_texts(project_dir.root)
    assert texts == {"t1": "(relaxed) Easy.", "t2": "Back then.", "t3": "(relaxed)(angry) Fine."}
    [s1] = [w for w in project.voicing_warnings if "Fish S1" in w]
    assert "calm -> relaxed (2 lines, first at dialogue/dock.yarn:3)" in s1 and "nostalgic (dropped) (1 line" in s1
