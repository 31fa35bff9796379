"""`render --ray`: a render split into chunks across a Ray cluster.

plan (the cut, warm-up and crossfade; pure) -> task (one chunk on a worker) ->
cluster (every Ray call) -> driver (schedules, keeps frames, stitches) -> folder
(the chunks' work folder, what a resume continues from).
"""
