"""qaexport's test helpers (a small library, an output folder) as fixtures for this plugin's tests."""

pytest_plugins = ["qaexport.testing"]
