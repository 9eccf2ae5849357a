@icon("../icons/yarn_spinner_voice.svg")
class_name YarnSpinnerVoice
extends Node
## Voices Yarn Spinner for Godot as a line presenter, the way Yarn Spinner's voice-over
## presenter works in Unity: it plays the line's audio, waits for it (or is interrupted and
## fades out), then lets dialogue continue, and stops when the dialogue completes.
##
## [b]As a presenter (Yarn Spinner for Godot 0.3+).[/b] Add this node to the DialogueRunner's
## presenters beside your text presenter. The runner calls [method run_line_async] with each
## line as a Dictionary ([code]text_id[/code] such as [code]line:intro_greet[/code],
## [code]metadata[/code] with the line's tags) and waits for every presenter, so dialogue moves
## on when both the voice and your text presenter are done. The end of the dialogue
## ([method on_dialogue_complete_async], also after [code]DialogueRunner.Stop()[/code]) stops
## the voice. A shadow line ([code]#shadow:intro_greet[/code]) plays the audio of the line it
## shadows.
## [br][b]Skipping a voiced line.[/b] The 0.3 runner gives GDScript presenters only
## [code]on_dialogue_start_async[/code], [code]run_line_async[/code],
## [code]run_options_async[/code] and [code]on_dialogue_complete_async[/code]: its "continue"
## and hurry-up cancel C# tokens a GDScript presenter never sees. So tell this node yourself:
## call [method advance] where your continue button calls the runner, or set
## [member advance_action] to the input action that continues.
## [br][b]From your own presenter[/b], await it:
## [codeblock]
## @onready var voice: YarnSpinnerVoice = $YarnSpinnerVoice
##
## func run_line_async(line: Dictionary) -> void:
##     line_label.text = line["text"]["text"]
##     await voice.run_line_async(line)  # returns when the voice ended, was cut, or has none
## [/codeblock]
## [b]Yarn Spinner for Godot 0.2[/b] ([code]GDScriptPresenterAdapter[/code]): the adapter's
## calls are answered ([code]run_line(line, on_finished)[/code],
## [code]interrupt_line(line, on_finished)[/code], [code]dismiss_line(on_finished)[/code],
## [code]user_requested_view_advancement()[/code], [code]dialogue_complete()[/code]), so
## dialogue never hangs, but its line Dictionary has no line id, so nothing can be voiced
## through it: update Yarn Spinner for Godot.

## Emitted when the voice of [param text_id] played to its end.
signal voice_finished(text_id: String)
## Emitted when the voice of [param text_id] ended for any reason (played, cut, or none):
## the moment a presenter may let dialogue continue.
signal voice_ended(text_id: String)

## Node path of the autoload the CharVoice plugin registers.
const CHARVOICE_PATH := ^"/root/CharVoice"
## The prefix Yarn Spinner puts before line ids.
const LINE_PREFIX := "line:"
## The metadata prefix of a shadow line: the rest is the id of the line it shadows.
const SHADOW_PREFIX := "shadow:"
const Runtime := preload("../runtime/charvoice.gd")

## Cut the previous line's voice when the next line starts.
@export var stop_previous_line: bool = true
## Seconds the voice fades out over when the line is interrupted.
@export var interrupt_fade_s: float = 0.2
## Seconds to wait after the voice before dialogue continues.
@export var wait_after_line_s: float = 0.0
## An input action (for example [code]ui_accept[/code]) that cuts the playing voice, as
## [method advance] does; the event is left for your text presenter. Empty: call
## [method advance] yourself.
@export var advance_action: StringName = &""

var _text_id: String = ""
var _line_id: String = ""
var _voice: Runtime
var _warned_no_id: bool = false
var _interrupted_text_id: String = ""  # the 0.2 adapter's interrupt_line answered for this line


func _ready() -> void:
	if not advance_action.is_empty() and not InputMap.has_action(advance_action):
		push_warning('YarnSpinnerVoice: there is no input action "%s"' % advance_action)
		advance_action = &""
	set_process_input(not advance_action.is_empty())
	_voice = get_node_or_null(CHARVOICE_PATH) as Runtime
	if _voice == null:
		push_warning("YarnSpinnerVoice: no CharVoice autoload; enable the CharVoice plugin")
		return
	_voice.line_finished.connect(_on_line_ended.bind(true))
	_voice.line_stopped.connect(_on_line_ended.bind(false))


## Presents a Yarn Spinner line Dictionary: plays its voice and returns (use [code]await[/code])
## once the voice is over, was interrupted, or at once when it has none.
func run_line_async(line: Dictionary) -> void:
	var player := play_line(line)
	if player != null:
		await wait_for_voice()
	if wait_after_line_s > 0.0 and is_inside_tree():
		await get_tree().create_timer(wait_after_line_s).timeout


## The Yarn Spinner for Godot 0.2 adapter's entry point: [method run_line_async], then
## [param on_finished] (not when [method interrupt_line] already answered for the line).
func run_line(line: Dictionary, on_finished: Callable = Callable()) -> void:
	_interrupted_text_id = ""
	await run_line_async(line)
	var interrupted := not _text_id.is_empty() and _interrupted_text_id == _text_id
	if on_finished.is_valid() and not interrupted:
		on_finished.call()


