extends GutTest
## DialogueManagerVoice with the real Dialogue Manager (3.9.1 and 4.0.3): a `.dialogue`
## compiled at run time (create_resource_from_text), voiced by a manifest of the demo's audio.
## Not in the demo's GUT folder: tests/test_godot_gut.py runs it once per Dialogue Manager
## version, with that addon and its autoload in the project. Dialogue Manager is reached by
## name (get_node, call) so the demo compiles without it.

const MANIFEST := "user://dm_voice/voice_manifest.json"
const SCRIPT := """~ start
Nathan: [[Hi there.|Hello there.]] [ID:dm.greet]
## A note for the actor: Dialogue Manager keeps it as the line's notes.
Nathan: A [b]bold[/b] line. [#happy] [ID:dm.bold]
Coco: Together. [ID:dm.first]
| Nathan: At once. [ID:dm.second]
Nathan: A line nobody tagged.
Nathan: Choose. [ID:dm.choose]
- Yes please. [ID:dm.yes] => yes
- No thanks. [ID:dm.no] => END
~ yes
Nathan: Jumped here. [ID:dm.jumped]
=> END
"""
# line id -> [demo audio, text, seconds]
const LINES := {
	"dm.greet~0": ["res://voice/en/wren/harbour.opt_ship.ogg", "Hi there.", 1.201],
	"dm.greet~1": ["res://voice/en/wren/harbour.opt_ladder.ogg", "Hello there.", 1.261],
	"dm.bold": ["res://voice/en/mara/tower.mara_back.ogg", "A bold line.", 1.692],
	"dm.first": ["res://voice/en/wren/tower.resp_go.ogg", "Together.", 1.501],
	"dm.second": ["res://voice/en/wren/tower.resp_tell.ogg", "At once.", 1.261],
	"dm.choose": ["res://voice/en/mara/tower.mara_back.ogg", "Choose.", 1.692],
	"dm.yes": ["res://voice/en/wren/tower.resp_go.ogg", "Yes please.", 1.501],
	"dm.no": ["res://voice/en/wren/tower.resp_tell.ogg", "No thanks.", 1.261],
	"dm.jumped": ["res://voice/en/mara/tower.mara_back.ogg", "Jumped here.", 1.692],
}

var _manager: Node
var _charvoice: Node
var _resource: Resource


func before_all() -> void:
	_manager = get_node_or_null(^"/root/DialogueManager")
	_charvoice = get_node_or_null(^"/root/CharVoice")
	DirAccess.make_dir_recursive_absolute(MANIFEST.get_base_dir())
	var lines := {}
	for id: String in LINES:
		var entry: Array = LINES[id]
		var audio := {"path": entry[0], "text": entry[1], "duration_s": entry[2], "key": id}
		lines[id] = {"character": "nathan", "source": "dm.dialogue:1", "audio": {"en": audio}}
	var manifest := {
		"format": "charvoice-manifest",
		"version": 1,
		"revision": 1,
		"changed": [],
		"default_locale": "en",
		"locales": ["en"],
		"characters": {"nathan": {"name": "Nathan"}},
		"lines": lines,
	}
	var file := FileAccess.open(MANIFEST, FileAccess.WRITE)
	file.store_string(JSON.stringify(manifest))
	file.close()
	if _charvoice != null:
		_charvoice.set(&"manifest_path", MANIFEST)
		_charvoice.call(&"reload_manifest")
	if _manager != null:
		_resource = _manager.call(&"create_resource_from_text", SCRIPT)


func after_all() -> void:
	if _charvoice != null:
		_charvoice.call(&"stop", "", 0.0)
		_charvoice.set(&"manifest_path", "")
		_charvoice.call(&"reload_manifest")


func _voice() -> DialogueManagerVoice:
	if _manager == null or _resource == null:
		pending("Dialogue Manager is not in this project (tests/test_godot_gut.py adds it)")
		return null
	_charvoice.call(&"stop", "", 0.0)  # nothing left from the test before
	var voice := DialogueManagerVoice.new()
	add_child_autofree(voice)
	return voice


# The line after [param key] (or "start"), as a balloon gets it; got_dialogue comes with it
# (Dialogue Manager 4 emits it on the next frame).
func _next(key: String) -> RefCounted:
	var line: RefCounted = await _manager.call(&"get_next_dialogue_line", _resource, key)
	await get_tree().process_frame
	return line


func _playing(id: String) -> bool:
	return bool(_charvoice.call(&"is_playing", id))


