"""Training of the learned planners (``igd train``) on Lightning Fabric.

A run folder ``RUN`` holds::

    RUN/train.json   the run's TrainConfig (checked again on --resume)
    RUN/last.ckpt    planner checkpoint + optimizer / epoch / step / RNG state, every epoch (atomic)
    RUN/best.pt      planner checkpoint of the best validation loss (igd bench --weights RUN/best.pt)
    RUN/metrics.csv  epoch, step, split, lr and every metric of the planner's loss
    RUN/tensorboard/ the same scalars, when tensorboard or tensorboardX is installed

See ``docs/training.md``.
"""

from igd.train.config import TrainConfig
from igd.train.loop import train

__all__ = ["TrainConfig", "train"]
