"""Extraction: files and pushes from the inbox into ``raw``, every row loaded or rejected with a reason."""