func test_the_picked_alternative_plays_and_voice_finished_follows() -> void:
	var voice := _voice()
	if voice == null:
		return
	watch_signals(voice)
	var line: RefCounted = await _next("start")
	var text := str(line.get(&"text"))
	var id := "dm.greet~0" if text == "Hi there." else "dm.greet~1"
	assert_true(text in ["Hi there.", "Hello there."], text)
	assert_true(_playing(id), "the alternative Dialogue Manager picked plays (%s)" % text)
	assert_signal_emitted(voice, "voice_started")
	await wait_for_signal(voice.voice_finished, 3.0)
	assert_signal_emitted_with_parameters(voice, "voice_finished", [line])


func test_bbcode_and_tags_do_not_change_the_voice() -> void:
	var voice := _voice()
	if voice == null:
		return
	var line: RefCounted = await _next("start")
	line = await _next(str(line.get(&"next_id")))
	assert_true(str(line.get(&"text")).contains("[b]bold[/b]"), "the text keeps its BBCode")
	assert_eq(Array(line.get(&"tags")), ["happy"], str(line.get(&"tags")))
	assert_true(_playing("dm.bold"))


func test_concurrent_lines_play_together() -> void:
	var voice := _voice()
	if voice == null:
		return
	var line: RefCounted = await _next("start")
	line = await _next(str(line.get(&"next_id")))
	line = await _next(str(line.get(&"next_id")))
	assert_eq((line.get(&"concurrent_lines") as Array).size(), 1)
	assert_true(_playing("dm.first") and _playing("dm.second"), "both voices at once")


func test_an_untagged_line_has_no_voice_and_the_previous_one_is_cut() -> void:
	var voice := _voice()
	if voice == null:
		return
	var line: RefCounted = await _next("start")
	for i in range(3):
		line = await _next(str(line.get(&"next_id")))
	assert_eq(str(line.get(&"text")), "A line nobody tagged.")
	assert_false(_playing(""), "nothing plays: the previous voice was cut, this one has none")
	await _next(str(line.get(&"key" if line.get(&"id") == null else &"id")))  # the same line again
	assert_push_warning_count(1, "one warning for the untagged line, however often it comes")


func test_a_response_plays_and_its_jump_leads_to_a_voiced_line() -> void:
	var voice := _voice()
	if voice == null:
		return
	var line: RefCounted = await _next("start")
	while str(line.get(&"text")) != "Choose.":
		line = await _next(str(line.get(&"next_id")))
	assert_true(_playing("dm.choose"))
	var responses: Array = line.get(&"responses")
	assert_eq(responses.size(), 2)
	assert_not_null(voice.play_response(responses[0]))
	assert_true(_playing("dm.yes"), "the picked response is voiced")
	line = await _next(str(responses[0].get(&"next_id")))
	assert_eq(str(line.get(&"text")), "Jumped here.")
	assert_true(_playing("dm.jumped"), "the line after the jump plays")


func test_the_voice_stops_when_the_dialogue_ends() -> void:
	var voice := _voice()
	if voice == null:
		return
	var line: RefCounted = await _next("start")
	while str(line.get(&"text")) != "Choose.":
		line = await _next(str(line.get(&"next_id")))
	var responses: Array = line.get(&"responses")
	var ended: RefCounted = await _next(str(responses[1].get(&"next_id")))
	assert_null(ended, "No thanks ends the dialogue")
	assert_false(_playing(""), "dialogue_ended stopped the voice")


func test_the_example_balloon_advances_on_voice_finished() -> void:
	# The balloon's own code, wired as the addon README says: voiced lines move on when their
	# voice ends; the untagged line has no voice and waits for the player, as before.
	var voice := _voice()
	if voice == null:
		return
	var scene := load("res://addons/dialogue_manager/example_balloon/example_balloon.tscn")
	var balloon: Node = scene.instantiate()
	add_child_autofree(balloon)
	voice.voice_finished.connect(
		func(line: RefCounted) -> void:
			var current: RefCounted = balloon.get(&"dialogue_line")
			if line == current and (current.get(&"responses") as Array).is_empty():
				balloon.call(&"next", current.get(&"next_id"))
	)
	var texts: Array = []
	voice.voice_started.connect(func(line: RefCounted) -> void: texts.append(line.get(&"text")))
	balloon.call(&"start", _resource, "start")
	var started := Time.get_ticks_msec()
	while Time.get_ticks_msec() - started < 12000:
		await get_tree().process_frame
		var current: RefCounted = balloon.get(&"dialogue_line")
		if current != null and str(current.get(&"text")) == "A line nobody tagged.":
			break
	var current: RefCounted = balloon.get(&"dialogue_line")
	assert_not_null(current)
	if current != null:
		assert_eq(str(current.get(&"text")), "A line nobody tagged.", "three voiced lines went by")
	assert_eq(texts.size(), 3, "each voiced line played: %s" % [texts])
	await wait_seconds(1.0)
	assert_eq(str(balloon.get(&"dialogue_line").get(&"text")), "A line nobody tagged.", "it waits")
