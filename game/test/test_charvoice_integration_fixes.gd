extends GutTest
## What a reading of the addon against the class reference and the integrations' sources found
## (issue 27, section 3), each shown in the engine: Yarn Spinner's calls as its runners make
## them, the export plan's locales, word_started during a preload, Dialogue Manager's typing
## label, the locale subtitles and lip-sync read, and the smaller ones.

const Runtime := preload("res://addons/charvoice/runtime/charvoice.gd")
const Manifest := preload("res://addons/charvoice/runtime/charvoice_manifest.gd")
const Plan := preload("res://addons/charvoice/editor/voice_export_plan.gd")
const DMVoice := preload("res://addons/charvoice/integrations/dialogue_manager_voice.gd")
const YarnVoice := preload("res://addons/charvoice/integrations/yarn_spinner_voice.gd")
const Subtitle := preload("res://addons/charvoice/runtime/voice_subtitle.gd")
const FIXTURE_PATH := "res://test/data/fixture_manifest.json"
const DEMO_MANIFEST := "res://voice/voice_manifest.json"
const DEMO_LINE := "lighthouse.intro"
const WORK := "user://integration_fixes_test"


## A Dialogue Manager 3 line.
class DM3Line:
	extends RefCounted
	var translation_key: String = ""
	var text: String = ""
	var concurrent_lines: Array = []


## Stands in for Dialogue Manager's DialogueLabel: only the speed the integration sets.
class FakeDialogueLabel:
	extends Node
	var seconds_per_step: float = 0.02


func _runtime(manifest_path: String) -> Runtime:
	var voice: Runtime = Runtime.new()
	voice.manifest_path = manifest_path
	voice.warn_on_missing_lines = false
	add_child_autofree(voice)
	return voice


## A two-locale manifest in user:// whose "fr" text differs, on the demo line's audio and timings.
func _two_locale_manifest() -> String:
	var demo := Manifest.new()
	if not demo.load_file(DEMO_MANIFEST) or not demo.has_line(DEMO_LINE):
		return ""
	var entry := demo.get_entry(DEMO_LINE, "en").duplicate()
	entry["path"] = demo.get_audio_path(DEMO_LINE, "en")
	entry["timings"] = demo.get_timings_path(DEMO_LINE, "en")
	var french := entry.duplicate()
	french["text"] = "Le phare, enfin."
	var data := {
		"format": "charvoice-manifest",
		"version": 1,
		"revision": 1,
		"default_locale": "en",
		"characters": {"narrator": {"name": "Narrator"}},
		"lines": {DEMO_LINE: {"character": "narrator", "audio": {"en": entry, "fr": french}}},
	}
	DirAccess.make_dir_recursive_absolute(WORK)
	var path := WORK.path_join("two_locales.json")
	var file := FileAccess.open(path, FileAccess.WRITE)
	file.store_string(JSON.stringify(data))
	file.close()
	return path


# --- Yarn Spinner for Godot --------------------------------------------------------------


func test_yarn_0_2_adapter_interrupt_line_answers_its_callback() -> void:
	var voice: YarnSpinnerVoice = YarnVoice.new()
	add_child_autofree(voice)
	var answered := [0]
	var callback := func() -> void: answered[0] += 1
	# GDScriptPresenterAdapter.InterruptLine: Call("interrupt_line", line dict, Callable).
	voice.callv(&"interrupt_line", [{"metadata": [], "text": {"text": "Hi."}}, callback])
	voice.callv(&"dismiss_line", [callback])
	assert_eq(answered[0], 2, "the runner waits for both callbacks: dialogue never hangs")
	voice.callv(&"dialogue_complete", [])
	voice.callv(&"user_requested_view_advancement", [])


func test_yarn_0_2_interrupted_line_answers_once_through_interrupt_line() -> void:
	var voice: YarnSpinnerVoice = YarnVoice.new()
	add_child_autofree(voice)
	if not CharVoice.has_line(DEMO_LINE):
		pending("the demo voice is needed (charvoice build)")
		return
	var calls := {"run": 0, "interrupt": 0}
	var line := {"text_id": "line:" + DEMO_LINE, "metadata": []}
	var on_run := func() -> void: calls["run"] += 1
	var on_interrupt := func() -> void: calls["interrupt"] += 1
	get_tree().create_timer(0.3).timeout.connect(
		voice.interrupt_line.bind(line, on_interrupt), CONNECT_DEFERRED
	)
	await voice.run_line(line, on_run)
	await wait_frames(1)  # run_line resumes inside the interrupt, before its callback is called
	assert_eq(calls, {"run": 0, "interrupt": 1}, "the runner hears of the line once")


