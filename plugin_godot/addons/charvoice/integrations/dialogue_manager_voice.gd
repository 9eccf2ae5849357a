@icon("../icons/dialogue_manager_voice.svg")
class_name DialogueManagerVoice
extends Node
## Voices Godot Dialogue Manager: plays each line's voice when Dialogue Manager emits
## [code]got_dialogue[/code], and tells your balloon when the voice is over.
##
## Give your lines ids with [code][ID:...][/code] tags ([code]charvoice tag[/code] writes
## them). Dialogue Manager 3 exposes the id as [code]DialogueLine.translation_key[/code];
## Dialogue Manager 4 calls it [code]static_id[/code]: both are read. A line with
## [code][[A|B]][/code] alternatives keeps its bare key while the text holds the alternative
## Dialogue Manager picked; charvoice voiced each alternative as [code]key~0[/code],
## [code]key~1[/code]..., and the one whose text matches is played. Concurrent lines
## ([code]line.concurrent_lines[/code]) play with the line, on their own players, when
## [member play_concurrent_lines] is on; a response plays when the game calls
## [method play_response] (for example from the balloon's response menu).
## [codeblock]
## @onready var voice: DialogueManagerVoice = $DialogueManagerVoice
##
## func _ready() -> void:
##     voice.voice_finished.connect(_on_voice_finished)
##
## func _on_voice_finished(line: RefCounted) -> void:
##     # Only lines without responses move on by themselves.
##     if line == dialogue_line and dialogue_line.responses.is_empty():
##         next(dialogue_line.next_id)
## [/codeblock]
## Lines without a voice keep waiting for the player's input, as without CharVoice.

## Emitted when the voice of Dialogue Manager [param line] (a DialogueLine) starts.
signal voice_started(line: RefCounted)
## Emitted when the voice of [param line] played to its end (not when it was cut short).
signal voice_finished(line: RefCounted)

## Node path of the autoload the CharVoice plugin registers.
const CHARVOICE_PATH := ^"/root/CharVoice"
## Node path of Dialogue Manager's autoload.
const DIALOGUE_MANAGER_PATH := ^"/root/DialogueManager"
## What separates a key from the index of an alternative in charvoice's line ids.
const ALTERNATIVE_SEPARATOR := "~"
## The most [code][[A|B]][/code] alternatives one line can have (charvoice's limit).
const MAX_ALTERNATIVES := 64
const Runtime := preload("../runtime/charvoice.gd")

## Connect to [code]DialogueManager.got_dialogue[/code] on ready. Turn off to call
## [method play_dialogue_line] yourself (for example from your balloon's line setter).
@export var follow_dialogue_manager: bool = true
## Cut the previous line's voice when the next line arrives (the player skipped ahead).
@export var stop_previous_line: bool = true
## Stop the voice when [code]DialogueManager.dialogue_ended[/code] is emitted.
@export var stop_when_dialogue_ends: bool = true
## Also voice the line's concurrent lines, at the same time.
@export var play_concurrent_lines: bool = true
## Dialogue Manager's typing label ([code]DialogueLabel[/code]) to pace with the voice: while a
## voiced line plays, its typing speed follows the words (or spreads the text over the line's
## length when it has no timings); its own [code]seconds_per_step[/code] is back once the voice
## ends. Empty leaves the label's own speed.
@export var dialogue_label: NodePath

var _line: RefCounted
var _line_id: String = ""
var _concurrent_ids: PackedStringArray = PackedStringArray()
var _warned: Dictionary = {}
var _alternatives_cache: Dictionary = {}  # key -> {key~N: text}
var _voice: Runtime
var _paced_label: Object  # the label whose seconds_per_step this node changed
var _label_step: float = 0.0  # that label's own seconds_per_step, restored after the voice


