"""A plug-in for the tests that fails while it is imported."""
raise RuntimeError("broken on purpose: the database driver is missing")
