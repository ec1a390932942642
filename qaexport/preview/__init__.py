"""``qaexport serve``: the study site of a bank served while it is written, with each question's Anki card and
booklet pages, reloaded in the browser as files are saved.

``bank`` keeps the bank read and rendered, re-reading only the files that changed and re-rendering only the
questions whose text changed; ``booklet`` lays one question out as the PDF exporter does and draws its pages;
``app`` is the web application (Starlette) and ``server`` runs it with uvicorn and the file watcher, behind
``hosts``' check of the ``Host`` header. This layer sits above the exporters, like the CLI: it uses their public
functions, nothing below imports it.
"""
