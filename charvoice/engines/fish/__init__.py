"""Fish Audio: the HTTP client and engine, voices-as-code (clones pinned in charvoice.lock), samples, cost, speech-to-text."""
