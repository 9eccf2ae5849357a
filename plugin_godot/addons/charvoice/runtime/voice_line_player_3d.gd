class_name VoiceLinePlayer3D
extends AudioStreamPlayer3D
## An [AudioStreamPlayer3D] that plays one charvoice line by id: a voice placed in a 3D
## scene, panned and attenuated by distance.
##
## Set [member line_id] in the inspector and call [method play_line] (or tick
## [member autoplay_line]). The audio follows the game's locale with CharVoice's fallback
## (fr_CA, then fr, then the manifest's default locale). The inherited [signal finished] tells
## when the line ended; the [code]CharVoice[/code] autoload also emits
## [code]line_started[/code] and [code]line_finished[/code] with the id. Needs the CharVoice
## plugin enabled (it registers the autoload).

const Common := preload("voice_line_player_common.gd")

## The line to play, as written in the dialogue scripts (e.g. [code]lighthouse.intro[/code]).
@export var line_id: String = ""
## Locale to play; empty follows the game's locale ([method TranslationServer.get_locale]).
@export var locale: String = ""
## Plays [member line_id] when the node is ready.
@export var autoplay_line: bool = false


func _ready() -> void:
	if autoplay_line:
		play_line()


## Plays [param id], or [member line_id] when [param id] is empty. Returns false, with one
## warning, when the line cannot be played.
func play_line(id: String = "") -> bool:
	return Common.play(self, id if not id.is_empty() else line_id, locale)
