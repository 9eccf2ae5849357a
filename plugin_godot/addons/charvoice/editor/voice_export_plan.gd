extends RefCounted
## What an export ships of the voice, worked out from the manifest: the export plugin
## ([code]voice_export_plugin.gd[/code]) only carries it out. No editor class is used here, so
## the engine's tests run it.
##
## The locales shipped are those [code]charvoice/export/locales[/code] chooses (all when empty),
## plus the manifest's default locale and every locale a shipped one borrows audio from (a line
## without text in a locale plays another's), so a player of a locale left out hears the default
## locale instead of nothing. What the game reads (the runtime index, or the manifest without
## one) is rewritten to list the shipped locales only.

const Manifest := preload("../runtime/charvoice_manifest.gd")

## The locales whose voice ships, as spelled in the manifest.
var locales: PackedStringArray = PackedStringArray()
## res:// files added as they are (timings, chunks of the runtime form).
var raw_files: PackedStringArray = PackedStringArray()
## res:// audio files added in their imported form.
var imported_files: PackedStringArray = PackedStringArray()
## res:// path -> the bytes that ship instead of the file (the index listing shipped locales).
var rewritten: Dictionary = {}
## res:// path -> true: files the export must leave out (other locales, the tools' manifest).
var left_out: Dictionary = {}


## Works out the plan for [param manifest] (loaded) and the locales [param chosen].
func make(manifest: Manifest, chosen: PackedStringArray) -> void:
	var all_locales := _all_locales(manifest)
	var defaults := Manifest.locale_candidates(manifest.default_locale, "")
	for locale in all_locales:
		var is_default := defaults.has(Manifest.normalize_locale(locale))
		if is_default or Manifest.export_includes(locale, chosen):
			locales.append(locale)
	var ids := manifest.get_line_ids()
	for line_id in ids:  # lenders of a shipped locale ship too
		for locale in PackedStringArray(locales):
			var lender := manifest.get_borrowed(line_id, locale)
			if not lender.is_empty() and not locales.has(lender):
				locales.append(lender)
	for line_id in ids:
		for locale in manifest.get_locales(line_id):
			var audio := manifest.get_audio_path(line_id, locale)
			var timings := manifest.get_timings_path(line_id, locale)
			if locales.has(locale):
				imported_files.append(audio)
				if not timings.is_empty():
					raw_files.append(timings)
			else:
				left_out[audio] = true
				if not timings.is_empty():
					left_out[timings] = true
	_plan_game_files(manifest, all_locales)


func _all_locales(manifest: Manifest) -> PackedStringArray:
	var found := PackedStringArray()
	for line_id in manifest.get_line_ids():
		for locale in manifest.get_locales(line_id):
			if not found.has(locale):
				found.append(locale)
	return found


## What the game reads ships listing only the shipped locales; with the runtime form, its
## chunks of those locales ship and the full manifest (for tools) stays out.
func _plan_game_files(manifest: Manifest, all_locales: PackedStringArray) -> void:
	rewritten = manifest.export_json(locales)
	if not manifest.lazy:
		return
	left_out[manifest.path] = true
	var history := Manifest.RuntimeIndex.folder_of(manifest.path).path_join("history.json")
	left_out[history] = true  # only hot reload reads it, and exported games never hot-reload
	for locale in all_locales:
		for chunk in manifest.runtime_files(locale):
			if locales.has(locale):
				raw_files.append(chunk)
			else:
				left_out[chunk] = true
