"""The Python API: its public names (pinned, as httpx pins its own), reports that are exactly
what the commands print with --json, and the README's first example run as written."""

from __future__ import annotations

import json
import os
import re
import time

import pytest
from conftest import REPO, ProjectDir
from test_pipeline_fast import LINES, make

import charvoice
from charvoice import api

PUBLIC = [
    "BuildResult",
    "CharvoiceError",
    "CheckResult",
    "CleanResult",
    "FailedLine",
    "LineToBuild",
    "PlanReport",
    "VoiceProject",
    "open_project",
]


def test_the_public_names_are_pinned():
    assert charvoice.__all__ == PUBLIC
    assert api.__all__ == [name for name in PUBLIC if name != "CharvoiceError"]
    for name in PUBLIC:
        assert getattr(charvoice, name) is not None
    assert {name for name in vars(api.VoiceProject) if not name.startswith("_")} == {
        "plan", "build", "check", "clean", "watch", "close",
    }  # fmt: skip
    with pytest.raises(AttributeError):
        charvoice.Workspace  # noqa: B018 (internal: not part of the surface)


def cli_json(project: ProjectDir, *args: str) -> dict:
    result = project.run(*args, "--json")
    return json.loads(result.stdout)


@pytest.mark.fast
def test_reports_are_what_the_commands_print_with_json(tmp_path, fake_engine):
    project = make(tmp_path, lines=[*LINES, ("yes.1", "Bram", "Yes."), ("yes.2", "Bram", "Yes.")])
    with charvoice.open_project(project.root) as opened:
        plan = opened.plan()
        assert plan.to_json() == cli_json(project, "build", "--dry-run")
        assert plan.to_synthesize == 4 and len(plan.to_build) == 5 and fake_engine.calls == []

        result = opened.build()
        assert result.ok and result.built == 5 and result.synthesized == 4 and len(fake_engine.calls) == 4
        printed = cli_json(project, "build")  # now up to date: the remembered verdict answers
        assert printed["built"] == 0 and printed["total"] == result.total == 5
        again = opened.build()
        assert again.to_json() | {"seconds": 0} == printed | {"seconds": 0}

        check = opened.check()
        assert check.ok and check.to_json() == cli_json(project, "check")

        project.write("dialogue/dock.csv", "id,character,text\ndock.1,Aria,The ferry is late again.\n")
        after = opened.check()  # each call reads the project again
        assert after.ok and after.total == 1  # lines no script has any more do not fail check: clean removes them
        cleaned = opened.clean(dry_run=True)
        assert cleaned.to_json() == cli_json(project, "clean", "--dry-run")
        assert sorted(line_id for line_id, _ in cleaned.entries) == ["dock.2", "dock.3", "yes.1", "yes.2"]
        assert opened.clean().files and not opened.clean().entries
    assert cli_json(project, "check")["ok"]


@pytest.mark.fast
def test_a_failed_line_is_a_report_and_bad_input_an_exception(tmp_path, fake_engine):
    from charvoice.errors import EngineError

    def refuse(request):
        raise EngineError("no voice today")

    fake_engine.handler = refuse
    project = make(tmp_path)
    with charvoice.open_project(project.root) as opened:
        result = opened.build()
        assert not result.ok and {line.id for line in result.failed} == {"dock.1", "dock.2", "dock.3"}
        assert result.failed[0].error == "no voice today"
    project.write("charvoice.toml", "[engine]\njobs = 'many'\n")
    with pytest.raises(charvoice.CharvoiceError) as raised, charvoice.open_project(project.root) as opened:
        opened.plan()
    assert raised.value.exit_code == 2 and "engine.jobs" in raised.value.format_message()


@pytest.mark.fast
def test_watch_yields_events_and_stops_when_the_loop_ends(tmp_path, fake_engine):
    project = make(tmp_path)
    kinds = []
    with charvoice.open_project(project.root) as opened:
        for event in opened.watch(debounce=0.05):
            kinds.append(event.kind)
            if event.kind == "ready":
                assert len(event.regenerated) == 3
                time.sleep(0.1)
                project.write("dialogue/dock.csv", "id,character,text\ndock.1,Aria,A new first line.\n")
            elif event.kind == "rebuild":
                assert event.regenerated == ["dock.1"] and sorted(event.removed) == ["dock.2 [en]", "dock.3 [en]"]
                break
    assert kinds[0] == "ready" and kinds[-1] == "rebuild"
    assert fake_engine.texts()[-1] == "A new first line."


def test_the_readmes_first_python_example_runs_in_the_demo_project(demo, monkeypatch):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Python API") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    monkeypatch.chdir(demo.root)
    exec(compile(code.group(1), "README.md", "exec"), {})
    assert demo.manifest.is_file() and demo.assets()
    assert os.environ.get("FISH_API_KEY") is None  # the demo builds with the scratch voice here
