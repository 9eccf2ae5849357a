class_name CharVoiceTimings
extends RefCounted
## The word timings and mouth shapes of one voiced line: the [code]*.timings.json[/code] file
## that [code]charvoice build[/code] writes beside the line's audio.
##
## Times are seconds on the published audio's timeline. Each word carries the span of the
## manifest text it covers ([member words]: start, end, first character, character after the
## last, the word), so a subtitle can reveal exactly the characters spoken so far. The mouth
## track uses Rhubarb Lip Sync's shapes: [code]A[/code]-[code]H[/code] and [code]X[/code]
## (rest); each shape holds until the next. The static functions [method reveal_count] and
## [method mouth_at] mirror [code]charvoice/godot/timings.py[/code]; both run the same table of
## cases ([code]game/test/data/timings_cases.json[/code]).
## [codeblock]
## var timings := CharVoice.get_timings("intro.greet")
## if timings != null:
##     label.visible_characters = timings.characters_at(position)
##     mouth.frame = CharVoiceTimings.SHAPES.find(timings.shape_at(position))
## [/codeblock]

## The value of the file's [code]format[/code] key.
const FORMAT := "charvoice-timings"
## The layout version this reader understands.
const VERSION := 1
## The mouth shapes, in Rhubarb's order; a sprite sheet or blend shapes follow this order.
const SHAPES: Array[String] = ["X", "A", "B", "C", "D", "E", "F", "G", "H"]
## The shape before the first entry of the track and after a line ends: mouth closed.
const REST_SHAPE := "X"

## Where the timings came from: [code]engine[/code] (the voice reported them),
## [code]asr[/code] (speech recognition on the audio) or [code]estimate[/code].
var source: String = ""
## The audio's length in seconds.
var duration_s: float = 0.0
## Each word: [code][start_s, end_s, char_from, char_to, word][/code], in spoken order.
var words: Array = []
## Each shape change: [code][time_s, shape][/code], in time order.
var mouth: Array = []
## Why the file could not be used, or "" when it parsed.
var error: String = ""


## Reads timings JSON [param text] (from [param path], named in messages). Returns false, with
## [member error] set, when it is not a usable charvoice timings file; malformed entries are
## dropped rather than failing the whole line.
func parse(text: String, path: String = "") -> bool:
	var json := JSON.new()
	if json.parse(text) != OK:
		error = (
			"%s is not valid JSON (line %d: %s)"
			% [path, json.get_error_line(), json.get_error_message()]
		)
		return false
	var root: Variant = json.data
	if not root is Dictionary or (root as Dictionary).get("format") != FORMAT:
		error = "%s is not a charvoice timings file" % path
		return false
	var data: Dictionary = root
	var version: Variant = data.get("version")
	if not _numbers([version]) or int(version) != VERSION:
		error = "%s has timings version %s; this addon reads version %d" % [path, version, VERSION]
		return false
	source = str(data.get("source", ""))
	var seconds: Variant = data.get("duration_s")
	duration_s = float(seconds) if seconds is float or seconds is int else 0.0
	words = clean_words(data.get("words"))
	mouth = clean_mouth(data.get("mouth"))
	error = ""
	return true


## How many characters of the line's text are spoken at [param time_s] (for
## [member Label.visible_characters]): the end of the last word that has started; 0 before the
## first.
func characters_at(time_s: float) -> int:
	return reveal_count(words, time_s)


## The index of the word being spoken, or last spoken, at [param time_s]; -1 before the first.
func word_index_at(time_s: float) -> int:
	return started_words(words, time_s) - 1


## The mouth shape at [param time_s] ([constant REST_SHAPE] before the track and after the
## audio ends).
func shape_at(time_s: float) -> String:
	if duration_s > 0.0 and time_s >= duration_s:
		return REST_SHAPE
	return mouth_at(mouth, time_s)


## The usable words of [param value]: entries [code][start, end, from, to, word][/code] with
## numbers in order (start <= end, 0 <= from <= to), sorted by start. Others are dropped.
static func clean_words(value: Variant) -> Array:
	var result: Array = []
	if not value is Array:
		return result
	for entry: Variant in value:
		if not entry is Array or (entry as Array).size() < 5:
			continue
		var item: Array = entry
		if not _numbers(item.slice(0, 4)) or not item[4] is String:
			continue
		var start := float(item[0])
		var end := float(item[1])
		if start < 0.0 or end < start or int(item[2]) < 0 or int(item[3]) < int(item[2]):
			continue
		result.append([start, end, int(item[2]), int(item[3]), item[4]])
	# Equal starts keep text order (sort_custom is not stable).
	result.sort_custom(
		func(a: Array, b: Array) -> bool: return a[0] < b[0] or (a[0] == b[0] and a[2] < b[2])
	)
	return result


## The usable mouth cues of [param value]: entries [code][time, shape][/code] with a known
## shape (one of [constant SHAPES]), sorted by time; among equal times the later cue of the file
## wins. Others are dropped.
static func clean_mouth(value: Variant) -> Array:
	var indexed: Array = []
	if not value is Array:
		return indexed
	var index := 0
	for entry: Variant in value:
		index += 1
		if not entry is Array or (entry as Array).size() < 2:
			continue
		var item: Array = entry
		if not _numbers(item.slice(0, 1)) or not SHAPES.has(item[1]):
			continue
		indexed.append([float(item[0]), index, item[1]])
	indexed.sort_custom(
		func(a: Array, b: Array) -> bool: return a[0] < b[0] or (a[0] == b[0] and a[1] < b[1])
	)
	var result: Array = []
	for cue: Array in indexed:
		result.append([cue[0], cue[2]])
	return result


## How many of [param word_list] (clean, sorted) have started at [param time_s].
static func started_words(word_list: Array, time_s: float) -> int:
	var count := 0
	for word: Array in word_list:
		if word[0] > time_s:
			break
		count += 1
	return count


## The characters revealed at [param time_s]: the largest end offset of the words started so
## far (0 before the first word).
static func reveal_count(word_list: Array, time_s: float) -> int:
	var shown := 0
	for word: Array in word_list:
		if word[0] > time_s:
			break
		shown = maxi(shown, word[3])
	return shown


## The shape of the last cue of [param cues] (clean, sorted) at or before [param time_s], or
## [constant REST_SHAPE] before the first cue.
static func mouth_at(cues: Array, time_s: float) -> String:
	var shape := REST_SHAPE
	for cue: Array in cues:
		if cue[0] > time_s:
			break
		shape = cue[1]
	return shape


static func _numbers(values: Array) -> bool:
	for value: Variant in values:
		if not (value is float or value is int):
			return false
	return true
