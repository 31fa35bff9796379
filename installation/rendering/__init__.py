"""Offline rendering (`run.py render`): a video dreamt frame by frame at full quality.

work_folder: the kept state of a render (manifest, finished frames, the dream to resume from).
frame_dreamer: the settings that decide the pixels and the dreaming of one frame.
offline: the loop over the source's frames, resume and encoding.
"""
