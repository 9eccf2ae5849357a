@icon("../icons/voice_lip_sync.svg")
class_name VoiceLipSync
extends Node
## Moves a character's mouth with its voice, from the mouth-shape track charvoice builds for
## every line (Rhubarb Lip Sync's shapes: A-H and X for rest). No code needed.
##
## Three ways to show a shape, by [member mode]:
## [br]- [b]Sprite frames[/b]: [member target] is an [AnimatedSprite2D] (or [Sprite2D]); its
## [code]frame[/code] becomes [member frames][code][shape][/code] (default: X=0, A=1 ... H=8).
## [br]- [b]Property[/b]: [member target] is a node path with a property, such as
## [code]Face:frame[/code] or [code]Mouth:region_rect[/code]'s owner; the property is set to the
## shape's index (X=0, A=1 ... H=8), or to [member values][code][shape][/code] when given.
## [br]- [b]Blend shapes[/b]: [member target] is a [MeshInstance3D]; the blend shape named in
## [member blend_shapes] for the current shape goes to 1 and the others to 0.
## [br]It follows the lines of [member character] (every line when empty) and rests (X) between
## lines and on lines without timings.

## How the shape is shown.
enum Mode { SPRITE_FRAMES, PROPERTY, BLEND_SHAPES }

## Node path of the autoload the CharVoice plugin registers.
const CHARVOICE_PATH := ^"/root/CharVoice"
const Runtime := preload("charvoice.gd")
const Timings := preload("charvoice_timings.gd")

## The character id (as in the manifest) whose lines move this mouth; empty: every line.
@export var character: String = ""
## How the shape is shown.
@export var mode: Mode = Mode.SPRITE_FRAMES
## The node to drive (Property mode: a path with a property, e.g. [code]Mouth:frame[/code]).
@export var target: NodePath
## Sprite frames: frame per shape, in the order X, A, B, C, D, E, F, G, H.
@export var frames: PackedInt32Array = PackedInt32Array([0, 1, 2, 3, 4, 5, 6, 7, 8])
## Property: value per shape, in the order X, A ... H; empty sets the shape's index.
@export var values: Array = []
## Blend shapes: blend shape name per shape, in the order X, A ... H ("" for none).
@export var blend_shapes: PackedStringArray = PackedStringArray()

var _voice: Runtime
var _line_id: String = ""
var _timings: CharVoiceTimings
var _shown: String = ""


func _ready() -> void:
	set_process(false)
	_voice = get_node_or_null(CHARVOICE_PATH) as Runtime
	if _voice == null:
		push_warning("VoiceLipSync: no CharVoice autoload; enable the CharVoice plugin")
		return
	_voice.line_started.connect(_on_line_started)
	_voice.line_finished.connect(_on_line_ended)
	_voice.line_stopped.connect(_on_line_ended)
	show_shape(Timings.REST_SHAPE)


func _process(_delta: float) -> void:
	if _line_id.is_empty() or _timings == null:
		set_process(false)
		return
	var position := _voice.get_playback_position(_line_id)
	if position >= 0.0:
		show_shape(_timings.shape_at(position))


## Shows mouth shape [param shape] (one of [constant CharVoiceTimings.SHAPES]) on the target.
func show_shape(shape: String) -> void:
	var index := Timings.SHAPES.find(shape)
	if index < 0 or shape == _shown:
		return
	_shown = shape
	match mode:
		Mode.SPRITE_FRAMES:
			var node := get_node_or_null(target)
			if node != null and index < frames.size():
				node.set(&"frame", frames[index])
		Mode.PROPERTY:
			# "Mouth:frame" -> the node "Mouth" and its property "frame" (or "a:b" subpath).
			var text := str(target)
			var colon := text.find(":")
			var node: Node = get_node_or_null(NodePath(text.substr(0, colon))) if colon > 0 else null
			if node != null:
				var value: Variant = values[index] if index < values.size() else index
				node.set_indexed(NodePath(text.substr(colon + 1)), value)
		Mode.BLEND_SHAPES:
			var mesh := get_node_or_null(target) as MeshInstance3D
			if mesh == null:
				return
			for other in blend_shapes.size():
				var blend := mesh.find_blend_shape_by_name(StringName(blend_shapes[other]))
				if blend >= 0:
					mesh.set_blend_shape_value(blend, 1.0 if other == index else 0.0)


func _on_line_started(line_id: String) -> void:
	if not character.is_empty() and _voice.manifest.get_character(line_id) != character:
		return
	_line_id = line_id
	_timings = _voice.get_timings(line_id, _voice.get_playing_locale(line_id))
	show_shape(Timings.REST_SHAPE)
	set_process(_timings != null)


func _on_line_ended(line_id: String) -> void:
	if line_id != _line_id:
		return
	_line_id = ""
	_timings = null
	set_process(false)
	show_shape(Timings.REST_SHAPE)
