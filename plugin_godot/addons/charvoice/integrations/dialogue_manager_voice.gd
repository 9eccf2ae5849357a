class_name DialogueManagerVoice
extends Node
## Voices Godot Dialogue Manager: plays each line's static id when Dialogue Manager emits
## [code]got_dialogue[/code], and tells your balloon when the voice is over.
##
## Give your lines ids with [code][ID:...][/code] tags ([code]charvoice tag[/code] writes
## them); Dialogue Manager exposes the id as [code]DialogueLine.translation_key[/code], which
## is the line id charvoice uses. Add this node to your balloon scene, then advance when the
## voice ends:
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

## Connect to [code]DialogueManager.got_dialogue[/code] on ready. Turn off to call
## [method play_dialogue_line] yourself (for example from your balloon's line setter).
@export var follow_dialogue_manager: bool = true
## Cut the previous line's voice when the next line arrives (the player skipped ahead).
@export var stop_previous_line: bool = true
## Stop the voice when [code]DialogueManager.dialogue_ended[/code] is emitted.
@export var stop_when_dialogue_ends: bool = true

var _line: RefCounted
var _line_id: String = ""


func _ready() -> void:
	var voice := get_node_or_null(CHARVOICE_PATH)
	if voice == null:
		push_warning("DialogueManagerVoice: no CharVoice autoload; enable the CharVoice plugin")
		return
	voice.connect(&"line_finished", _on_line_finished)
	if not follow_dialogue_manager:
		return
	var manager := get_node_or_null(DIALOGUE_MANAGER_PATH)
	if manager == null:
		push_warning("DialogueManagerVoice: no DialogueManager autoload (is the addon enabled?)")
		return
	manager.connect(&"got_dialogue", play_dialogue_line)
	manager.connect(&"dialogue_ended", _on_dialogue_ended)


## Plays the voice of Dialogue Manager [param line] (a DialogueLine) and returns the player,
## or null when the line has no voice (one warning names the id).
func play_dialogue_line(line: RefCounted) -> AudioStreamPlayer:
	var voice := get_node_or_null(CHARVOICE_PATH)
	if voice == null or line == null:
		return null
	if stop_previous_line and not _line_id.is_empty():
		voice.call(&"stop", _line_id)
	_line = line
	_line_id = line_id_of(line)
	var player: AudioStreamPlayer = voice.call(&"play", _line_id)
	if player == null:
		_line_id = ""  # no voice: the balloon waits for input as usual
		return null
	voice_started.emit(line)
	return player


## The charvoice line id of Dialogue Manager [param line]: its [code]translation_key[/code]
## (the [code][ID:...][/code] tag), or "" when it has none.
static func line_id_of(line: Object) -> String:
	var key: Variant = line.get(&"translation_key") if line != null else null
	return key if key is String else ""


func _on_line_finished(line_id: String) -> void:
	if line_id.is_empty() or line_id != _line_id:
		return
	_line_id = ""
	voice_finished.emit(_line)


func _on_dialogue_ended(_resource: Resource) -> void:
	if stop_when_dialogue_ends and not _line_id.is_empty():
		var voice := get_node_or_null(CHARVOICE_PATH)
		if voice != null:
			voice.call(&"stop", _line_id)
		_line_id = ""
