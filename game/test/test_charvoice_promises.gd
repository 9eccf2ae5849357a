extends GutTest
## The addon README's promises, on the demo's real voice (run by tests/test_godot_gut.py in
## Godot 4.6, with audio and with nothing mixing).

const Runtime := preload("res://addons/charvoice/runtime/charvoice.gd")
const DEMO_MANIFEST := "res://voice/voice_manifest.json"
const DEMO_LINE := "lighthouse.intro"
const OTHER_LINE := "lighthouse.knock"
const ADDON := "res://addons/charvoice/"
const DUCK_BUS := "CharVoiceTestMusic"


func _voice() -> Runtime:
	var voice: Runtime = Runtime.new()
	voice.manifest_path = DEMO_MANIFEST
	voice.warn_on_missing_lines = false
	add_child_autofree(voice)
	if not voice.has_line(DEMO_LINE):
		pending("run `charvoice build` first")
		return null
	return voice


func _seconds() -> float:
	return Time.get_ticks_msec() / 1000.0


func test_every_runtime_and_integration_script_compiles() -> void:
	# Editor scripts need the editor's classes, which no exported game (nor this engine) has.
	var count := 0
	for folder in ["runtime", "integrations"]:
		for file in DirAccess.get_files_at(ADDON + folder):
			if not file.ends_with(".gd"):
				continue
			var script := load(ADDON + folder + "/" + file) as GDScript
			assert_not_null(script, file)
			if script != null:
				assert_true(script.can_instantiate(), "%s compiles" % file)
			count += 1
	assert_gt(count, 10, "every script was found")
	assert_not_null(get_node_or_null(^"/root/CharVoice"), "the autoload runs")


func test_line_stopped_comes_exactly_once() -> void:
	var voice := _voice()
	if voice == null:
		return
	var own := AudioStreamPlayer.new()
	add_child(own)
	watch_signals(voice)
	voice.play(DEMO_LINE, own)
	voice.stop(DEMO_LINE, 0.0)
	voice.stop(DEMO_LINE, 0.0)
	voice.stop()
	remove_child(own)
	own.free()
	await wait_seconds(0.2)
	assert_signal_emit_count(voice, "line_stopped", 1)
	assert_signal_not_emitted(voice, "line_finished")


func test_a_new_line_on_the_same_player_stops_the_old_one() -> void:
	var voice := _voice()
	if voice == null:
		return
	var own := AudioStreamPlayer.new()
	add_child_autofree(own)
	watch_signals(voice)
	voice.play(DEMO_LINE, own)
	voice.play(OTHER_LINE, own)
	assert_signal_emitted_with_parameters(voice, "line_stopped", [DEMO_LINE])
	assert_true(voice.is_playing(OTHER_LINE))
	assert_false(voice.is_playing(DEMO_LINE))
	voice.stop("", 0.0)


func test_playback_position_moves_and_ends_at_minus_one() -> void:
	var voice := _voice()
	if voice == null:
		return
	var started := _seconds()
	voice.play(DEMO_LINE)
	await wait_seconds(1.5)
	var position := voice.get_playback_position(DEMO_LINE)
	assert_between(position, 0.05, _seconds() - started + 0.05, "the line's clock moves")
	await wait_seconds(0.5)
	assert_gt(voice.get_playback_position(DEMO_LINE), position + 0.3, "and keeps moving")
	voice.stop("", 0.0)
	assert_eq(voice.get_playback_position(DEMO_LINE), -1.0)


func test_ducking_lowers_the_duck_bus_while_a_line_plays() -> void:
	var voice := _voice()
	if voice == null:
		return
	AudioServer.add_bus()
	var bus := AudioServer.bus_count - 1
	AudioServer.set_bus_name(bus, DUCK_BUS)
	AudioServer.set_bus_volume_db(bus, -3.0)
	voice.duck_bus = DUCK_BUS
	voice.duck_db = -8.0
	voice.play(DEMO_LINE)
	assert_almost_eq(AudioServer.get_bus_volume_db(bus), -11.0, 0.01, "ducked while it plays")
	voice.stop("", 0.0)
	assert_almost_eq(AudioServer.get_bus_volume_db(bus), -3.0, 0.01, "restored after")
	AudioServer.remove_bus(bus)


