extends GutTest
## The CharVoice runtime (the autoload script), on the fixture manifest and, when
## `charvoice build` has run, on the demo's voice.

const Runtime := preload("res://addons/charvoice/runtime/charvoice.gd")
const FIXTURE_PATH := "res://test/data/fixture_manifest.json"
const DEMO_MANIFEST := "res://voice/voice_manifest.json"
const DEMO_LINE := "lighthouse.intro"
const DEMO_AUDIO := "res://voice/en/narrator/lighthouse.intro.ogg"
const HOT_DIR := "user://charvoice_hot_reload_test"
const OTHER_AUDIO := "res://voice/en/wren/lighthouse.knock.ogg"
const OTHER_SECONDS := 4.159


func _voice(manifest_path: String, hot_reload := false) -> Runtime:
	var voice: Runtime = Runtime.new()
	voice.manifest_path = manifest_path
	voice.warn_on_missing_lines = false
	voice.hot_reload = hot_reload
	add_child_autofree(voice)
	return voice


# The demo's voice, imported or not: files the editor has not imported play from the file.
func _demo_voice() -> Runtime:
	var voice := _voice(DEMO_MANIFEST)
	if not voice.has_line(DEMO_LINE) or not FileAccess.file_exists(DEMO_AUDIO):
		pending("run `charvoice build` first")
		return null
	return voice


func test_text_and_duration_follow_the_locale() -> void:
	var voice := _voice(FIXTURE_PATH)
	voice.locale_override = "fr_CA"
	assert_eq(voice.get_text("greet"), "Allô.")
	voice.locale_override = "fr_BE"
	assert_eq(voice.get_text("greet"), "Bonjour.")
	assert_eq(voice.get_text("greet", "de"), "Hello.")
	assert_almost_eq(voice.get_duration("greet", "en"), 1.25, 0.001)
	assert_eq(voice.get_character_name("greet"), "Aria")


func test_missing_line_returns_null_and_still_finishes() -> void:
	var voice := _voice(FIXTURE_PATH)
	watch_signals(voice)
	assert_false(voice.has_line("nope"))
	assert_null(voice.get_stream("nope"))
	assert_null(voice.play("nope"))
	assert_eq(voice.get_text("nope"), "")
	await get_tree().process_frame  # line_finished is deferred to the next frame
	await get_tree().process_frame
	assert_signal_emitted_with_parameters(voice, "line_finished", ["nope"])
	assert_signal_not_emitted(voice, "line_started")


func test_missing_file_returns_null() -> void:
	var voice := _voice(FIXTURE_PATH)
	assert_true(voice.has_line("greet"))
	assert_null(voice.get_stream("greet", "en"))
	assert_null(voice.play("greet"))


func test_missing_manifest_never_crashes() -> void:
	var voice := _voice("res://test/data/missing.json")
	assert_false(voice.has_line(DEMO_LINE))
	assert_null(voice.play(DEMO_LINE))


func test_play_uses_a_pooled_player_and_reports_start_and_stop() -> void:
	var voice := _demo_voice()
	if voice == null:
		return
	watch_signals(voice)
	var player := voice.play(DEMO_LINE)
	assert_not_null(player)
	assert_true(player.get_parent() == voice, "a pooled player is a child of CharVoice")
	assert_signal_emitted_with_parameters(voice, "line_started", [DEMO_LINE])
	assert_true(voice.is_playing(DEMO_LINE))
	voice.stop()
	assert_signal_emitted_with_parameters(voice, "line_stopped", [DEMO_LINE])
	assert_false(voice.is_playing())


func test_play_on_a_given_player_and_cut_the_oldest_pooled_voice() -> void:
	var voice := _demo_voice()
	if voice == null:
		return
	var own := AudioStreamPlayer.new()
	add_child_autofree(own)
	assert_eq(voice.play(DEMO_LINE, own), own)
	voice.max_voices = 1
	watch_signals(voice)
	var first := voice.play(DEMO_LINE)
	var second := voice.play(DEMO_LINE)
	assert_eq(first, second, "with max_voices = 1 the second line takes the first one's player")
	assert_signal_emitted(voice, "line_stopped")
	voice.stop()


func test_preload_lines_emits_when_loaded() -> void:
	var voice := _demo_voice()
	if voice == null:
		return
	watch_signals(voice)
	voice.preload_lines(PackedStringArray([DEMO_LINE]))
	await wait_for_signal(voice.lines_preloaded, 5.0)
	assert_signal_emitted(voice, "lines_preloaded")
	assert_not_null(voice.get_stream(DEMO_LINE))


