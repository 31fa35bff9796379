"""Distilling a look's gradient dream into a one-pass student: the student file, the data, the training loop.

engine.student holds the network and the losses (pure torch); this room holds what touches the
world: images and videos read, teacher dreams made, checkpoints and the student file written.
"""
