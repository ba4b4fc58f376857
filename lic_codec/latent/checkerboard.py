"""Hyperprior + two-pass checkerboard latent coding (He et al. 2021; "improved checkerboard"
of Fu et al. 2024: separate parameter networks for the two passes).

::

    y ──h_a──> z ──Q──> z_hat ──h_s──> hyper ─┬─ params_anchor ──────────────> (mu, sigma) anchors
                (factorized prior)            │
    y_hat(anchors) ──context (masked 5x5)──> ctx ─┴─ params_nonanchor(hyper, ctx) ─> (mu, sigma) non-anchors

Anchors are the latent positions with (row + col) even; they are coded first from the
hyperprior alone, then the non-anchors from the hyperprior plus the decoded anchors. Both
passes decode in parallel over the whole latent.

Channels whose rounded values are all zero in an image are not coded at all: the encoder
sends a channel mask, both sides set those channels to exactly zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from ..entropy import rans
from ..entropy.tables import TableSet, conditional_tables
from .exact import MAX_ABS_ACT, ONE, ExactEntropyParameters, scale_thresholds, to_grid
from ..models.layers import CheckerboardMaskedConv2d, _LowerBound, conv, deconv, quantize_ste

# CompressAI's default scale table: 64 scales from 0.11 to 256, log-spaced.
SCALE_TABLE = torch.exp(torch.linspace(np.log(0.11), np.log(256.0), 64))
SCALE_MIN = float(SCALE_TABLE[0])  # as a Python float: no tensor-to-float sync per step
LIKELIHOOD_MIN = 1e-9  # CompressAI's likelihood lower bound


def anchor_mask(h: int, w: int, device=None) -> torch.Tensor:
    """[1, 1, h, w] bool, True where (row + col) is even."""
    r = torch.arange(h, device=device)[:, None]
    c = torch.arange(w, device=device)[None, :]
    return ((r + c) % 2 == 0)[None, None]


@dataclass
class CodedLatent:
    """What the latent coder produces for one image (batch of one)."""

    z_shape: tuple[int, int]
    active: np.ndarray  # [M] bool: channels that are coded
    z_bytes: bytes
    anchor_bytes: bytes
    nonanchor_bytes: bytes
    symbols_crc: int  # CRC-32 of all coded symbols, checked after decoding
    # the running CRC after the z symbols and after the anchors (format 2 on; None: only the
    # whole is checked): a stream that does not match its header is refused at once
    prefix_crcs: tuple[int, int] | None = None


class CheckerboardHyperprior(nn.Module):
    """With ``trainable=True`` it also owns CompressAI's entropy models, which give the
    likelihoods for training and the CDF tables at export; coding needs neither (the tables
    and the hyper-latent medians come from the weights file)."""

    def __init__(self, M: int, Nh: int, trainable: bool = True, anchor_dist: str = "gaussian",
                 nonanchor_dist: str = "gaussian", Me: int | None = None):
        super().__init__()
        Me = Me or M  # entropy width (ModelConfig.Me): hyper features 2*Me, context on Me
        self.M, self.Nh, self.Me = M, Nh, Me
        self.dists = {"anchor": anchor_dist, "nonanchor": nonanchor_dist}
        self.h_a = nn.Sequential(
            conv(M, Nh, 3, 1), nn.LeakyReLU(inplace=True),
            conv(Nh, Nh, 5, 2), nn.LeakyReLU(inplace=True),
            conv(Nh, Nh, 5, 2),
        )
        self.h_s = nn.Sequential(
            deconv(Nh, Nh, 5, 2), nn.LeakyReLU(inplace=True),
            deconv(Nh, Nh * 3 // 2, 5, 2), nn.LeakyReLU(inplace=True),
            conv(Nh * 3 // 2, 2 * Me, 3, 1),
        )
        self.context = CheckerboardMaskedConv2d(Me, 2 * Me, 5, 1, 2)
        self.params_anchor = nn.Sequential(
            nn.Conv2d(2 * Me, 2 * Me, 1), nn.LeakyReLU(inplace=True),
            nn.Conv2d(2 * Me, 2 * Me, 1), nn.LeakyReLU(inplace=True),
            nn.Conv2d(2 * Me, 2 * M, 1),
        )
        self.params_nonanchor = nn.Sequential(
            nn.Conv2d(4 * Me, 3 * Me, 1), nn.LeakyReLU(inplace=True),
            nn.Conv2d(3 * Me, 2 * Me, 1), nn.LeakyReLU(inplace=True),
            nn.Conv2d(2 * Me, 2 * M, 1),
        )
        self.register_buffer("z_medians", torch.zeros(Nh))
        if trainable:
            from compressai.entropy_models import EntropyBottleneck, GaussianConditional

            self.entropy_bottleneck = EntropyBottleneck(Nh)
            self.gaussian_conditional = GaussianConditional(SCALE_TABLE.tolist())
        self.z_tables: TableSet | None = None
        self.y_tables: dict[str, TableSet] = {}  # "anchor" / "nonanchor"
        self.scale_thresholds = scale_thresholds(SCALE_TABLE)  # replaced by the stored ones
        self._exact_params: ExactEntropyParameters | None = None
        # Training quantization: additive uniform noise (False) or the decoder's rounding
        # with straight-through gradients (True), which removes the noise proxy's mismatch
        # with the real coder: at low rates it charges near-certain symbols ~2x their cost.
        self.hard = False

    # ---- training ---------------------------------------------------------------------
    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """y: [B, M, h, w] -> (y_hat with straight-through rounding, likelihoods in fp32)."""
        hard = self.training and self.hard
        z = self.h_a(y)
        with torch.autocast("cpu", enabled=False):
            if hard:  # h_s sees the rounded z the decoder sees; its rate is that of z_hat
                med = self.entropy_bottleneck.quantiles[:, 0, 1].detach().view(1, -1, 1, 1)
                z_hat = quantize_ste(z.float() - med) + med
                z_lik = self.entropy_bottleneck(z_hat, training=False)[1]
            else:
                z_hat, z_lik = self.entropy_bottleneck(z.float())
        hyper = self.h_s(z_hat.to(y.dtype))
        mu_a, s_a = self.params_anchor(hyper).chunk(2, 1)
        anchors = anchor_mask(y.shape[2], y.shape[3], y.device)
        if self.training:
            keep = anchors
        else:  # predict the real codec exactly: all-zero channels are skipped (set to 0)
            keep = (torch.round(y) != 0).flatten(2).any(2)[:, :, None, None]  # [B, M, 1, 1]
        y_hat_anchor = (quantize_ste(y - mu_a) + mu_a) * anchors * keep
        ctx = self.context_of(y_hat_anchor)
        mu_n, s_n = self.params_nonanchor(torch.cat([hyper, ctx], 1)).chunk(2, 1)
        mu = torch.where(anchors, mu_a, mu_n).float()
        scales = torch.where(anchors, s_a, s_n).float()
        with torch.autocast("cpu", enabled=False):
            lik = {d: self._likelihood(y.float(), scales, mu, d) for d in set(self.dists.values())}
            y_lik = torch.where(anchors, lik[self.dists["anchor"]], lik[self.dists["nonanchor"]])
        y_hat = quantize_ste(y.float() - mu) + mu
        if not self.training:
            y_hat = y_hat * keep
        return y_hat, {"y": y_lik, "z": z_lik}

    def context_of(self, y_hat_anchor: torch.Tensor) -> torch.Tensor:
        """[B, M, h, w] anchors (zero elsewhere) -> [B, 2*Me, h, w] context features; the
        context reads the first Me channels (all of them unless ModelConfig.Me < M)."""
        return self.context(y_hat_anchor[:, :self.Me])

    def _likelihood(self, y, scales, mu, dist: str) -> torch.Tensor:
        """P(y) under noise (training), rounding with straight-through gradients (training
        with ``hard``) or rounding (eval), for one distribution family."""
        if self.training and self.hard:
            values = quantize_ste(y - mu) + mu
        elif self.training:
            values = y + torch.empty_like(y).uniform_(-0.5, 0.5)
        else:
            values = torch.round(y - mu) + mu
        return bin_likelihood(values, mu, scales, dist)

    # ---- tables -----------------------------------------------------------------------
    def build_tables(self) -> None:
        """Compute the integer tables and the medians from the current weights (done once,
        at export)."""
        eb = self.entropy_bottleneck
        eb.update(force=True)
        self.z_medians.copy_(eb.quantiles[:, 0, 1].detach())
        self.scale_thresholds = scale_thresholds(SCALE_TABLE)
        self._exact_params = None
        self.z_tables = TableSet.from_compressai(eb._quantized_cdf, eb._cdf_length, eb._offset)
        self.y_tables = {p: conditional_tables(SCALE_TABLE, d) for p, d in self.dists.items()}

    # ---- coding -----------------------------------------------------------------------
    # Everything that selects a coding distribution goes through the exact integer twins of
    # the networks (latent/exact.py); tensors named *_int hold integers on the 2^-8 grid.
    def _exact(self) -> tuple[ExactEntropyParameters, TableSet, dict[str, TableSet]]:
        """The integer networks and the z and y tables; built on first use."""
        if self.z_tables is None or not self.y_tables:  # a network not loaded from weights
            raise RuntimeError("the coding tables are not built: load the network with "
                               "models.registry (weights files carry them)")
        if self._exact_params is None:
            self._exact_params = ExactEntropyParameters(self, self.scale_thresholds)
        return self._exact_params, self.z_tables, self.y_tables

    def _z_medians_int(self) -> torch.Tensor:
        return to_grid(self.z_medians).view(1, -1, 1, 1)

    @torch.no_grad()
    def compress(self, y: torch.Tensor, z: torch.Tensor | None = None) -> CodedLatent:
        """y: [1, M, h, w] float32 -> coded sections. The hyper-latent z [1, Nh, h/4, w/4] is
        h_a(y) unless given (the encoder's refinement may choose it together with y)."""
        ex, z_tables, y_tables = self._exact()
        z = self.h_a(y) if z is None else z
        med_int = self._z_medians_int()
        z_sym = torch.round(z.double() - med_int / ONE)  # [1, Nh, h/4, w/4]
        z_hat_int = (z_sym * ONE + med_int).clamp(-MAX_ABS_ACT, MAX_ABS_ACT)
        z_idx = np.broadcast_to(np.arange(z.shape[1])[:, None, None], z.shape[1:])
        z_bytes = rans.encode(z_sym.long().numpy(), z_idx, rans.model_cache(z_tables))

        active = (torch.round(y[0]) != 0).flatten(1).any(1)  # [M]
        coded_only = torch.ones(int(active.sum()), dtype=torch.bool)  # [A]: the parameters'
        y_models = {p: rans.model_cache(t) for p, t in y_tables.items()}
        hyper = ex.hyper(z_hat_int)
        anchors = anchor_mask(y.shape[2], y.shape[3])
        y64 = y[0].double()

        def code_pass(mu_int, scale_int, where, models):
            sel = _coded_positions(active, where)  # into [M, h, w]
            psel = _coded_positions(coded_only, where)  # the same symbols in [A, h, w]
            mu = mu_int.reshape(-1)[psel]
            sym = torch.round(y64.reshape(-1)[sel] - mu / ONE)
            data = rans.encode(sym.long().numpy(), ex.scale_index(scale_int.reshape(-1)[psel]),
                               models)
            return sym, data, sel, mu

        mu_a, s_a = ex.anchor_params(hyper, active)
        sym_a, anchor_bytes, sel_a, mu_sel = code_pass(mu_a, s_a, anchors, y_models["anchor"])
        y_hat_int = torch.zeros(y.shape)  # float32 holds these integers exactly
        y_hat_int.view(-1)[sel_a] = (sym_a * ONE + mu_sel).clamp(-MAX_ABS_ACT, MAX_ABS_ACT
                                                                  ).float()
        mu_n, s_n = ex.nonanchor_params(hyper, y_hat_int, active)
        sym_n, nonanchor_bytes, _, _ = code_pass(mu_n, s_n, ~anchors, y_models["nonanchor"])
        crc_z = _symbols_crc(z_sym)
        crc_a = _symbols_crc(sym_a, crc=crc_z)
        crc = _symbols_crc(sym_n, crc=crc_a)
        return CodedLatent((z.shape[2], z.shape[3]), active.numpy(), z_bytes, anchor_bytes,
                           nonanchor_bytes, crc, (crc_z, crc_a))

    @torch.no_grad()
    def decompress(self, coded: CodedLatent, y_shape: tuple[int, int]) -> torch.Tensor:
        """Coded sections -> y_hat [1, M, h, w] (float32); raises CorruptStreamError."""
        from ..errors import CorruptStreamError

        ex, z_tables, y_tables = self._exact()
        zh, zw = coded.z_shape
        C = self.Nh
        z_idx = np.broadcast_to(np.arange(C)[:, None, None], (C, zh, zw))
        z_sym = rans.decode(coded.z_bytes, z_idx, rans.model_cache(z_tables))
        z_sym_t = torch.from_numpy(z_sym.astype(np.float64)).view(1, C, zh, zw)
        prefix = coded.prefix_crcs
        crc_z = _symbols_crc(z_sym_t)
        if prefix is not None and crc_z != prefix[0]:  # before the latent is allocated
            raise CorruptStreamError("the hyper-latent does not match the header's checksum "
                                     "(the file is damaged or its header was altered)")
        z_hat_int = (z_sym_t * ONE + self._z_medians_int()).clamp(-MAX_ABS_ACT, MAX_ABS_ACT)

        h, w = y_shape
        active = torch.from_numpy(np.asarray(coded.active, dtype=bool))
        coded_only = torch.ones(int(active.sum()), dtype=torch.bool)  # [A]: the parameters'
        y_models = {p: rans.model_cache(t) for p, t in y_tables.items()}
        hyper = ex.hyper(z_hat_int)
        anchors = anchor_mask(h, w)
        y_hat_int = torch.zeros(1, self.M, h, w)  # float32 holds these integers exactly

        def decode_pass(data, mu_int, scale_int, where, models):
            sel = _coded_positions(active, where)  # into [M, h, w]
            psel = _coded_positions(coded_only, where)  # the same symbols in [A, h, w]
            sym = rans.decode(data, ex.scale_index(scale_int.reshape(-1)[psel]), models)
            sym_t = torch.from_numpy(sym.astype(np.float64))
            y_hat_int.view(-1)[sel] = (sym_t * ONE + mu_int.reshape(-1)[psel]).clamp(
                -MAX_ABS_ACT, MAX_ABS_ACT).float()
            return sym_t

        mu_a, s_a = ex.anchor_params(hyper, active)
        sym_a = decode_pass(coded.anchor_bytes, mu_a, s_a, anchors, y_models["anchor"])
        crc_a = _symbols_crc(sym_a, crc=crc_z)
        if prefix is not None and crc_a != prefix[1]:
            raise CorruptStreamError("the anchor symbols do not match the header's checksum "
                                     "(the file is damaged or its header was altered)")
        mu_n, s_n = ex.nonanchor_params(hyper, y_hat_int, active)
        sym_n = decode_pass(coded.nonanchor_bytes, mu_n, s_n, ~anchors, y_models["nonanchor"])
        if _symbols_crc(sym_n, crc=crc_a) != coded.symbols_crc:
            raise CorruptStreamError(
                "decoded symbols do not match the encoder's checksum "
                "(the file is damaged or was made with different arithmetic)"
            )
        return y_hat_int / ONE  # exact: integers below 2^24 on a 2^-8 grid


def bin_likelihood(values: torch.Tensor, mu: torch.Tensor, scales: torch.Tensor,
                   dist: str) -> torch.Tensor:
    """Probability of the unit-wide bin around ``values`` under a Gaussian or Laplacian of
    mean ``mu`` and scale ``scales`` (lower-bounded as CompressAI's GaussianConditional does;
    the Gaussian is its formula, without importing CompressAI, so encoder-side refinement can
    use it too)."""
    a = (values - mu).abs()
    b = _LowerBound.apply(scales, SCALE_MIN)
    if dist == "gaussian":
        cdf = lambda v: 0.5 * torch.erfc(-(2**-0.5) * v)  # noqa: E731  standard normal CDF
        return _LowerBound.apply(cdf((0.5 - a) / b) - cdf((-0.5 - a) / b), LIKELIHOOD_MIN)
    # P(|v| rounds to its bin) for a Laplacian of scale b; both branches kept finite so
    # torch.where has finite gradients
    centre = 1 - 0.5 * (torch.exp(-(0.5 - a).clamp_min(0) / b) + torch.exp(-(0.5 + a) / b))
    side = 0.5 * (torch.exp(-(a - 0.5).clamp_min(0) / b) - torch.exp(-(a + 0.5) / b))
    return torch.where(a < 0.5, centre, side).clamp_min(LIKELIHOOD_MIN)


def _coded_positions(active: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """Flat indexes into [1, M, h, w] of the symbols one pass codes, in coding order
    (channel, then raster): the active channels at the pass's positions (where [1, 1, h, w]).
    One index list serves every gather and scatter of the pass."""
    return (active[:, None, None] & where[0, 0]).flatten().nonzero().squeeze(1)


def _symbols_crc(*parts: torch.Tensor, crc: int = 0) -> int:
    """CRC-32 of the int32 little-endian bytes of ``parts``, continuing from ``crc``."""
    import zlib

    for p in parts:
        crc = zlib.crc32(p.to(torch.int64).numpy().astype("<i4").tobytes(), crc)
    return crc
