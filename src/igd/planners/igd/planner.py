"""The IGD planner: affordance at the 40³ voxels, orientations drawn by the diffuser at the gated
ones and scored by the Grasp Classifier, then the shared post-processing.

==============  =====================================================================  =========
stage           what                                                                    timed as
==============  =====================================================================  =========
encode          planes of the grid, once                                                network
affordance      a at the voxels near the observed surface (``gate_region='surface'``,   network
                the default) or at all 40³ (``'all'``), in chunks
gate            voxels with a > ``gate_threshold``, at most ``max_points`` (highest a)   network
condition       width and the diffuser's DAM feature c_d(p) at the gated voxels         network
sample          N = ``rounds_n`` orientations per gated voxel (DDPM / DDIM / DPM)        sampling
classify        v = p(r | a, p) of each; keep the best of the N                         network
post-process    q = a·v at gated voxels (0 elsewhere); GIGA's smoothing, masks, NMS     post
==============  =====================================================================  =========
"""

from __future__ import annotations

import time
from typing import Dict, NamedTuple

import numpy as np

from igd.constants import RESOLUTION
from igd.errors import IGDError
from igd.planners import postprocess
from igd.planners.base import Grasps, Observation, PointPrediction, TorchPlanner
from igd.planners.common.queries import query_points
from igd.planners.igd.config import IGDConfig

__all__ = ["IGDPlanner", "IGDPrediction"]

_SHAPE = (RESOLUTION,) * 3


class IGDPrediction(NamedTuple):
    """The volumes of one grid (numpy, axes (x, y, z)) and the time each stage took."""

    qual: np.ndarray
    """(40, 40, 40) quality q = a·v at gated voxels, 0 elsewhere."""
    rot: np.ndarray
    """(4, 40, 40, 40) unit quaternions (x, y, z, w): the kept samples at gated voxels, identity elsewhere."""
    width: np.ndarray
    """(40, 40, 40) widths, metres, at gated voxels (0 elsewhere: no grasp is proposed there)."""
    affordance: np.ndarray
    """(40, 40, 40) affordance a in [0, 1] (0 where not queried)."""
    gated: np.ndarray
    """(40, 40, 40) bool: voxels where orientations were drawn."""
    timings: Dict[str, float]
    """Seconds: 'time_network' and 'time_sampling'."""


