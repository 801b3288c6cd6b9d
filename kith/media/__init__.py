"""The media repository: uploads, downloads, thumbnails (spec: "Content repository").

Pure rules live in ranges.py, headers.py and sizing.py; storage.py keeps files
under DATA_DIR/media, thumbnailer.py runs Pillow, service.py ties them to the
metadata in kith.store.media, and kith.api.media serves the endpoints.
"""
