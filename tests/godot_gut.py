"""GUT tests of the Godot addon, run in the engine (Godot 4.6's web template, see godot_engine.py).

`demo_game(tmp)` makes the demo project the way a user does (`charvoice build`, then
`charvoice godot install game`) and returns its files for a pack. `run_gut(godot, files, ...)` adds
GUT 9.6.0 (from ../shared, skipping without it), a launcher scene and a post-run hook, runs the
whole suite in one engine start and returns a `GutRun`: per test `status` ("pass", "fail",
"pending", ...) with its failure texts, the totals, and the `EngineRun` (log, errors, seconds).

    run = run_gut(godot, demo_game(tmp_path), config={"unit_test_name": "stalls"}, audio=False)
    assert run.status("res://test/test_charvoice_runtime.gd", "test_x") == "pass", run.explain(...)
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from conftest import REPO, shared
from godot_engine import EngineRun, Godot
from godot_pck import file_data, folder_files

from charvoice.cli import cli

GUT = "godot/gut-9.6.0/addons/gut"
REPORT_MARK = "CHARVOICE-GUT-REPORT "
LAUNCHER = "res://charvoice_test/gut_main.tscn"

# Starts GUT's command-line runner, which reads res://.gutconfig.json and quits when done.
LAUNCHER_SCENE = """[gd_scene load_steps=2 format=3]

[ext_resource type="Script" path="res://charvoice_test/gut_main.gd" id="1"]

[node name="GutMain" type="Node"]
script = ExtResource("1")
"""
LAUNCHER_SCRIPT = """extends Node

func _ready() -> void:
	var cli: Node = load("res://addons/gut/cli/gut_cli.gd").new()
	get_tree().root.add_child.call_deferred(cli)
	await get_tree().process_frame
	cli.main()
"""
# Post-run hook: silences every player (quitting while one sounds loses the exit code in the web
# template), then prints GUT's own results dictionary as one line for the test to parse.
REPORT_SCRIPT = """extends GutHookScript

func run() -> void:
	_silence(gut.get_tree().root)
	var results: Dictionary = GutUtils.ResultExporter.new().get_results_dictionary(gut)
	print("MARK" + JSON.stringify(results))

func _silence(node: Node) -> void:
	if node is AudioStreamPlayer or node is AudioStreamPlayer2D or node is AudioStreamPlayer3D:
		node.stop()
	for child in node.get_children():
		_silence(child)
""".replace("MARK", REPORT_MARK)


def _fonts(gut: dict[str, Path]) -> dict[str, str]:
    """GUT's GUI scenes need its fonts, which only an editor import makes loadable: each `.ttf`
    gets the `.import` remap the editor would write, to a text FontFile carrying the font's bytes."""
    out: dict[str, str] = {}
    for path, source in gut.items():
        if path.endswith(".ttf"):
            font = f"charvoice_test/fonts/{Path(path).stem}.tres"
            data = ", ".join(map(str, source.read_bytes()))
            out[font] = f'[gd_resource type="FontFile" format=3]\n\n[resource]\ndata = PackedByteArray({data})\n'
            original = source.with_name(source.name + ".import")
            uid = re.search(r'^uid=".*"$', original.read_text(), re.M) if original.is_file() else None
            out[path + ".import"] = (
                f'[remap]\n\nimporter="font_data_dynamic"\ntype="FontFile"\n{uid.group(0) if uid else ""}\n'
                f'path="res://{font}"\n'
            )
    return out


@dataclass
class GutRun:
    engine: EngineRun
    report: dict[str, Any]  # GUT's results dictionary (result_exporter.gd)

    @property
    def totals(self) -> dict[str, Any]:
        return self.report["test_scripts"]["props"]

    def tests(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(script, test name) -> GUT's record of the test (status, failing, pending texts)."""
        return {
            (script, name): record
            for script, data in self.report["test_scripts"]["scripts"].items()
            for name, record in data["tests"].items()
        }

    def status(self, script: str, test: str) -> str:
        record = self.tests().get((script, test))
        return "not run" if record is None else record["status"]

    def explain(self, script: str, test: str) -> str:
        record = self.tests().get((script, test), {})
        texts = [*record.get("failing", []), *record.get("pending", [])]
        errors = [line for line in self.engine.errors if "ERROR" in line or "WARNING" in line]
        return "\n".join([f"{script}::{test}: {record.get('status', 'not run')}", *texts, *errors[-15:]])


def gut_tests(folder: Path) -> list[tuple[str, str]]:
    """(res:// script, test name) for every `func test_*` of the GUT scripts in `folder` (top level)."""
    found = []
    for path in sorted(folder.rglob("test_*.gd")):
        script = "res://" + path.relative_to(folder.parent).as_posix()
        found += [(script, name) for name in re.findall(r"^func (test_\w+)", path.read_text(), re.M)]
    return found


def demo_game(work: Path) -> dict[str, Path]:
    """The demo game with its voice built (offline voice) and the addon installed, as a user
    makes it: `charvoice build`, `charvoice godot install game`. Returns res:// path -> file."""
    root = work / "demo"
    if not (root / "game/voice/voice_manifest.json").is_file():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        shutil.copy(REPO / "charvoice.toml", root)
        for folder in ("characters", "dialogue"):
            shutil.copytree(REPO / folder, root / folder)
        shutil.copytree(REPO / "game", root / "game", ignore=shutil.ignore_patterns(".godot", "addons", "voice"))
        runner = CliRunner()
        for args in (["build", "--project", str(root)], ["godot", "install", str(root / "game")]):
            result = runner.invoke(cli, args, catch_exceptions=False)
            assert result.exit_code == 0, result.output
    return folder_files(root / "game", "")


def run_gut(
    godot: Godot,
    files: dict[str, Any],
    *,
    config: dict[str, Any] | None = None,
    audio: bool = True,
    timeout: float = 240.0,
) -> GutRun:
    """Runs the GUT suite of `files` (a project with a `.gutconfig.json`) in the engine."""
    gut = folder_files(shared(GUT), "addons/gut")
    files = {**files, **gut, **_fonts(gut)}
    gutconfig = json.loads(file_data(files[".gutconfig.json"])) if ".gutconfig.json" in files else {}
    gutconfig.update(config or {}, should_exit=True, post_run_script="res://charvoice_test/gut_report.gd")
    project = file_data(files["project.godot"]).decode()
    project = re.sub(r'^run/main_scene=".*"$', f'run/main_scene="{LAUNCHER}"', project, flags=re.M)
    files.update(
        {
            "project.godot": project,
            ".gutconfig.json": json.dumps(gutconfig),
            "charvoice_test/gut_main.tscn": LAUNCHER_SCENE,
            "charvoice_test/gut_main.gd": LAUNCHER_SCRIPT,
            "charvoice_test/gut_report.gd": REPORT_SCRIPT,
        }
    )
    engine = godot.run(files, audio=audio, timeout=timeout)
    # GUT's log colours come before the mark on the same line.
    reports = [line.split(REPORT_MARK, 1)[1] for line in engine.lines if REPORT_MARK in line]
    if not reports:
        tail = "\n".join([*engine.lines[-30:], *engine.errors[-30:]])
        raise AssertionError(f"GUT printed no report (exit {engine.exit_code}, {engine.seconds} s):\n{tail}")
    return GutRun(engine, json.loads(reports[-1]))
