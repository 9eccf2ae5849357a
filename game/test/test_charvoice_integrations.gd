extends GutTest
## The Dialogue Manager and Yarn Spinner integrations, with stand-ins for the lines those addons
## hand over (the addons themselves are not installed in the demo).

const DMVoice := preload("res://addons/charvoice/integrations/dialogue_manager_voice.gd")
const YarnVoice := preload("res://addons/charvoice/integrations/yarn_spinner_voice.gd")


## A Dialogue Manager 3 line: the key is translation_key.
class DM3Line:
	extends RefCounted
	var translation_key: String = ""
	var text: String = ""
	var concurrent_lines: Array = []


## A Dialogue Manager 4 line: the key is static_id.
class DM4Line:
	extends RefCounted
	var static_id: String = ""
	var text: String = ""


func test_the_static_id_is_read_from_either_version() -> void:
	var old := DM3Line.new()
	old.translation_key = "lighthouse.intro"
	var new := DM4Line.new()
	new.static_id = "lighthouse.knock"
	assert_eq(DMVoice.static_id_of(old), "lighthouse.intro")
	assert_eq(DMVoice.static_id_of(new), "lighthouse.knock")
	assert_eq(DMVoice.static_id_of(null), "")


func test_the_picked_alternative_is_found_by_its_text() -> void:
	var voiced := {"greet~0": "Hi, traveller!", "greet~1": "Hello, traveller!"}
	assert_eq(DMVoice.pick_alternative("Hello, [b]traveller[/b]!", voiced), "greet~1")
	assert_eq(DMVoice.pick_alternative("Howdy, traveller!", voiced), "")


func test_an_untagged_line_warns_once_and_has_no_voice() -> void:
	var voice: DialogueManagerVoice = DMVoice.new()
	voice.follow_dialogue_manager = false
	add_child_autofree(voice)
	var line := DM3Line.new()
	line.text = "A line nobody tagged."
	line.translation_key = line.text  # what Dialogue Manager reports without [ID:...]
	assert_null(voice.play_dialogue_line(line))
	assert_eq(voice.voice_id_of(line), "")


func test_a_shadow_line_plays_the_line_it_shadows() -> void:
	var metadata := PackedStringArray(["shadow:quay.tide"])
	assert_eq(YarnVoice.voiced_text_id("line:other", metadata), "line:quay.tide")
	assert_eq(YarnVoice.voiced_text_id("line:quay.tide", PackedStringArray()), "line:quay.tide")


func test_a_presenter_line_without_voice_returns_at_once() -> void:
	var voice: YarnSpinnerVoice = YarnVoice.new()
	add_child_autofree(voice)
	var started := Time.get_ticks_msec()
	await voice.run_line_async({"text_id": "line:not.voiced", "metadata": []})
	assert_lt(Time.get_ticks_msec() - started, 500, "no voice: dialogue goes on at once")


func test_a_presenter_line_ends_when_interrupted() -> void:
	var voice: YarnSpinnerVoice = YarnVoice.new()
	add_child_autofree(voice)
	if not CharVoice.has_line("lighthouse.intro"):
		pending("run `charvoice build` first")
		return
	get_tree().create_timer(0.2).timeout.connect(voice.user_requested_view_advancement)
	var started := Time.get_ticks_msec()
	await voice.run_line_async({"text_id": "line:lighthouse.intro", "metadata": []})
	assert_lt(Time.get_ticks_msec() - started, 1500, "the player's continue cuts the voice")
	assert_false(CharVoice.is_playing("lighthouse.intro"))