func _ready() -> void:
	_voice = get_node_or_null(CHARVOICE_PATH) as Runtime
	if _voice == null:
		push_warning("DialogueManagerVoice: no CharVoice autoload; enable the CharVoice plugin")
		return
	_voice.line_finished.connect(_on_line_finished)
	_voice.line_stopped.connect(_on_line_stopped)
	_voice.word_started.connect(_on_word_started)
	_voice.manifest_reloaded.connect(_on_manifest_reloaded)
	if not follow_dialogue_manager:
		return
	var manager := get_node_or_null(DIALOGUE_MANAGER_PATH)
	if manager == null:
		push_warning("DialogueManagerVoice: no DialogueManager autoload (is the addon enabled?)")
		return
	manager.connect(&"got_dialogue", play_dialogue_line)
	manager.connect(&"dialogue_ended", _on_dialogue_ended)


## Plays the voice of Dialogue Manager [param line] (a DialogueLine) and returns the player,
## or null when the line has no voice (one warning per line names it).
func play_dialogue_line(line: RefCounted) -> AudioStreamPlayer:
	if _voice == null or line == null:
		return null
	if stop_previous_line:
		_stop_current()
	_line = line
	_line_id = voice_id_of(line)
	var player: AudioStreamPlayer = null
	if not _line_id.is_empty():
		player = _voice.play(_line_id)
	if player == null:
		_line_id = ""  # no voice: the balloon waits for input as usual
		return null
	_pace_label(line)
	voice_started.emit(line)
	if play_concurrent_lines:
		for other: Variant in _list(line.get(&"concurrent_lines")):
			var other_id := voice_id_of(other as Object)
			if not other_id.is_empty() and _voice.play(other_id) != null:
				_concurrent_ids.append(other_id)
	return player


## Plays the voice of a Dialogue Manager response (a DialogueResponse) the player picked, and
## returns the player, or null when it has none.
func play_response(response: RefCounted) -> AudioStreamPlayer:
	if _voice == null or response == null:
		return null
	var response_id := voice_id_of(response)
	return _voice.play(response_id) if not response_id.is_empty() else null


## The charvoice line id for Dialogue Manager [param line] (a DialogueLine or
## DialogueResponse): its static id, resolved to the voiced alternative for lines with
## [code][[A|B]][/code]; "" (with one warning per line) when it has no usable id.
func voice_id_of(line: Object) -> String:
	var key := static_id_of(line)
	if key.is_empty() and line != null:
		key = str(line.get(&"text"))  # untagged: Dialogue Manager 4 leaves static_id empty
	if key.is_empty() or _voice == null:
		return ""
	if _voice.has_line(key):
		return key
	var text := str(line.get(&"text"))
	var picked := pick_alternative(text, _alternatives(key))
	if not picked.is_empty():
		return picked
	if not _warned.has(key):
		_warned[key] = true
		if key == text or key.contains(" "):
			push_warning(
				(
					(
						'DialogueManagerVoice: "%s" has no [ID:...] tag, so it has no voice; run'
						+ " `charvoice tag` to give every line an id"
					)
					% key.left(60)
				)
			)
		else:
			push_warning('DialogueManagerVoice: line "%s" is not voiced' % key)
	return ""


## The static id of [param line]: [code]static_id[/code] (Dialogue Manager 4) or
## [code]translation_key[/code] (Dialogue Manager 3); "" when it has neither.
static func static_id_of(line: Object) -> String:
	if line == null:
		return ""
	for property: StringName in [&"static_id", &"translation_key"]:
		var value: Variant = line.get(property)
		if value is String and not (value as String).is_empty():
			return value
	return ""


## The id, among [param alternatives] (charvoice id -> voiced text, the [code]key~N[/code]
## entries of one key), whose text is [param text], the line Dictionary Manager picked; compared
## by [method plain_text]. "" when none matches.
static func pick_alternative(text: String, alternatives: Dictionary) -> String:
	var wanted := plain_text(text)
	for candidate: String in alternatives:
		if plain_text(str(alternatives[candidate])) == wanted:
			return candidate
	return ""


