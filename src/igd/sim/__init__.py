"""PyBullet simulator: the gripper, the world, scenes, grasp trials and the object catalogue.

Importing ``igd.sim`` does not import pybullet; the modules that need it import it themselves.
"""
