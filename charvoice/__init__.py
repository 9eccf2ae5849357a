"""charvoice: cloned voices for game characters, kept in step with the dialogue scripts."""

__version__ = "0.1.0"
