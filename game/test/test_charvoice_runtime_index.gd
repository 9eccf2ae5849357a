extends GutTest
## The runtime form of the manifest (voice_manifest.runtime/), read lazily: the same answers as
## the whole manifest, only the chunks asked about in memory, the hash shared with the build.

const Manifest := preload("res://addons/charvoice/runtime/charvoice_manifest.gd")
const RuntimeIndex := preload("res://addons/charvoice/runtime/charvoice_runtime_index.gd")
const FIXTURE_PATH := "res://test/data/fixture_manifest.json"
const CASES_PATH := "res://test/data/runtime_chunk_cases.json"
const WORK := "user://runtime_index_test"


func _json(path: String) -> Variant:
	var json := JSON.new()
	assert_eq(json.parse(FileAccess.get_file_as_string(path)), OK, path)
	return json.data


func _whole() -> Manifest:
	var whole := Manifest.new()
	assert_true(whole.parse(FileAccess.get_file_as_string(FIXTURE_PATH), FIXTURE_PATH), whole.error)
	return whole


func test_chunk_of_follows_the_shared_table() -> void:
	for case: Dictionary in _json(CASES_PATH)["cases"]:
		assert_eq(
			RuntimeIndex.chunk_of(case["id"], int(case["count"])), int(case["chunk"]), str(case)
		)


func test_the_fixture_loads_lazily_and_reads_nothing_before_a_question() -> void:
	var lazy := Manifest.new()
	assert_true(lazy.load_file(FIXTURE_PATH), lazy.error)
	assert_true(lazy.lazy)
	assert_eq(lazy.loaded_chunks(), 0)
	assert_eq(lazy.revision, 7)
	assert_true(lazy.has_line("greet"))
	assert_eq(lazy.loaded_chunks(), 1, "only the default locale's chunk of that line")


func test_lazy_answers_are_the_whole_manifests() -> void:
	var lazy := Manifest.new()
	lazy.load_file(FIXTURE_PATH)
	var whole := _whole()
	assert_false(whole.lazy)
	for line_id in ["greet", "only_en", "nope"]:
		assert_eq(lazy.has_line(line_id), whole.has_line(line_id), line_id)
		assert_eq(lazy.get_character(line_id), whole.get_character(line_id), line_id)
		var locales := lazy.get_locales(line_id)
		locales.sort()
		var expected := whole.get_locales(line_id)
		expected.sort()
		assert_eq(locales, expected, line_id)
		for requested in ["en", "fr", "fr_CA", "fr-ca.UTF-8", "fr_BE", "de", ""]:
			var locale := lazy.resolve_line_locale(line_id, requested)
			assert_eq(locale, whole.resolve_line_locale(line_id, requested), line_id + requested)
			assert_eq(lazy.get_audio_path(line_id, locale), whole.get_audio_path(line_id, locale))
			assert_eq(lazy.get_text(line_id, locale), whole.get_text(line_id, locale))
			assert_eq(lazy.get_duration(line_id, locale), whole.get_duration(line_id, locale))
			assert_eq(lazy.get_asset_key(line_id, locale), whole.get_asset_key(line_id, locale))
			assert_eq(
				lazy.get_timings_path(line_id, locale), whole.get_timings_path(line_id, locale)
			)
	assert_eq(lazy.get_character_name("aria"), "Aria")
	var ids := lazy.get_line_ids()
	ids.sort()
	assert_eq(ids, PackedStringArray(["greet", "only_en"]))


## Copies the fixture's runtime form to user://, with [param edit] applied to its index and
## [param edit_history] to its history.
func _copy_runtime(edit: Callable, edit_history: Callable = Callable()) -> String:
	var source := RuntimeIndex.folder_of(FIXTURE_PATH)
	var target := WORK.path_join("fixture_manifest.runtime")
	for locale: String in DirAccess.get_directories_at(source):
		DirAccess.make_dir_recursive_absolute(target.path_join(locale))
		for file_name in DirAccess.get_files_at(source.path_join(locale)):
			var bytes := FileAccess.get_file_as_bytes(source.path_join(locale).path_join(file_name))
			var copy := FileAccess.open(target.path_join(locale).path_join(file_name), FileAccess.WRITE)
			copy.store_buffer(bytes)
			copy.close()
	for pair in [["index.json", edit], ["history.json", edit_history]]:
		var data: Dictionary = _json(source.path_join(pair[0]))
		if (pair[1] as Callable).is_valid():
			(pair[1] as Callable).call(data)
		var file := FileAccess.open(target.path_join(pair[0]), FileAccess.WRITE)
		file.store_string(JSON.stringify(data, " "))
		file.close()
	return WORK.path_join("fixture_manifest.json")


func test_hot_reload_reads_the_index_revision_and_its_history_of_changed_ids() -> void:
	var before := Manifest.new()
	before.load_file(FIXTURE_PATH)
	before.has_line("greet")
	var path := _copy_runtime(
		func(index: Dictionary) -> void: index["revision"] = 8,
		func(history: Dictionary) -> void:
			history["revision"] = 8
			history["history"] = [[8, ["only_en"]]]
	)
	assert_eq(Manifest.read_revision(path), 8, "the runtime index, with no manifest beside it")
	var after := Manifest.new()
	assert_true(after.load_file(path), after.error)
	assert_eq(after.changed, PackedStringArray(["only_en"]))
	assert_eq(after.changed_since(before), PackedStringArray(["only_en"]))


func test_a_missed_publish_falls_back_to_the_chunks_that_changed() -> void:
	var before := Manifest.new()
	before.load_file(FIXTURE_PATH)
	var path := _copy_runtime(
		func(index: Dictionary) -> void:
			index["revision"] = 12
			index["locales"]["fr_CA"] = "-",  # fr_CA's only line went away
		func(history: Dictionary) -> void:
			history["revision"] = 12
			history["history_from"] = 10  # publishes 8 and 9 are no longer listed
	)
	var after := Manifest.new()
	assert_true(after.load_file(path), after.error)
	assert_eq(after.resolve_line_locale("greet", "fr_CA"), "fr")
	var changed := after.changed_since(before)
	assert_true(changed.is_empty(), "nothing of fr_CA was read before, nothing is left now")
	before.get_text("greet", "fr_CA")  # now the old fr_CA chunk is in memory
	assert_eq(after.changed_since(before), PackedStringArray(["greet"]))


func test_a_broken_index_is_an_unusable_manifest_that_says_why() -> void:
	var path := _copy_runtime(func(index: Dictionary) -> void: index["version"] = 99)
	var manifest := Manifest.new()
	assert_false(manifest.load_file(path))
	assert_string_contains(manifest.error, "update the addon")
	assert_false(manifest.has_line("greet"))


func test_a_running_game_reloads_a_republished_runtime_form() -> void:
	var path := _copy_runtime(func(_index: Dictionary) -> void: pass)
	var voice: Node = load("res://addons/charvoice/runtime/charvoice.gd").new()
	voice.set(&"manifest_path", path)
	voice.set(&"hot_reload", true)  # what a game run from the editor does
	voice.set(&"warn_on_missing_lines", false)
	add_child_autofree(voice)
	watch_signals(voice)
	_copy_runtime(
		func(index: Dictionary) -> void: index["revision"] = 8,
		func(history: Dictionary) -> void:
			history["revision"] = 8
			history["history"] = [[8, ["only_en"]]]
	)
	await wait_for_signal(voice.get(&"manifest_reloaded"), 3.0)
	assert_signal_emitted_with_parameters(
		voice, "manifest_reloaded", [8, PackedStringArray(["only_en"])]
	)