func test_hot_reload_plays_the_new_file_after_a_publish() -> void:
	if not FileAccess.file_exists(DEMO_AUDIO):
		pending("run `charvoice build` first")
		return
	DirAccess.make_dir_recursive_absolute(HOT_DIR + "/en")
	var audio := FileAccess.get_file_as_bytes(DEMO_AUDIO)
	_write(HOT_DIR + "/en/hot.ogg", audio)
	_write_manifest(1, "a".repeat(64))
	var voice := _voice(HOT_DIR + "/voice_manifest.json", true)  # on by default in editor runs
	var before := voice.play("hot").stream.get_length()
	voice.stop("", 0.0)
	watch_signals(voice)
	# A build republishes the line with other audio (another line's, shorter).
	_write(HOT_DIR + "/en/hot.ogg", FileAccess.get_file_as_bytes(OTHER_AUDIO))
	_write_manifest(2, "b".repeat(64))
	await wait_for_signal(voice.manifest_reloaded, 3.0)
	assert_signal_emitted_with_parameters(
		voice, "manifest_reloaded", [2, PackedStringArray(["hot"])]
	)
	var stream := voice.get_stream("hot")
	assert_true(stream is AudioStreamOggVorbis, "read straight from the file (Godot 4.2+)")
	var player := voice.play("hot")
	assert_almost_eq(player.stream.get_length(), OTHER_SECONDS, 0.1, "the new audio plays")
	assert_gt(absf(before - OTHER_SECONDS), 0.3, "not the audio from before the publish")
	voice.stop("", 0.0)


func _write_manifest(revision: int, key: String) -> void:
	var data := {
		"format": "charvoice-manifest",
		"version": 1,
		"revision": revision,
		"changed": [],
		"default_locale": "en",
		"locales": ["en"],
		"characters": {"n": {"name": "N"}},
		"lines":
		{
			"hot":
			{
				"character": "n",
				"source": "x.csv:2",
				"audio":
				{"en": {"path": "en/hot.ogg", "text": "Hot.", "duration_s": 1.0, "key": key}},
			},
		},
	}
	_write(HOT_DIR + "/voice_manifest.json", JSON.stringify(data, " ").to_utf8_buffer())


func _write(path: String, bytes: PackedByteArray) -> void:
	var file := FileAccess.open(path, FileAccess.WRITE)
	file.store_buffer(bytes)
	file.close()


# --- playback state: finished is not emitted on stop() or when leaving the tree ------------


func test_stop_reports_the_cut_line_and_frees_the_player() -> void:
	var voice := _demo_voice()
	if voice == null:
		return
	watch_signals(voice)
	var player := voice.play(DEMO_LINE)
	voice.stop(DEMO_LINE, 0.0)
	assert_signal_emit_count(voice, "line_stopped", 1)
	assert_signal_not_emitted(voice, "line_finished")
	assert_false(voice.is_playing(DEMO_LINE))
	assert_eq(voice.play("lighthouse.knock"), player, "the pooled player is free again")


func test_a_player_leaving_the_tree_stops_its_line() -> void:
	var voice := _demo_voice()
	if voice == null:
		return
	var own := AudioStreamPlayer.new()
	add_child(own)
	watch_signals(voice)
	voice.play(DEMO_LINE, own)
	remove_child(own)
	own.free()
	assert_signal_emitted_with_parameters(voice, "line_stopped", [DEMO_LINE])
	assert_false(voice.is_playing())


func test_dialogue_never_stalls_without_an_audio_device() -> void:
	# Headless runs use the dummy audio driver: nothing mixes, `finished` never comes
	# (godot#71640). The fallback from duration_s must finish the line, by duration_s +
	# FALLBACK_MARGIN_S (a few frames of slack). Where audio mixes, the line ends with its audio
	# instead (test_line_finished_comes_at_the_real_end_when_audio_mixes).
	var voice := _demo_voice()
	if voice == null:
		return
	var state := {"finished": false, "mixed": false}
	voice.line_finished.connect(func(id: String) -> void: state["finished"] = true)
	var started := Time.get_ticks_msec()
	var player := voice.play(DEMO_LINE)
	var length := voice.get_duration(DEMO_LINE)
	var limit := length + Runtime.FALLBACK_MARGIN_S + 0.2
	while not state["finished"] and (Time.get_ticks_msec() - started) / 1000.0 < limit + 2.0:
		await get_tree().process_frame
		state["mixed"] = state["mixed"] or player.get_playback_position() > 0.0
	var took := (Time.get_ticks_msec() - started) / 1000.0
	assert_true(state["finished"], "line_finished came")
	assert_false(voice.is_playing(DEMO_LINE))
	if not state["mixed"]:
		assert_lt(took, limit, "line_finished %.2f s after play(), line of %.2f s" % [took, length])


