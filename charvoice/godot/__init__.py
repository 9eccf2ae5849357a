"""The Godot side: installing the addon into a Godot project, and the res:// and locale rules the addon shares."""
