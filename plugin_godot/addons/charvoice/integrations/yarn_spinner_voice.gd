class_name YarnSpinnerVoice
extends Node
## Voices Yarn Spinner for Godot: plays a line by its Yarn line id ([code]#line:...[/code]).
##
## Yarn Spinner for Godot runs dialogue in C#; a GDScript line presenter receives each line as
## a Dictionary (through Yarn Spinner's GDScriptViewAdapter) whose [code]text_id[/code] is
## the line id, such as [code]line:intro_greet[/code]. charvoice ids cannot hold a colon, so
## the [code]line:[/code] prefix is dropped when the manifest has the id without it.
## [codeblock]
## @onready var voice: YarnSpinnerVoice = $YarnSpinnerVoice
##
## func run_line_async(line: Dictionary) -> void:
##     line_label.text = line["text"]["text"]
##     voice.play_line(line)
##     await voice.wait_for_voice()   # or await continue_button.pressed
## [/codeblock]
## From a C# presenter, call the autoload directly, for example
## [code]GetNode("/root/CharVoice").Call("play", line.TextID.Replace("line:", ""))[/code]
## (see the addon's README).

## Emitted when the voice of [param text_id] played to its end.
signal voice_finished(text_id: String)

## Node path of the autoload the CharVoice plugin registers.
const CHARVOICE_PATH := ^"/root/CharVoice"
## The prefix Yarn Spinner puts before line ids.
const LINE_PREFIX := "line:"

## Cut the previous line's voice when the next line starts.
@export var stop_previous_line: bool = true

var _text_id: String = ""
var _line_id: String = ""


func _ready() -> void:
	var voice := get_node_or_null(CHARVOICE_PATH)
	if voice == null:
		push_warning("YarnSpinnerVoice: no CharVoice autoload; enable the CharVoice plugin")
		return
	voice.connect(&"line_finished", _on_line_finished)


## Plays the voice of a Yarn Spinner line Dictionary (its [code]text_id[/code]) and returns
## the player, or null when it has no voice.
func play_line(line: Dictionary) -> AudioStreamPlayer:
	var text_id: Variant = line.get("text_id", line.get("TextID", ""))
	return play_text_id(text_id if text_id is String else "")


## Plays the voice of Yarn line id [param text_id] ([code]line:...[/code]) and returns the
## player, or null when it has no voice (one warning names the id).
func play_text_id(text_id: String) -> AudioStreamPlayer:
	var voice := get_node_or_null(CHARVOICE_PATH)
	if voice == null:
		return null
	if stop_previous_line and not _line_id.is_empty():
		voice.call(&"stop", _line_id)
	_text_id = text_id
	_line_id = resolve_line_id(text_id)
	var player: AudioStreamPlayer = voice.call(&"play", _line_id)
	if player == null:
		_line_id = ""
	return player


## The charvoice id for Yarn line id [param text_id]: [param text_id] itself when the manifest
## has it, else [param text_id] without its [code]line:[/code] prefix.
func resolve_line_id(text_id: String) -> String:
	var voice := get_node_or_null(CHARVOICE_PATH)
	if voice != null and voice.call(&"has_line", text_id):
		return text_id
	return text_id.trim_prefix(LINE_PREFIX)


## Waits until the voice started by [method play_line] is over (played or stopped); returns
## at once when none plays. Use it with [code]await[/code].
func wait_for_voice() -> void:
	var voice := get_node_or_null(CHARVOICE_PATH)
	while voice != null and not _line_id.is_empty() and voice.call(&"is_playing", _line_id):
		await get_tree().process_frame


func _on_line_finished(line_id: String) -> void:
	if line_id.is_empty() or line_id != _line_id:
		return
	_line_id = ""
	voice_finished.emit(_text_id)