func test_line_finished_comes_at_the_real_end_when_audio_mixes() -> void:
	# Where audio mixes: the player's position starts moving some time after play(); the
	# line's real end is then (that time - the position) + its length.
	var voice := _demo_voice()
	if voice == null:
		return
	var state := {"finished": -1.0}
	voice.line_finished.connect(
		func(id: String) -> void: state["finished"] = Time.get_ticks_msec() / 1000.0
	)
	var player := voice.play(DEMO_LINE)
	var duration := voice.get_duration(DEMO_LINE)
	var started := Time.get_ticks_msec() / 1000.0
	var real_end := -1.0
	while state["finished"] < 0.0 and Time.get_ticks_msec() / 1000.0 - started < duration + 3.0:
		await get_tree().process_frame
		var position := player.get_playback_position()
		if real_end < 0.0 and position > 0.0:
			real_end = Time.get_ticks_msec() / 1000.0 - position + duration
	assert_gt(real_end, 0.0, "the audio played (its position moved)")
	assert_gt(float(state["finished"]), 0.0, "line_finished came")
	assert_almost_eq(float(state["finished"]), real_end, 0.3, "line_finished at the audio's end")


func test_play_line_outside_the_tree_warns_and_finishes() -> void:
	var voice := _demo_voice()
	if voice == null:
		return
	var loose := VoiceLinePlayer.new()
	autofree(loose)
	watch_signals(voice)
	assert_null(voice.play(DEMO_LINE, loose), "no AudioStreamPlayer.play() outside the tree")
	assert_false(loose.play_line(DEMO_LINE))
	await get_tree().process_frame
	await get_tree().process_frame
	assert_signal_emitted_with_parameters(voice, "line_finished", [DEMO_LINE])


func test_a_bark_never_cuts_story_dialogue() -> void:
	var voice := _demo_voice()
	if voice == null:
		return
	voice.max_voices = 1
	assert_not_null(voice.play(DEMO_LINE, null, "", Runtime.Priority.DIALOGUE))
	assert_null(voice.play("lighthouse.knock", null, "", Runtime.Priority.BARK))
	assert_true(voice.is_playing(DEMO_LINE))
	assert_not_null(voice.play("lighthouse.knock", null, "", Runtime.Priority.CRITICAL))
	assert_false(voice.is_playing(DEMO_LINE), "a critical line may cut dialogue")
	voice.stop()


# A line with no words (`...`) is in the manifest's `silent` map: playing it plays nothing,
# warns nothing, and still finishes, so dialogue waiting on it goes on.
func _assert_silent_line_finishes(voice: Runtime) -> void:
	voice.warn_on_missing_lines = true
	watch_signals(voice)
	assert_false(voice.has_line("pause"), "a silent line has no audio")
	assert_null(voice.play("pause"))
	assert_null(voice.play("nope"))  # a line the manifest does not know, for contrast
	await get_tree().process_frame  # line_finished is deferred to the next frame
	await get_tree().process_frame
	assert_signal_emitted_with_parameters(voice, "line_finished", ["pause"], 0)
	assert_signal_not_emitted(voice, "line_started")
	assert_false(voice._warned.has("pause"), "no missing-line warning for a silent line")
	assert_true(voice._warned.has("nope"), "an unknown line is still warned about")


func test_a_line_with_no_words_finishes_silently_from_the_runtime_form() -> void:
	var voice := _voice(FIXTURE_PATH)  # the fixture's runtime form lies beside it: read lazily
	assert_true(voice.manifest.lazy)
	await _assert_silent_line_finishes(voice)


func test_a_line_with_no_words_finishes_silently_from_the_whole_manifest() -> void:
	DirAccess.make_dir_recursive_absolute("user://charvoice_silent_test")
	var whole := "user://charvoice_silent_test/voice_manifest.json"  # no runtime form beside it
	var file := FileAccess.open(whole, FileAccess.WRITE)
	file.store_string(FileAccess.get_file_as_string(FIXTURE_PATH))
	file.close()
	var voice := _voice(whole)
	assert_false(voice.manifest.lazy)
	await _assert_silent_line_finishes(voice)