func test_yarn_0_3_hooks_have_the_runners_names_and_stop_the_voice() -> void:
	var voice: YarnSpinnerVoice = YarnVoice.new()
	add_child_autofree(voice)
	for method in [&"on_dialogue_start_async", &"run_line_async", &"on_dialogue_complete_async"]:
		assert_true(voice.has_method(method), method)
	var player := voice.play_text_id("line:" + DEMO_LINE)
	if player == null:
		pending("the demo voice is needed (charvoice build)")
		return
	assert_true(CharVoice.is_playing(DEMO_LINE))
	voice.call(&"on_dialogue_complete_async")  # what DialogueRunner.Stop() ends in
	assert_false(CharVoice.is_playing(DEMO_LINE), "no voice plays on after the dialogue")


func test_yarn_advance_skips_a_voiced_line() -> void:
	var voice: YarnSpinnerVoice = YarnVoice.new()
	add_child_autofree(voice)
	if not CharVoice.has_line(DEMO_LINE):
		pending("the demo voice is needed (charvoice build)")
		return
	# Deferred, and a frame before the end: GUT frees the nodes as soon as the test returns,
	# which must not happen inside the timer's or the presenter's own signal.
	get_tree().create_timer(0.3).timeout.connect(voice.advance, CONNECT_DEFERRED)
	var started := Time.get_ticks_msec()
	await voice.run_line_async({"text_id": "line:" + DEMO_LINE, "metadata": []})
	assert_lt(Time.get_ticks_msec() - started, 1500, "advance() ends the presenter's line")
	assert_false(CharVoice.is_playing(DEMO_LINE))
	await wait_frames(1)


func test_yarn_voice_stops_when_its_node_leaves_the_tree() -> void:
	var voice: YarnSpinnerVoice = YarnVoice.new()
	add_child(voice)
	if voice.play_text_id("line:" + DEMO_LINE) == null:
		voice.free()
		pending("the demo voice is needed (charvoice build)")
		return
	remove_child(voice)
	voice.free()
	assert_false(CharVoice.is_playing(DEMO_LINE))


# --- Export -------------------------------------------------------------------------------


func test_export_of_other_locales_keeps_the_default_and_tells_the_game() -> void:
	var manifest := Manifest.new()
	assert_true(manifest.load_file(FIXTURE_PATH), manifest.error)
	var plan := Plan.new()
	plan.make(manifest, PackedStringArray(["de"]))
	assert_eq(plan.locales, PackedStringArray(["en"]), "the default locale always ships")
	assert_true(plan.left_out.has("res://test/data/fixture_audio/fr/aria/greet.ogg"))
	assert_true(plan.left_out.has(FIXTURE_PATH), "the tools' manifest is not the game's")
	assert_true(plan.imported_files.has("res://test/data/fixture_audio/en/aria/greet.ogg"))
	# The index the game gets lists what shipped: a French player hears English, not nothing.
	var index_path := "res://test/data/fixture_manifest.runtime/index.json"
	assert_true(plan.rewritten.has(index_path))
	var shipped := WORK.path_join("shipped/fixture_manifest.runtime")
	DirAccess.make_dir_recursive_absolute(shipped.path_join("en"))
	var file := FileAccess.open(shipped.path_join("index.json"), FileAccess.WRITE)
	file.store_buffer(plan.rewritten[index_path])
	file.close()
	for chunk in plan.raw_files:
		if chunk.contains(".runtime/en/"):
			var bytes := FileAccess.get_file_as_bytes(chunk)
			var target_path := shipped.path_join("en").path_join(chunk.get_file())
			var target := FileAccess.open(target_path, FileAccess.WRITE)
			target.store_buffer(bytes)
			target.close()
	var exported := Manifest.new()
	assert_true(exported.load_file(WORK.path_join("shipped/fixture_manifest.json")), exported.error)
	assert_eq(exported.resolve_line_locale("greet", "fr_CA"), "en")


func test_export_ships_the_locale_a_shipped_locale_borrows_from() -> void:
	var manifest := Manifest.new()
	manifest.load_file(FIXTURE_PATH)
	manifest.default_locale = "fr"  # so "en" ships only as the lender of only_en's "fr"
	var plan := Plan.new()
	plan.make(manifest, PackedStringArray(["fr"]))
	assert_true(plan.locales.has("en"), str(plan.locales))
	assert_true(plan.imported_files.has("res://test/data/fixture_audio/en/aria/only_en.ogg"))


# --- CharVoice runtime --------------------------------------------------------------------


func test_preloading_during_a_timed_line_keeps_word_started_going() -> void:
	var voice := _runtime(DEMO_MANIFEST)
	if voice.play(DEMO_LINE) == null or voice.get_timings(DEMO_LINE) == null:
		pending("the demo voice with timings is needed (charvoice build)")
		return
	var words: Array = []
	voice.word_started.connect(func(_id: String, index: int, _w: String) -> void: words.append(index))
	voice.preload_lines(PackedStringArray(["lighthouse.knock"]))
	assert_true(voice.is_processing(), "a preload must not switch off the word clock")
	var total: int = voice.get_timings(DEMO_LINE).words.size()
	await wait_seconds(minf(voice.get_duration(DEMO_LINE) * 0.6, 3.0))
	assert_between(words.size(), 1, total - 1, "words come as they are spoken, not all at the end")
	voice.stop()


