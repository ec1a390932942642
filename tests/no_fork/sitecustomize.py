"""Fork made unavailable, as on Windows: every Python process whose path holds this folder (``PYTHONPATH``, so the
children qaexport starts too) imports this at start-up. ``multiprocessing`` offers no ``fork`` start method and
``os.fork`` is gone; spawning (which starts a new interpreter) still works."""

import multiprocessing
import multiprocessing.context
import os

multiprocessing.context._concrete_contexts.pop("fork", None)
_all_methods = multiprocessing.context.DefaultContext.get_all_start_methods


def _without_fork(self: object) -> list[str]:
    return [m for m in _all_methods(self) if m != "fork"]


multiprocessing.context.DefaultContext.get_all_start_methods = _without_fork
multiprocessing.get_all_start_methods = multiprocessing.context._default_context.get_all_start_methods
multiprocessing.context._default_context._actual_context = None  # the default becomes spawn
if multiprocessing.context._default_context._default_context.get_start_method() == "fork":
    multiprocessing.context._default_context._default_context = multiprocessing.context._concrete_contexts["spawn"]
del os.fork
