"""How `alliance serve` runs the application: gunicorn's processes, each serving with
waitress (`worker`), after the first-start ingest (`runner`).
"""
