"""Where frames come from (cameras, files, URLs, the demo) and the newest-frame-wins capture."""
