"""Money: the account's credit beside the cost preview, and a build that would overspend it
stops before its first request (unless told to go on). Wallet endpoint: GET
/wallet/{user_id}/api-credit (../shared/fish-api/openapi.json; the official SDK asks it for
`self`); prices: pricing-and-rate-limits.mdx ($15 per million UTF-8 bytes, s2.1-pro-free $0)."""

from __future__ import annotations

import json

from fakes.fixtures import make_project

BRAM_ONLY = {"bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n'}
LONG = "A long speech about the tide, the lamp and the ferry that never comes on time. " * 12  # ~950 bytes
LINES = [(f"dock.{i}", "Bram", f"{i}. {LONG}") for i in range(4)]  # ~3.8 kB: about $0.06 at $15 per million


def test_dry_run_shows_the_credit_beside_the_cost_preview(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters=BRAM_ONLY, lines=LINES)
    run = project.run("build", "--dry-run")
    assert run.exit_code == 0, run.output
    assert "Cost preview ($15 per million UTF-8 bytes):" in run.output and "Account credit: $25.00" in run.output
    data = json.loads(project.run("build", "--dry-run", "--json").stdout)
    assert data["credit"]["usd"] == 25.0 and data["credit"]["enough"] is True
    assert [r.path for r in fish.calls()] == ["/wallet/self/api-credit"] * 2  # and nothing voiced


def test_a_build_that_would_overspend_stops_before_the_first_request(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters=BRAM_ONLY, lines=LINES)
    fish.credit = "0.01"
    preview = project.run("build", "--dry-run")
    assert "Account credit: $0.01; short by $0.05" in preview.output and "--over-credit" in preview.output
    run = project.run("build")
    assert run.exit_code == 2 and "would cost about $0.06" in run.output and "$0.01 of credit" in run.output, run.output
    assert "Traceback" not in run.output
    assert fish.calls("POST") == [] and not list((project.root / "game/voice").rglob("*.wav"))
    forced = project.run("build", "--over-credit")
    assert forced.exit_code == 0 and "going on (--over-credit)" in forced.output
    assert len(fish.calls("POST", "/v1/tts")) == 4


def test_the_free_model_is_never_held_back_by_the_credit(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters=BRAM_ONLY, lines=LINES[:3])
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text().replace('model = "s1"', 'model = "s2.1-pro-free"'))
    fish.credit = "0"
    run = project.run("build")
    assert run.exit_code == 0, run.output
    assert fish.calls("GET", "/wallet/self/api-credit") == [] and len(fish.calls("POST", "/v1/tts")) == 3


def test_watch_reads_the_credit_once_and_counts_what_it_sent_since(tmp_path, fish, fish_env):
    """`watch` keeps its engine between saves: a save does not wait for the wallet each time, and
    the balance it remembers goes down by what each save cost, so the check still holds."""
    from charvoice.watch import Watcher

    project = make_project(tmp_path, fish, characters=BRAM_ONLY, lines=LINES)
    fish.credit = "0.075"  # the four lines cost about $0.06
    watcher = Watcher(project.root, lambda event: None)
    first = watcher.rebuild(set())
    assert first.kind == "rebuild" and len(first.regenerated) == 4, first.message
    edited = [*LINES[:3], ("dock.3", "Bram", f"3, edited. {LONG}")]
    project.write_lines(edited)
    second = watcher.rebuild({project.root / "dialogue/lines.csv"})
    assert second.regenerated == ["dock.3"]
    assert len(fish.calls("GET", "/wallet/self/api-credit")) == 1  # read once, for both saves
    project.write_lines([*edited[:3], ("dock.3", "Bram", f"3, edited again. {LONG}")])
    third = watcher.rebuild({project.root / "dialogue/lines.csv"})
    assert third.kind == "error" and "would cost about $0.01" in third.message and "$0.00 of credit" in third.message
    assert len(fish.calls("POST", "/v1/tts")) == 5 and len(fish.calls("GET", "/wallet/self/api-credit")) == 1
