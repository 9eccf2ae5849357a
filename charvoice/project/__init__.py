"""The project model: charvoice.toml, characters, dialogue scripts parsed into Lines (read-only but for `tag` and `init`)."""