func test_character_mixing_defaults_can_be_changed_at_run_time() -> void:
	var voice := _runtime(FIXTURE_PATH)
	voice.character_buses["aria"] = &"Master"  # an error on a read-only {} constant
	voice.character_volume_db["aria"] = -3.0
	assert_eq(voice.character_buses.get("aria"), &"Master")
	var other: Runtime = autofree(Runtime.new())
	assert_eq(other.character_buses, {}, "another instance keeps the empty default")


func test_max_voices_zero_plays_nothing_and_does_not_crash() -> void:
	var voice := _runtime(DEMO_MANIFEST)
	voice.max_voices = 0
	assert_null(voice.play(DEMO_LINE))


func test_the_runtime_tracks_lines_while_the_tree_is_paused() -> void:
	var voice := _runtime(DEMO_MANIFEST)
	assert_eq(voice.process_mode, Node.PROCESS_MODE_ALWAYS)
	voice.pause_with_tree = false
	var player := voice.play(DEMO_LINE)
	if player == null:
		pending("the demo voice is needed (charvoice build)")
		return
	assert_eq(player.process_mode, Node.PROCESS_MODE_ALWAYS, "a dialogue UI over a paused game")
	voice.stop()


# --- Dialogue Manager, subtitles, lip-sync ----------------------------------------------


func test_dialogue_label_speed_counts_shown_characters_and_comes_back() -> void:
	assert_eq(DMVoice.visible_length("[b]Hello[/b] [wave amp=5]there[/wave]"), 11)
	var label := FakeDialogueLabel.new()
	add_child_autofree(label)
	var voice: DialogueManagerVoice = DMVoice.new()
	voice.follow_dialogue_manager = false
	add_child_autofree(voice)
	voice.dialogue_label = voice.get_path_to(label)
	var line := DM3Line.new()
	line.translation_key = DEMO_LINE
	line.text = "[b]%s[/b]" % CharVoice.get_text(DEMO_LINE)
	if voice.play_dialogue_line(line) == null:
		pending("the demo voice is needed (charvoice build)")
		return
	var expected := CharVoice.get_duration(DEMO_LINE) / CharVoice.get_text(DEMO_LINE).length()
	if CharVoice.get_timings(DEMO_LINE) == null:
		assert_almost_eq(label.seconds_per_step, expected, 0.0001, "BBCode is not typed")
	assert_ne(label.seconds_per_step, 0.02)
	CharVoice.stop(DEMO_LINE)
	assert_eq(label.seconds_per_step, 0.02, "the label's own speed is back")


func test_subtitles_show_the_text_of_the_locale_the_line_plays_in() -> void:
	var path := _two_locale_manifest()
	if path.is_empty():
		pending("the demo voice is needed (charvoice build)")
		return
	var voice := _runtime(path)
	voice.name = "CharVoiceUnderTest"
	var label := Label.new()
	add_child_autofree(label)
	var subtitle: VoiceSubtitle = Subtitle.new()
	subtitle.reveal = false
	add_child_autofree(subtitle)
	subtitle.set(&"_voice", voice)  # follow this runtime instead of the autoload
	voice.line_started.connect(subtitle._on_line_started)
	subtitle.label = subtitle.get_path_to(label)
	voice.locale_override = "en"  # the game's locale
	if voice.play(DEMO_LINE, null, "fr") == null:
		pending("the demo audio does not load here")
		return
	assert_eq(voice.get_playing_locale(DEMO_LINE), "fr")
	assert_eq(label.text, "Le phare, enfin.")
	voice.stop()


func test_a_locale_change_replays_the_line_that_plays_not_line_id() -> void:
	var player: VoiceLinePlayer = VoiceLinePlayer.new()
	player.line_id = "lighthouse.knock"
	add_child_autofree(player)
	if not player.play_line(DEMO_LINE):
		pending("the demo voice is needed (charvoice build)")
		return
	player.notification(Node.NOTIFICATION_TRANSLATION_CHANGED)
	assert_eq(CharVoice.get_line_on(player), DEMO_LINE)
	assert_false(CharVoice.is_playing("lighthouse.knock"))
	CharVoice.stop()


func test_the_inspector_reads_the_manifest_again_only_after_a_publish() -> void:
	const Common := preload("res://addons/charvoice/runtime/voice_line_player_common.gd")
	var first: Manifest = Common.current_manifest()
	assert_same(Common.current_manifest(), first, "same revision: the same parsed manifest")
	assert_eq(Common.warnings(DEMO_LINE).size(), 0 if first.has_line(DEMO_LINE) else 1)
	assert_same(Common.current_manifest(), first)
