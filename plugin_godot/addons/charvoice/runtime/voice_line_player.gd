@tool
@icon("../icons/voice_line_player.svg")
class_name VoiceLinePlayer
extends AudioStreamPlayer
## An [AudioStreamPlayer] that plays one charvoice line by id:
## for voice with no position (narration, dialogue UI).
##
## Pick [member line_id] in the inspector (it suggests the manifest's ids; the Scene dock warns
## about an unknown one) and call [method play_line], or tick [member autoplay_line]. The audio
## follows the game's locale with CharVoice's fallback (fr_CA, then fr, then the manifest's
## default locale), and a line playing when the locale changes restarts in the new one. The
## [code]CharVoice[/code] autoload emits [code]line_started[/code], [code]line_finished[/code]
## and [code]line_stopped[/code] with the id (the inherited [signal finished] is not emitted
## when the line is cut). Needs the CharVoice plugin enabled (it registers the autoload).

const Common := preload("voice_line_player_common.gd")

## The line to play, as written in the dialogue scripts (e.g. [code]lighthouse.intro[/code]).
@export var line_id: String = "":
	set(value):
		line_id = value
		update_configuration_warnings()
## Locale to play; empty follows the game's locale ([method TranslationServer.get_locale]).
@export var locale: String = ""
## Plays [member line_id] when the node is ready.
@export var autoplay_line: bool = false
## How the line ranks against other lines (see [code]CharVoice.Priority[/code]): a bark never
## cuts story dialogue.
@export_enum("Bark:0", "Ambient:1", "Dialogue:2", "Critical:3") var priority: int = 2


func _ready() -> void:
	if autoplay_line and not Engine.is_editor_hint():
		play_line()


func _notification(what: int) -> void:
	if what == NOTIFICATION_TRANSLATION_CHANGED:
		Common.follow_locale(self, locale, priority)


func _validate_property(property: Dictionary) -> void:
	Common.suggest_line_ids(property)


func _get_configuration_warnings() -> PackedStringArray:
	return Common.warnings(line_id)


## Plays [param id], or [member line_id] when [param id] is empty. Returns false, with one
## warning, when the line cannot be played (also when this node is not in the scene tree).
func play_line(id: String = "") -> bool:
	return Common.play(self, id if not id.is_empty() else line_id, locale, priority)
