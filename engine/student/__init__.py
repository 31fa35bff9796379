"""The one-pass dreamer: a small image-to-image network trained to give a look's dream detail in one forward pass.

Pure torch (no I/O): the architecture (`model`) and the training losses (`losses`). Training, data and
the student file live in installation.distill.
"""

from engine.student.losses import LossWeights, objective_gain, student_losses
from engine.student.model import StudentNet, StudentShape

__all__ = ["LossWeights", "StudentNet", "StudentShape", "objective_gain", "student_losses"]