func test_character_volume_and_bus_apply_and_are_restored() -> void:
	var voice := _voice()
	if voice == null:
		return
	AudioServer.add_bus()
	var bus := AudioServer.bus_count - 1
	AudioServer.set_bus_name(bus, "CharVoiceTestNarrator")
	voice.character_buses = {"narrator": "CharVoiceTestNarrator"}
	voice.character_volume_db = {"narrator": -6.0}
	var pooled := voice.play(DEMO_LINE)
	assert_eq(pooled.bus, &"CharVoiceTestNarrator", "pooled players take the character's bus")
	assert_almost_eq(pooled.volume_db, -6.0, 0.01)
	var own := AudioStreamPlayer.new()
	own.volume_db = -2.0
	add_child_autofree(own)
	voice.play(DEMO_LINE, own)
	assert_almost_eq(own.volume_db, -8.0, 0.01, "an offset on the player's own volume")
	voice.stop("", 0.0)
	assert_almost_eq(own.volume_db, -2.0, 0.01, "restored after the line")
	AudioServer.remove_bus(bus)


func test_a_stopped_line_fades_out() -> void:
	var voice := _voice()
	if voice == null:
		return
	var own := AudioStreamPlayer.new()
	add_child_autofree(own)
	voice.play(DEMO_LINE, own)
	voice.stop(DEMO_LINE, 0.4)
	assert_false(voice.is_playing(DEMO_LINE), "the line counts as stopped at once")
	await wait_seconds(0.2)
	assert_true(own.playing, "still fading")
	assert_lt(own.volume_db, -3.0, "quieter half-way through the fade")
	await wait_seconds(0.5)
	assert_false(own.playing, "stopped after the fade")
	assert_almost_eq(own.volume_db, 0.0, 0.01, "its volume is back for the next line")


func test_max_voices_cuts_the_oldest_line() -> void:
	var voice := _voice()
	if voice == null:
		return
	voice.max_voices = 2
	watch_signals(voice)
	var first := voice.play(DEMO_LINE)
	voice.play(OTHER_LINE)
	var third := voice.play("lighthouse.mara_answer")
	assert_eq(third, first, "the oldest line's player is taken")
	assert_signal_emitted_with_parameters(voice, "line_stopped", [DEMO_LINE])
	assert_true(voice.is_playing(OTHER_LINE) and voice.is_playing("lighthouse.mara_answer"))
	voice.stop("", 0.0)


func test_words_start_in_order_and_on_time() -> void:
	var voice := _voice()
	if voice == null:
		return
	var timings := voice.get_timings(DEMO_LINE)
	assert_not_null(timings, "the build wrote the line's timings")
	if timings == null:
		return
	var heard: Array = []
	voice.word_started.connect(
		func(id: String, index: int, word: String) -> void: heard.append([index, word, _seconds()])
	)
	var state := {"finished": false}
	voice.line_finished.connect(func(id: String) -> void: state["finished"] = true)
	# The audio's real start: play() where nothing mixes; where audio mixes, the moment its
	# position first moves, less that position (a web mixer starts a stream late).
	var started := _seconds()
	var player := voice.play(DEMO_LINE)
	var audio_start := started
	while not state["finished"] and _seconds() - started < voice.get_duration(DEMO_LINE) + 3.0:
		await get_tree().process_frame
		var moved := player.get_playback_position()
		if audio_start == started and moved > 0.0:
			audio_start = _seconds() - moved
	assert_eq(heard.size(), timings.words.size(), "every word once")
	for i in range(heard.size()):
		var word: Array = timings.words[i]
		assert_eq(heard[i][0], i, "in order")
		assert_eq(heard[i][1], word[4])
		var late: float = heard[i][2] - audio_start - float(word[0])
		# Words fire from _process: a frame or two late on a busy machine; before a web mixer
		# starts the stream, the wall clock leads it a little.
		assert_between(late, -0.35, 0.5, "word %d '%s' %.2f s off its time" % [i, word[4], late])


