"""Word timings and mouth shapes of a published line: the file format (format.py), the words
of a line timed from any source (align.py), and the mouth-shape track (mouth.py). Pure: no
engine, no cache, no manifest; the build's hook is pipeline/timings.py, QA's check
release/coverage.py."""
