// Replaced by the config loader.
