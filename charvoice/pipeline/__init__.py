"""The build pipeline: plan (what is stale and why) -> build (synthesise, process, cache) -> publish (assets and manifest)."""
