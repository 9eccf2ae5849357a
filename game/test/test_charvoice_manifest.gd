extends GutTest
## The manifest reader: the shared table of cases (the Python reference in charvoice/godot.py is
## tested on the same file) and a fixture manifest that follows charvoice/manifest.schema.json.

const Manifest := preload("res://addons/charvoice/runtime/charvoice_manifest.gd")
const CASES_PATH := "res://test/data/manifest_rules_cases.json"
const FIXTURE_PATH := "res://test/data/fixture_manifest.json"

var _cases: Dictionary = {}


func before_all() -> void:
	_cases = read_json(CASES_PATH)


## The JSON at [param path], parsed with a JSON instance: JSON.parse_string() logs an engine
## error on bad input, which GUT 9.5+ counts as a failure, and cannot say where the error is.
static func read_json(path: String) -> Variant:
	var json := JSON.new()
	var error := json.parse(FileAccess.get_file_as_string(path))
	assert(error == OK, "%s line %d: %s" % [path, json.get_error_line(), json.get_error_message()])
	return json.data


func test_resolve_locale_follows_the_shared_table() -> void:
	for entry: Dictionary in _cases["resolve_locale"]:
		var available := PackedStringArray(entry["available"])
		var result := Manifest.resolve_locale(entry["requested"], available, entry["default"])
		assert_eq(result, entry["expected"], JSON.stringify(entry))


func test_pick_line_locale_follows_the_shared_table() -> void:
	for entry: Dictionary in _cases["pick_line_locale"]:
		var audio := PackedStringArray(entry["audio"])
		var result := Manifest.pick_line_locale(
			entry["requested"], audio, entry["borrowed"], entry["default"]
		)
		assert_eq(result, entry["expected"], JSON.stringify(entry))


func test_resolve_path_follows_the_shared_table() -> void:
	for entry: Dictionary in _cases["resolve_path"]:
		var result := Manifest.resolve_path(entry["manifest"], entry["path"])
		assert_eq(result, entry["expected"], JSON.stringify(entry))


func test_fixture_loads_with_its_lines_and_characters() -> void:
	var manifest := Manifest.new()
	assert_true(manifest.load_file(FIXTURE_PATH), manifest.error)
	assert_eq(manifest.revision, 7)
	assert_eq(manifest.changed, PackedStringArray(["greet"]))
	assert_true(manifest.has_line("greet"))
	assert_false(manifest.has_line("nope"))
	assert_eq(manifest.get_character_name(manifest.get_character("greet")), "Aria")
	assert_eq(manifest.get_text("greet", "fr_CA"), "Allô.")
	assert_almost_eq(manifest.get_duration("greet", "fr"), 1.5, 0.001)


func test_line_locale_falls_back_to_parent_then_default() -> void:
	var manifest := Manifest.new()
	manifest.load_file(FIXTURE_PATH)
	assert_eq(manifest.resolve_line_locale("greet", "fr_CA"), "fr_CA")
	assert_eq(manifest.resolve_line_locale("greet", "fr_BE"), "fr")
	assert_eq(manifest.resolve_line_locale("greet", "de_DE"), "en")
	assert_eq(manifest.resolve_line_locale("only_en", "fr_CA"), "en")
	assert_eq(manifest.resolve_line_locale("nope", "en"), "")


func test_audio_paths_are_relative_to_the_manifest() -> void:
	var manifest := Manifest.new()
	manifest.load_file(FIXTURE_PATH)
	assert_eq(
		manifest.get_audio_path("greet", "en"), "res://test/data/fixture_audio/en/aria/greet.ogg"
	)


func test_read_revision_reads_the_top_of_the_file() -> void:
	assert_eq(Manifest.read_revision(FIXTURE_PATH), 7)
	assert_eq(Manifest.read_revision("res://test/data/missing.json"), -1)


func test_unusable_manifests_say_why() -> void:
	var manifest := Manifest.new()
	assert_false(manifest.load_file("res://test/data/missing.json"))
	assert_string_contains(manifest.error, "no manifest")
	assert_false(manifest.parse('{"format": "other"}', "res://x.json"))
	assert_string_contains(manifest.error, "not a charvoice manifest")
	var future := JSON.stringify({"format": "charvoice-manifest", "version": 2})
	assert_false(manifest.parse(future, "res://x.json"))
	assert_string_contains(manifest.error, "version 2")
	assert_false(manifest.parse("not json", "res://x.json"))
	assert_false(manifest.has_line("greet"))


func test_changed_since_compares_keys() -> void:
	var before := Manifest.new()
	before.load_file(FIXTURE_PATH)
	var data: Dictionary = read_json(FIXTURE_PATH)
	data["changed"] = []
	data["lines"]["only_en"]["audio"]["en"]["key"] = "5".repeat(64)
	var after := Manifest.new()
	assert_true(after.parse(JSON.stringify(data), FIXTURE_PATH), after.error)
	assert_eq(after.changed_since(before), PackedStringArray(["only_en"]))
	(data["lines"] as Dictionary).erase("greet")
	var removed := Manifest.new()
	removed.parse(JSON.stringify(data), FIXTURE_PATH)
	assert_true(removed.changed_since(before).has("greet"))
