extends Control
## The lighthouse demo: plays the start of the scene one line at a time, shows who speaks and
## what they say, and moves on when the voice ends (at once on a click, Space or Enter).
##
## Everything voice-related goes through the [code]CharVoice[/code] autoload: the text and the
## speaker come from the manifest, [signal CharVoice.line_finished] advances the dialogue and
## the last line plays from a [VoiceLinePlayer] placed in the scene. Run [code]charvoice
## build[/code] (or [code]charvoice watch[/code]) while the game runs: an edited line plays its
## new audio the next time it comes up. Each line is printed as it comes up; started with
## [code]-- --quit-at-end[/code] the game quits when the last line has ended (for CI).

## The conversation, by line id (the ids come from dialogue/lighthouse.csv).
const CONVERSATION: Array[String] = [
	"lighthouse.intro",
	"lighthouse.knock",
	"lighthouse.mara_answer",
	"lighthouse.wren_parcel",
	"lighthouse.mara_name",
	"lighthouse.tobin_enters",
	"lighthouse.mara_lamp",
	"lighthouse.tobin_ladder",
]
## Pause between two lines, in seconds.
const PAUSE_SECONDS := 0.4
## Reading time per character for a line that has no audio yet, in seconds.
const READING_SECONDS_PER_CHARACTER := 0.05
## Command-line user argument that makes the game quit after its last line.
const QUIT_AT_END := "--quit-at-end"

var _index: int = -1
var _current_id: String = ""
var _voiced: bool = false

@onready var _speaker: Label = %Speaker
@onready var _line: Label = %Line
@onready var _status: Label = %Status
@onready var _ending: VoiceLinePlayer = %Ending


func _ready() -> void:
	CharVoice.line_finished.connect(_on_line_finished)
	CharVoice.manifest_reloaded.connect(_on_manifest_reloaded)
	CharVoice.preload_lines(PackedStringArray(CONVERSATION))
	_status.text = "Locale %s. Click, Space or Enter skips a line." % CharVoice.get_locale()
	_next_line()


# A click reaches this full-screen Control through the GUI (its children ignore the mouse):
# Controls consume mouse buttons before _unhandled_input would see them.
func _gui_input(event: InputEvent) -> void:
	var mouse := event as InputEventMouseButton
	if mouse != null and mouse.pressed and mouse.button_index == MOUSE_BUTTON_LEFT:
		accept_event()
		_skip()


func _unhandled_input(event: InputEvent) -> void:
	if event.is_action_pressed("ui_accept"):
		get_viewport().set_input_as_handled()
		_skip()


func _skip() -> void:
	if _index < CONVERSATION.size():
		CharVoice.stop()
		_next_line()


func _next_line() -> void:
	_index += 1
	if _index >= CONVERSATION.size():
		_play_ending()
		return
	_current_id = CONVERSATION[_index]
	_show(_current_id)
	_voiced = CharVoice.play(_current_id) != null


func _show(line_id: String) -> void:
	_speaker.text = CharVoice.get_character_name(line_id)
	var text := CharVoice.get_text(line_id)
	if text.is_empty():
		text = "(%s has no voice yet: run `charvoice build`)" % line_id
	_line.text = text
	print("%s: %s" % [_speaker.text, text])


func _play_ending() -> void:
	_current_id = ""
	_show(_ending.line_id)
	_ending.play_line()
	_status.text = "The end. Edit dialogue/lighthouse.csv, run charvoice build, and play again."


func _on_line_finished(line_id: String) -> void:
	if _index >= CONVERSATION.size() and line_id == _ending.line_id:
		_on_ending_finished()
		return
	if line_id != _current_id:
		return
	var index := _index
	var wait := PAUSE_SECONDS
	if not _voiced:
		wait += _line.text.length() * READING_SECONDS_PER_CHARACTER
	await get_tree().create_timer(wait).timeout
	if index == _index:  # not skipped meanwhile
		_next_line()


func _on_ending_finished() -> void:
	print("The end.")
	if OS.get_cmdline_user_args().has(QUIT_AT_END):
		get_tree().quit(0)


func _on_manifest_reloaded(revision: int, changed_ids: PackedStringArray) -> void:
	_status.text = "Voice updated (revision %d): %s" % [revision, ", ".join(changed_ids)]
	if changed_ids.has(_current_id):
		_show(_current_id)
