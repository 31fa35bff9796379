"""Offline rendering (`run.py render`): a video dreamt frame by frame at full quality.

work_folder: the kept state of a render (manifest, finished frames, the dream to resume from).
frame_dreamer: the settings that decide the pixels and the dreaming of one frame.
render_device: where a render dreams and in what precision.
offline: the loop over the source's frames, resume and encoding.
split/: the same render cut into chunks across a Ray cluster (`render --ray`).
atlas, atlas_sheet, still_look: the channel atlas, and how `run.py dream` resolves a still's look.
"""
