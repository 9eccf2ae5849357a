@icon("../icons/voice_subtitle.svg")
class_name VoiceSubtitle
extends Node
## Shows each voiced line's text in a [Label] or [RichTextLabel] and reveals it in step with the
## voice: word by word from the line's timings, or evenly over the line's length when it has
## none. No code needed: add it, point [member label] at the label, and play lines.
##
## It follows the lines of [member character] (every line when empty). When a line ends, or is
## cut, the whole text stays shown for [member linger_s] seconds, then the label is cleared
## (when [member clear_after] is on).

## Node path of the autoload the CharVoice plugin registers.
const CHARVOICE_PATH := ^"/root/CharVoice"
const Runtime := preload("charvoice.gd")

## The [Label] or [RichTextLabel] to fill.
@export var label: NodePath
## Only lines of this character id (as in the manifest); empty follows every line.
@export var character: String = ""
## Reveal the text as it is spoken (off: show it whole at once).
@export var reveal: bool = true
## Clear the label after a line ended.
@export var clear_after: bool = true
## Seconds the whole text stays after the line ended.
@export var linger_s: float = 1.5

var _voice: Runtime
var _line_id: String = ""
var _timings: CharVoiceTimings
var _length: int = 0
var _duration: float = 0.0
var _ended_serial: int = 0


func _ready() -> void:
	set_process(false)
	_voice = get_node_or_null(CHARVOICE_PATH) as Runtime
	if _voice == null:
		push_warning("VoiceSubtitle: no CharVoice autoload; enable the CharVoice plugin")
		return
	_voice.line_started.connect(_on_line_started)
	_voice.line_finished.connect(_on_line_ended)
	_voice.line_stopped.connect(_on_line_ended)


func _process(_delta: float) -> void:
	var target := get_node_or_null(label)
	if target == null or _line_id.is_empty():
		set_process(false)
		return
	var position := _voice.get_playback_position(_line_id)
	if position < 0.0:
		return
	var shown := _length
	if _timings != null:
		shown = _timings.characters_at(position)
	elif _duration > 0.0:
		shown = int(_length * clampf(position / _duration, 0.0, 1.0))
	target.set(&"visible_characters", shown)


func _on_line_started(line_id: String) -> void:
	if not character.is_empty() and _voice.manifest.get_character(line_id) != character:
		return
	var target := get_node_or_null(label)
	if target == null:
		return
	_line_id = line_id
	# The locale the line plays in (a fallback may differ from the game's): text matches voice.
	var locale := _voice.get_playing_locale(line_id)
	var text := _voice.get_text(line_id, locale)
	_length = text.length()
	_timings = _voice.get_timings(line_id, locale)
	_duration = _voice.get_duration(line_id, locale)
	target.set(&"text", text)
	target.set(&"visible_characters", 0 if reveal else -1)
	set_process(reveal)


func _on_line_ended(line_id: String) -> void:
	if line_id != _line_id:
		return
	_line_id = ""
	set_process(false)
	var target := get_node_or_null(label)
	if target == null:
		return
	target.set(&"visible_characters", -1)
	if clear_after and is_inside_tree():
		_ended_serial += 1
		var serial := _ended_serial
		await get_tree().create_timer(linger_s).timeout
		if serial == _ended_serial and _line_id.is_empty() and is_instance_valid(target):
			target.set(&"text", "")