func test_voice_subtitle_reveals_a_real_line_with_the_voice() -> void:
	var autoload := get_node_or_null(^"/root/CharVoice")
	if autoload == null or not autoload.call(&"has_line", DEMO_LINE):
		pending("run `charvoice build` first")
		return
	var label: Label = add_child_autofree(Label.new())
	var subtitle := VoiceSubtitle.new()
	subtitle.label = label.get_path()
	subtitle.linger_s = 0.1
	add_child_autofree(subtitle)
	autoload.call(&"play", DEMO_LINE)
	var text: String = autoload.call(&"get_text", DEMO_LINE)
	assert_eq(label.text, text)
	await wait_seconds(2.0)
	assert_between(label.visible_characters, 1, text.length() - 1, "part of the line shows")
	await wait_for_signal(autoload.line_finished, 5.0)
	assert_eq(label.visible_characters, -1, "the whole line at its end")
	await wait_seconds(0.3)
	assert_eq(label.text, "", "cleared after linger_s")


func test_unimported_voice_plays_from_the_file() -> void:
	var voice := _voice()
	if voice == null:
		return
	var path := voice.manifest.get_audio_path(DEMO_LINE, "en")
	assert_false(ResourceLoader.exists(path), "this project has no import of the voice")
	var stream := voice.get_stream(DEMO_LINE)
	assert_true(stream is AudioStreamOggVorbis, "decoded from the .ogg itself")
	assert_almost_eq(stream.get_length(), voice.get_duration(DEMO_LINE), 0.1)
	watch_signals(voice)
	voice.preload_lines(PackedStringArray([DEMO_LINE]))
	await wait_for_signal(voice.lines_preloaded, 2.0)
	assert_signal_emitted(voice, "lines_preloaded")
	voice.unload_lines()
	assert_not_null(voice.get_stream(DEMO_LINE), "unloaded lines load again on demand")


func test_voice_lip_sync_moves_a_mouth_with_a_real_line() -> void:
	var autoload := get_node_or_null(^"/root/CharVoice")
	if autoload == null or not autoload.call(&"has_line", DEMO_LINE):
		pending("run `charvoice build` first")
		return
	var timings: CharVoiceTimings = autoload.call(&"get_timings", DEMO_LINE)
	var expected := {}
	for cue: Array in timings.mouth:
		expected[CharVoiceTimings.SHAPES.find(cue[1])] = true
	var mouth := Sprite2D.new()
	mouth.hframes = CharVoiceTimings.SHAPES.size()
	add_child_autofree(mouth)
	var lip_sync := VoiceLipSync.new()
	lip_sync.mode = VoiceLipSync.Mode.SPRITE_FRAMES
	add_child_autofree(lip_sync)
	lip_sync.target = lip_sync.get_path_to(mouth)
	var rest := CharVoiceTimings.SHAPES.find(CharVoiceTimings.REST_SHAPE)
	var seen := {}
	var state := {"finished": false}
	autoload.line_finished.connect(func(id: String) -> void: state["finished"] = true)
	autoload.call(&"play", DEMO_LINE)
	var started := _seconds()
	while not state["finished"] and _seconds() - started < 8.0:
		await get_tree().process_frame
		seen[mouth.frame] = true
	assert_true(state["finished"])
	assert_gt(seen.size(), 3, "the mouth moved through several shapes: %s" % [seen.keys()])
	for frame: int in seen:
		assert_true(expected.has(frame) or frame == rest, "shape %d is one of the line's" % frame)
	assert_eq(mouth.frame, rest, "at rest after the line")