class IGDPlanner(TorchPlanner):
    """Implicit Grasp Diffusion (Song, Li, Detry, CoRL 2024); see the module docstring for the stages.

    Sampling noise comes from a generator reset to ``seed`` at every :meth:`plan` (so one grid and one
    seed always give the same grasps); :meth:`reseed` changes the seed (the benchmark calls it).
    """

    name = "igd"
    config_class = IGDConfig
    learned = True
    scene_batched_training = True
    training_needs_occupancy = True
    #: From GIGA: the encoder, the width and occupancy heads by name; its quality head becomes the affordance
    #: head (same shape, same role: the quality of a point; here it reads the DAM's features of c(p)).
    transfer_renames = {"giga": {"decoder_qual.": "decoder_aff."}}

    def __init__(self, config: IGDConfig | None = None):
        super().__init__(config)
        import torch

        from igd.diffusion import make_scheduler
        from igd.planners.igd.model import IGDNet

        self.net = IGDNet(**self.config.model_kwargs()).to(self.device).eval()
        self.scheduler = make_scheduler(self.config.sampler, self.config.sampler_steps)
        self.postprocess = self.config.postprocess()
        self.seed = self.config.seed
        self.generator = torch.Generator(device=self.device)
        self._points = query_points(self.device)[0]  # (64000, 3) normalised, voxel order

    @classmethod
    def upgrade_checkpoint(cls, payload: dict) -> dict:
        """A checkpoint without ``width_unit`` (voxel units) gets its width head rescaled (:mod:`igd.nn.width`)."""
        from igd.nn.width import upgrade_width_unit

        return upgrade_width_unit(payload)

    def reseed(self, seed: int) -> None:
        """Use ``seed`` for the sampling noise of the following plans (and point queries)."""
        self.seed = int(seed)

    # ---- inference ----
    def _region(self, grid: np.ndarray):
        """Indices (R,) of the voxels whose affordance is queried."""
        import torch

        if self.config.gate_region == "all":
            return torch.arange(RESOLUTION ** 3, device=self.device)
        mask = postprocess.surface_mask(grid, self.postprocess.out_th, self.postprocess.dilation + 1)
        return torch.from_numpy(np.flatnonzero(mask)).to(self.device)

    def _affordance(self, planes, region):
        """Affordance a (R,) in [0, 1] at the voxels ``region (R,)``, in chunks."""
        import torch

        affs = [torch.sigmoid(self.net.affordance(planes, self._points[index][None]).float())[0]
                for index in region.split(self.config.chunk_size)]
        return torch.cat(affs) if affs else torch.zeros(0, device=self.device)

    def _gate(self, aff):
        """Positions (into ``aff``) of the gated voxels, ascending: a > threshold, at most max_points."""
        import torch

        passing = torch.nonzero(aff > self.config.gate_threshold).squeeze(1)
        if len(passing) > self.config.max_points:
            best = torch.topk(aff[passing], self.config.max_points).indices
            passing = passing[best]
        return torch.sort(passing).values

    def _orientations(self, planes, p):
        """At ``p (M, 3)``: the best of N drawn orientations (M, 4), its classifier score v (M,), the widths
        (M,) in workspace units (metres / 0.3), and the seconds spent sampling."""
        import torch

        n, m = self.config.rounds_n, len(p)
        feature = self.net.sample(planes, p[None])  # c(p), (1, M, 96)
        width = self.net.width(planes, p[None], feature)[0].float()
        cond = self.net.condition(planes, p[None], feature)[0]  # c_d(p), (M, 96)
        p_n, cond_n = p.repeat(n, 1), cond.repeat(n, 1)  # round-major: (N·M, ·)
        tic = time.perf_counter()
        quats = torch.cat([self.net.sample_quat(pp, cc, self.scheduler, self.generator)
                           for pp, cc in zip(p_n.split(self.config.chunk_size), cond_n.split(self.config.chunk_size))])
        sampling = time.perf_counter() - tic
        logits = self.net.classify(planes, p_n[None], quats[None], feature.repeat(1, n, 1))[0]
        scores = torch.sigmoid(logits.float()).reshape(n, m)
        best = scores.argmax(dim=0)  # (M,)
        keep = torch.arange(m, device=p.device)
        return quats.reshape(n, m, 4)[best, keep], scores[best, keep], width, sampling

    def predict(self, grid: np.ndarray) -> IGDPrediction:
        """Volumes for one grid ``(1, 40, 40, 40)`` or ``(40, 40, 40)`` (see :class:`IGDPrediction`)."""
        import torch

        from igd.nn.width import WIDTH_SCALE

        x = self.grid_tensor(grid)
        grid = np.asarray(grid, dtype=np.float32)
        tic = time.perf_counter()
        self.generator.manual_seed(self.seed)
        n = RESOLUTION ** 3
        aff, width = torch.zeros(n, device=self.device), torch.zeros(n, device=self.device)
        qual, rot = torch.zeros(n, device=self.device), torch.zeros(n, 4, device=self.device)
        rot[:, 3] = 1.0
        gated, sampling = torch.zeros(n, dtype=torch.bool, device=self.device), 0.0
        with self.inference():
            planes = self.net.encode(x)
            region = self._region(grid.reshape(_SHAPE))
            aff[region] = self._affordance(planes, region)
            index = region[self._gate(aff[region])]
            if len(index):
                quat, score, width[index], sampling = self._orientations(planes, self._points[index])
                qual[index], rot[index], gated[index] = aff[index] * score, quat.float(), True
        network = time.perf_counter() - tic - sampling
        volumes = [v.reshape(_SHAPE).cpu().numpy() for v in (qual, width * WIDTH_SCALE, aff, gated)]
        rot_np = rot.reshape(_SHAPE + (4,)).permute(3, 0, 1, 2).cpu().numpy()
        return IGDPrediction(volumes[0], rot_np, volumes[1], volumes[2], volumes[3],
                             {"time_network": network, "time_sampling": sampling})

    def volumes(self, grid: np.ndarray) -> tuple:
        """``(qual, rot, width)`` of :meth:`predict`: q = a·v at the gated voxels (0 elsewhere), metres."""
        pred = self.predict(grid)
        return pred.qual, pred.rot, pred.width

    def affordance(self, grid: np.ndarray) -> np.ndarray:
        """The affordance a of :meth:`predict`, ``(40, 40, 40)`` in [0, 1] (0 where not queried)."""
        return self.predict(grid).affordance

    def query_points(self, grid: np.ndarray, positions: np.ndarray, quats=None) -> PointPrediction:
        """At ``positions (N, 3)`` (metres), ungated: q = a(p) · v(p, r*) with r* the best of N drawn
        orientations, r* and the width (metres). ``quats`` is unused: the planner draws its own."""
        import torch

        from igd.nn import normalise
        from igd.nn.width import WIDTH_SCALE

        x = self.grid_tensor(grid)
        p = normalise(torch.as_tensor(np.asarray(positions, dtype=np.float32).reshape(-1, 3), device=self.device))
        self.generator.manual_seed(self.seed)
        quals, rots, widths = [], [], []
        with self.inference():
            planes = self.net.encode(x)
            for chunk in p.split(self.config.chunk_size):
                aff = torch.sigmoid(self.net.affordance(planes, chunk[None]).float())[0]
                quat, score, width, _ = self._orientations(planes, chunk)
                quals.append(aff * score.float())
                rots.append(quat.float())
                widths.append(width.float() * WIDTH_SCALE)
        if not quals:
            return PointPrediction(np.zeros(0), np.zeros((0, 4)), np.zeros(0))
        return PointPrediction(*(torch.cat(v).cpu().numpy() for v in (quals, rots, widths)))

    def sample_trajectories(self, grid: np.ndarray, point, n: int = 8, seed: int = 0) -> np.ndarray:
        """The reverse diffusion of ``n`` orientations at one ``point (3,)`` (workspace metres), every step kept.

        Returns ``(steps + 1, n, 4)`` unit quaternions (x, y, z, w): row 0 is the start ``x_T ~ N(0, I)``
        and row ``s`` the state after ``s`` reverse steps, each L2-normalised (the diffused variable lives
        in R⁴); the last row is what :meth:`IGDNet.sample_quat` returns for the same noise. All noise comes
        from a generator seeded with ``seed``; :meth:`plan`'s generator is left alone. For the viewer
        (the paper's multi-modality figure).
        """
        import torch

        from igd.nn import normalise
        from igd.planners.igd.model import unit_quaternions

        grid = np.asarray(grid, dtype=np.float32)
        point = np.asarray(point, dtype=np.float32)
        if grid.size != RESOLUTION ** 3 or point.shape != (3,) or not np.all(np.isfinite(point)):
            raise IGDError(f"igd: sample_trajectories wants a grid (1, 40, 40, 40) and a point (3,) in metres, "
                           f"got {grid.shape} and {point.shape}")
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise IGDError(f"igd: sample_trajectories wants n >= 1 samples, got {n!r}")
        x = self.grid_tensor(grid)
        generator = torch.Generator(device=self.device).manual_seed(int(seed))
        with self.inference():
            planes = self.net.encode(x)
            p = normalise(torch.tensor(point, device=self.device)).reshape(1, 1, 3)
            cond = self.net.condition(planes, p, self.net.sample(planes, p))[0]  # c_d(p), (1, 96)
            p_n, pre = p[0].expand(n, 3), self.net.denoiser.precondition(cond.expand(n, -1))
            # the loop of EuclideanScheduler.sample, keeping every x_t
            xs = [torch.randn((n, 4), generator=generator, device=self.device)]
            for t in self.scheduler.set_timesteps(self.device):
                eps = self.net.denoiser.denoise(p_n, xs[-1], t, pre).to(torch.float32)
                xs.append(self.scheduler.step(eps, t, xs[-1], generator))
            return unit_quaternions(torch.stack(xs).float()).cpu().numpy()

    def plan(self, observation: Observation) -> Grasps:
        """Grasps for ``observation``, best first.

        ``info``: the split of the time it took, 'time_network', 'time_sampling', 'time_postprocess' (s; the
        whole is :meth:`timed_plan`'s 'planning_time'); 'gated_points'; the sampler used.
        Grasps are proposed only at gated voxels (where an orientation was drawn): the smoothing
        spreads quality to their neighbours, whose orientation would be undefined.
        """
        cfg = self.postprocess
        if not postprocess.surface_mask(observation.grid, cfg.out_th, cfg.dilation).any():
            # nothing observed near a surface: the post-processing would reject every voxel
            return Grasps.empty(gated_points=0, time_network=0.0,
                                time_sampling=0.0, time_postprocess=0.0, sampler=self.scheduler.kind,
                                steps=self.scheduler.steps, rounds_n=self.config.rounds_n)
        pred = self.predict(observation.grid)
        post = time.perf_counter()
        qual = postprocess.process(observation.grid, pred.qual, pred.rot, pred.width, cfg)
        qual[~pred.gated] = 0.0
        grasps = postprocess.select(qual, pred.rot, pred.width, cfg.threshold, cfg.max_filter_size, cfg.force)
        grasps = postprocess.order_detections(grasps, cfg.order)
        done = time.perf_counter()
        grasps.info.update(pred.timings, time_postprocess=done - post, gated_points=int(pred.gated.sum()), sampler=self.scheduler.kind,
                           steps=self.scheduler.steps, rounds_n=self.config.rounds_n)
        return grasps
