"""SSIMULACRA2, the perceptual metric of the JPEG XL project, in NumPy.

Written from the description of the reference (libjxl tools/ssimulacra2.cc, version 2.1):
linear-light RGB is converted to XYB at six scales (each a 2x2 box downscale of the last),
and at every scale and XYB component an SSIM map (without the luminance denominator) and two
edge maps (artifacts: edges the original lacks; detail lost: edges the distortion lacks) are
averaged with a 1-norm and a 4-norm. Those 108 numbers are weighted and mapped to a score:
100 means identical, 90 visually lossless, 70 high quality, 50 medium, 30 low.

The reference blurs with the recursive Gaussian of Charalampidis (2016), sigma 1.5, zero
outside the image. Its impulse response is finite (the truncated cosines cancel after 2N
samples), so the same filter is computed here as an 11-tap separable convolution with the taps
that the recursion produces. tests/test_ssimulacra2.py checks the scores against the
reference's published values for synthetic pairs (how: docs/metrics.md).
"""

from __future__ import annotations

import numpy as np

NUM_SCALES = 6
MIN_SIDE = 8

# Opsin absorbance (linear RGB -> LMS-like mix) and its bias, as in JPEG XL's XYB.
_OPSIN = np.array([
    [0.30, 0.622, 0.078],
    [0.23, 0.692, 0.078],
    [0.24342268924547819, 0.20476744424496821, 0.55180986650955360],
])
_BIAS = 0.0037930732552754493

# Weights of the 108 sub-scores: for each XYB component, for each scale, for the 1- and the
# 4-norm: (SSIM, artifact, detail lost). From the reference.
_WEIGHTS = np.array([
    0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0, 0.0,
    0.0004371155730107379, 0.0, 1.1041726426657346, 0.00066284834129271,
    0.00015231632783718752, 0.0, 0.0016406437456599754, 0.0, 1.8422455520539298,
    11.441172603757666, 0.0, 0.0007989109436015163, 0.000176816438078653, 0.0,
    1.8787594979546387, 10.94906990605142, 0.0, 0.0007289346991508072, 0.9677937080626833,
    0.0, 0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053,
    0.0004550992113792063, 0.0, 0.0, 0.0013648766163243398, 0.0, 0.0, 0.0, 0.0, 0.0,
    7.466890328078848, 0.0, 17.445833984131262, 0.0006235601634041466, 0.0, 0.0,
    6.683678146179332, 0.00037724407979611296, 1.027889937768264, 225.20515300849274, 0.0,
    0.0, 19.213238186143016, 0.0011401524586618361, 0.001237755635509985,
    176.39317598450694, 0.0, 0.0, 24.43300999870476, 0.28520802612117757,
    0.0004485436923833408, 0.0, 0.0, 0.0, 34.77906344483772, 44.835625328877896, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0008680556573291698, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0005313191874358747, 0.0, 0.00016533814161379112, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0004179171803251336, 0.0017290828234722833, 0.0, 0.0020827005846636437, 0.0, 0.0,
    8.826982764996862, 23.19243343998926, 0.0, 95.1080498811086, 0.9863978034400682,
    0.9834382792465353, 0.0012286405048278493, 171.2667255897307, 0.9807858872435379, 0.0,
    0.0, 0.0, 0.0005130064588990679, 0.0, 0.00010854057858411537,
])


