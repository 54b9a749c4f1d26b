"""igd: 6-DoF grasp detection in clutter from a single depth image.

Importing ``igd`` is cheap: it does not import pybullet, ray or torch. Sub-packages pull in what they need.
"""

__version__ = "0.1.0"