## The player asked to continue: the voice fades out ([member interrupt_fade_s]) and
## [method run_line_async] returns. Call it where your continue button calls the runner.
func advance() -> void:
	if _voice != null and is_instance_valid(_voice) and not _line_id.is_empty():
		_voice.stop(_line_id, interrupt_fade_s)


## Yarn Spinner for Godot 0.2's adapter, when the player asks to continue: [method advance].
func user_requested_view_advancement() -> void:
	advance()


## Yarn Spinner for Godot 0.3: dialogue starts; nothing to prepare.
func on_dialogue_start_async() -> void:
	pass


## Yarn Spinner for Godot 0.3: the dialogue is over (or was stopped): the voice stops.
func on_dialogue_complete_async() -> void:
	dialogue_complete()


## Yarn Spinner for Godot 0.2's adapter: the line is being interrupted. Cuts the voice and
## tells the runner through [param on_finished], which it waits for.
func interrupt_line(_line: Variant = null, on_finished: Callable = Callable()) -> void:
	_interrupted_text_id = _text_id
	advance()
	if on_finished.is_valid():
		on_finished.call()


## Yarn Spinner for Godot 0.2's adapter: the line is dismissed; nothing to take down.
func dismiss_line(on_finished: Callable = Callable()) -> void:
	if on_finished.is_valid():
		on_finished.call()


## Plays the voice of a Yarn Spinner line Dictionary and returns the player, or null when it
## has no voice.
func play_line(line: Dictionary) -> AudioStreamPlayer:
	var text_id: Variant = line.get("text_id", line.get("TextID", ""))
	var metadata: Variant = line.get("metadata", line.get("Metadata", []))
	if not text_id is String or (text_id as String).is_empty():
		if not _warned_no_id:
			_warned_no_id = true
			push_warning(
				"YarnSpinnerVoice: the line has no text_id (Yarn Spinner for Godot 0.2's adapter"
				+ " does not pass it); update Yarn Spinner for Godot to voice lines"
			)
		return null
	return play_text_id(
		text_id if text_id is String else "",
		PackedStringArray(metadata) if metadata is Array or metadata is PackedStringArray else []
	)


## Plays the voice of Yarn line id [param text_id] ([code]line:...[/code]), or of the line it
## shadows when [param metadata] has a [code]shadow:[/code] tag. Returns the player, or null
## when it has no voice (one warning names the id).
func play_text_id(
	text_id: String, metadata: PackedStringArray = PackedStringArray()
) -> AudioStreamPlayer:
	if _voice == null:
		return null
	if stop_previous_line and not _line_id.is_empty():
		_voice.stop(_line_id)
	_text_id = text_id
	_line_id = resolve_line_id(voiced_text_id(text_id, metadata))
	var player := _voice.play(_line_id)
	if player == null:
		_line_id = ""
	return player


## Stops the voice when the dialogue is over (the 0.2 adapter's name for it).
func dialogue_complete() -> void:
	advance()


func _input(event: InputEvent) -> void:
	if not _line_id.is_empty() and event.is_action_pressed(advance_action):
		advance()  # not marked handled: the text presenter continues on the same press


func _exit_tree() -> void:
	# A presenter that leaves takes its voice with it, quietly: nothing is emitted from a node
	# that may be on its way to being freed.
	if _voice != null and is_instance_valid(_voice) and not _line_id.is_empty():
		var line_id := _line_id
		_line_id = ""
		_voice.stop(line_id, interrupt_fade_s)


## The Yarn line id whose audio [param text_id] plays: the id after [code]shadow:[/code] in
## [param metadata] for a shadow line, else [param text_id].
static func voiced_text_id(text_id: String, metadata: PackedStringArray) -> String:
	for tag in metadata:
		if tag.begins_with(SHADOW_PREFIX):
			var source := tag.substr(SHADOW_PREFIX.length()).strip_edges()
			return source if source.begins_with(LINE_PREFIX) else LINE_PREFIX + source
	return text_id


## The charvoice id for Yarn line id [param text_id]: [param text_id] itself when the manifest
## has it, else [param text_id] without its [code]line:[/code] prefix.
func resolve_line_id(text_id: String) -> String:
	if _voice != null and _voice.has_line(text_id):
		return text_id
	return text_id.trim_prefix(LINE_PREFIX)


## Waits until the voice started by [method play_line] is over: played, stopped, interrupted,
## or ended by CharVoice's fallback timer. Returns at once when none plays. Use it with
## [code]await[/code].
func wait_for_voice() -> void:
	if _voice == null or _line_id.is_empty() or not _voice.is_playing(_line_id):
		_line_id = ""
		return
	var waited := _text_id
	while _text_id == waited and not _line_id.is_empty():
		await voice_ended


func _on_line_ended(line_id: String, finished: bool) -> void:
	if line_id.is_empty() or line_id != _line_id:
		return
	_line_id = ""
	if finished:
		voice_finished.emit(_text_id)
	voice_ended.emit(_text_id)