def _recursion(x: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """The reference's recursive Gaussian along a 1-D signal (zeros outside), in float64."""
    radius = round(3.2795 * sigma + 0.2546)
    omega = np.pi / (2 * radius) * np.array([1.0, 3.0, 5.0])
    p = np.array([1.0, -1.0, 1.0]) / np.tan(0.5 * omega)
    r = np.array([1.0, -1.0, 1.0]) * p * p / np.sin(omega)
    rho = np.exp(-0.5 * sigma * sigma * omega ** 2) / radius
    d13 = p[0] * r[1] - r[0] * p[1]
    zeta15 = (p[1] * r[2] - r[1] * p[2]) / d13
    zeta35 = (p[2] * r[0] - r[2] * p[0]) / d13
    a = np.array([p, r, [zeta15, zeta35, 1.0]])
    gamma = np.array([1.0, radius * radius - sigma * sigma,
                      zeta15 * rho[0] + zeta35 * rho[1] + rho[2]])
    beta = np.linalg.solve(a, gamma)
    n2 = -beta * np.cos(omega * (radius + 1))
    d1 = -2 * np.cos(omega)
    length = len(x)
    y = np.zeros(length)
    prev = np.zeros(3)
    prev2 = np.zeros(3)
    for n in range(-radius + 1, length):
        left = x[n - radius - 1] if n - radius - 1 >= 0 else 0.0
        right = x[n + radius - 1] if n + radius - 1 < length else 0.0
        out = n2 * (left + right) - d1 * prev - prev2
        prev2, prev = prev, out
        if n >= 0:
            y[n] = out.sum()
    return y


def _impulse_response(sigma: float = 1.5) -> dict[int, float]:
    """{d: h[d]} with out[n] = sum_d h[d] in[n - d]: the recursion is linear, time-invariant
    on the zero-extended signal, and its response to an impulse ends after 2N samples."""
    x = np.zeros(64)
    x[32] = 1.0
    resp = _recursion(x, sigma)
    return {n - 32: float(v) for n, v in enumerate(resp) if abs(v) > 1e-12}


_TAPS = _impulse_response()


def blur(planes: np.ndarray) -> np.ndarray:
    """Separable blur of (..., H, W) float64 planes, zeros outside the image."""
    return _filter_axis(_filter_axis(planes, -1), -2)


def _filter_axis(a: np.ndarray, axis: int) -> np.ndarray:
    """Convolve along one axis, slicing in place (no transposes); the taps are symmetric."""
    n = a.shape[axis]
    pad = max(_TAPS)
    widths = [(0, 0)] * a.ndim
    widths[axis] = (pad, pad)
    ap = np.pad(a, widths)

    def shifted(d: int) -> np.ndarray:
        index = [slice(None)] * a.ndim
        index[axis] = slice(pad - d, pad - d + n)
        return ap[tuple(index)]

    out = _TAPS[0] * a
    for d in range(1, pad + 1):
        out += _TAPS[d] * (shifted(d) + shifted(-d))
    return out


def srgb_to_linear(rgb8: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 sRGB -> (3, H, W) float64 linear light in [0, 1]."""
    v = rgb8.astype(np.float64).transpose(2, 0, 1) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _downscale_by_2(lin: np.ndarray) -> np.ndarray:
    """(3, H, W) -> (3, ceil(H/2), ceil(W/2)): mean of each 2x2 block (edge pixels repeated)."""
    _, h, w = lin.shape
    lin = np.pad(lin, [(0, 0), (0, h % 2), (0, w % 2)], mode="edge")
    return 0.25 * (lin[:, 0::2, 0::2] + lin[:, 1::2, 0::2] + lin[:, 0::2, 1::2]
                   + lin[:, 1::2, 1::2])


def _positive_xyb(lin: np.ndarray) -> np.ndarray:
    """(3, H, W) linear RGB -> XYB shifted and scaled to roughly 0..1 per component."""
    mixed = np.einsum("ij,jhw->ihw", _OPSIN, lin) + _BIAS
    mixed = np.cbrt(np.maximum(mixed, 0.0)) - np.cbrt(_BIAS)
    x = 0.5 * (mixed[0] - mixed[1])
    y = 0.5 * (mixed[0] + mixed[1])
    b = mixed[2]
    return np.stack([14.0 * x + 0.42, y + 0.01, (b - y) + 0.55])


def _norms(err: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per component (axis 0) mean 1-norm and 4-norm of (3, H, W) non-negative errors."""
    flat = err.reshape(3, -1)
    return flat.mean(1), np.sqrt(np.sqrt((flat ** 4).mean(1)))


def _scale_scores(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(3, 3, 2) sub-scores of one scale: [component, (ssim, artifact, detail lost), norm]."""
    mu1, mu2, s11, s22, s12 = np.split(blur(np.concatenate([a, b, a * a, b * b, a * b])), 5)
    c2 = 0.0009
    num_m = 1.0 - (mu1 - mu2) ** 2
    num_s = 2.0 * (s12 - mu1 * mu2) + c2
    den_s = (s11 - mu1 * mu1) + (s22 - mu2 * mu2) + c2
    ssim = np.maximum(1.0 - num_m * num_s / den_s, 0.0)
    d1 = (1.0 + np.abs(b - mu2)) / (1.0 + np.abs(a - mu1)) - 1.0
    out = np.empty((3, 3, 2))
    for k, err in enumerate((ssim, np.maximum(d1, 0.0), np.maximum(-d1, 0.0))):
        out[:, k, 0], out[:, k, 1] = _norms(err)
    return out


def score(reference: np.ndarray, distorted: np.ndarray) -> float:
    """SSIMULACRA2 of two (H, W, 3) uint8 sRGB images of the same size, at least 8x8."""
    if reference.shape != distorted.shape or reference.ndim != 3 or reference.shape[2] != 3:
        raise ValueError(f"SSIMULACRA2 needs two RGB images of one size, got "
                         f"{reference.shape} and {distorted.shape}")
    if min(reference.shape[:2]) < MIN_SIDE:
        raise ValueError(f"SSIMULACRA2 needs images of at least {MIN_SIDE}x{MIN_SIDE} pixels")
    a, b = srgb_to_linear(reference), srgb_to_linear(distorted)
    scales = []
    for s in range(NUM_SCALES):
        if min(a.shape[1:]) < MIN_SIDE:
            break
        if s:
            a, b = _downscale_by_2(a), _downscale_by_2(b)
        scales.append(_scale_scores(_positive_xyb(a), _positive_xyb(b)))
    # The reference's order: component, scale, norm, (ssim, artifact, detail lost). With fewer
    # than six scales (small images) it keeps counting, so the weights shift; so do we.
    subs = np.stack(scales).transpose(1, 0, 3, 2).reshape(-1)  # (comp, scale, norm, kind)
    x = float(np.dot(_WEIGHTS[: subs.size], np.abs(subs))) * 0.9562382616834844
    x = 6.248496625763138e-05 * x ** 3 + 2.326765642916932 * x - 0.020884521182843837 * x * x
    return 100.0 - 10.0 * x ** 0.6276336467831387 if x > 0 else 100.0