## [param text] as the comparison sees it: BBCode tags ([code][b][/code], [code][wave][/code]...)
## removed, runs of spaces made one, ends stripped.
static func plain_text(text: String) -> String:
	var result := ""
	var in_tag := false
	var pending_space := false
	for character in text:
		if in_tag:
			in_tag = character != "]"
		elif character == "[":
			in_tag = true
		elif character == " " or character == "\t" or character == "\n":
			pending_space = not result.is_empty()
		else:
			if pending_space:
				result += " "
			pending_space = false
			result += character
	return result


## [param text] as a typing label counts it: without BBCode tags (one step per shown character).
static func visible_length(text: String) -> int:
	var count := 0
	var in_tag := false
	for character in text:
		if in_tag:
			in_tag = character != "]"
		elif character == "[":
			in_tag = true
		else:
			count += 1
	return count


func _alternatives(key: String) -> Dictionary:
	if _alternatives_cache.has(key):
		return _alternatives_cache[key]
	# key~0, key~1...: asked one by one, so only the lines' own part of the manifest is read.
	var found := {}
	for index in MAX_ALTERNATIVES:
		var line_id := "%s%s%d" % [key, ALTERNATIVE_SEPARATOR, index]
		if not _voice.has_line(line_id):
			break
		found[line_id] = _voice.get_text(line_id)
	_alternatives_cache[key] = found
	return found


static func _list(value: Variant) -> Array:
	return value if value is Array else []


func _pace_label(line: RefCounted) -> void:
	var label := get_node_or_null(dialogue_label) if not dialogue_label.is_empty() else null
	if label == null or not &"seconds_per_step" in label:
		return
	var characters := visible_length(str(line.get(&"text")))
	var seconds := _voice.get_duration(_line_id, _voice.get_playing_locale(_line_id))
	if characters > 0 and seconds > 0.0:
		_set_label_step(label, seconds / characters)


func _set_label_step(label: Object, seconds: float) -> void:
	if _paced_label != label:
		_restore_label()
		_paced_label = label
		_label_step = float(label.get(&"seconds_per_step"))
	label.set(&"seconds_per_step", seconds)


func _restore_label() -> void:
	if _paced_label != null and is_instance_valid(_paced_label):
		_paced_label.set(&"seconds_per_step", _label_step)
	_paced_label = null


func _on_word_started(line_id: String, index: int, _word: String) -> void:
	if line_id != _line_id or dialogue_label.is_empty():
		return
	var label := get_node_or_null(dialogue_label)
	var timings := _voice.get_timings(line_id, _voice.get_playing_locale(line_id))
	if label == null or timings == null or not &"seconds_per_step" in label:
		return
	var word: Array = timings.words[index]
	var span := maxi(1, int(word[3]) - int(word[2]))
	_set_label_step(label, maxf(0.0, float(word[1]) - float(word[0])) / span)


func _stop_current() -> void:
	_restore_label()
	var line_id := _line_id
	var others := _concurrent_ids
	_line_id = ""  # first: the stop's signals find nothing of this node's to act on
	_concurrent_ids = PackedStringArray()
	if _voice == null or not is_instance_valid(_voice):
		return
	if not line_id.is_empty():
		_voice.stop(line_id)
	for other_id in others:
		_voice.stop(other_id)


func _on_line_finished(line_id: String) -> void:
	if line_id.is_empty() or line_id != _line_id:
		return
	_line_id = ""
	_restore_label()
	voice_finished.emit(_line)


func _on_line_stopped(line_id: String) -> void:
	if not line_id.is_empty() and line_id == _line_id:
		_restore_label()


func _exit_tree() -> void:
	_stop_current()  # the balloon went away: its voice goes with it


func _on_manifest_reloaded(_revision: int, _changed_ids: PackedStringArray) -> void:
	_alternatives_cache.clear()


func _on_dialogue_ended(_resource: Resource) -> void:
	if stop_when_dialogue_ends and _voice != null:
		_stop_current()
