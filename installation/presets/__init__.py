"""Presets, playlists and hot reload: the looks as files a technician edits."""
