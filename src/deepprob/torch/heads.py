r"""Distribution heads: turn a network's raw outputs into a ``torch.distributions`` object.

In TensorFlow Probability a distribution layer says how many numbers it needs
(``tfp.layers.IndependentNormal.params_size(event_shape)``) and builds the
distribution from them (``.new(params, ...)``). :class:`NormalHead` does the
same for the course's torch models, so that every network that predicts a
Gaussian (:class:`~deepprob.torch.models.HeteroscedasticMLP`,
:class:`~deepprob.torch.layers.BayesianMLP`, :class:`~deepprob.torch.dropout.MCDropoutMLP`)
maps its last layer to a ``Normal`` in one place.

Scale parameterisations (``scale=``):

* ``"softplus"``: :math:`\sigma = \operatorname{softplus}(r) + \sigma_{\min}` --
  positive, grows only linearly (``exp`` would overflow), and the floor keeps
  ``log_prob`` finite when the network drives :math:`r \to -\infty` (variance
  collapse; Nix & Weigend 1994);
* ``"log_var"``: :math:`\sigma = \exp(r / 2)`, the raw output is the
  log-variance (Kendall & Gal 2017, eq. 8).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal

from .._validation import positive_float, positive_int

__all__ = ["NormalHead"]

_SCALES = ("softplus", "log_var")


class NormalHead(nn.Module):
    r"""Map ``2 * out_features`` raw outputs to ``Normal(loc, scale)``.

    The first ``out_features`` columns are the mean, the last ``out_features``
    the raw scale ``r`` (see the module docstring for ``scale``).

    Parameters
    ----------
    out_features : int, default 1
        Event size ``K`` of the predicted ``y``.
    min_scale : float, default 1e-3
        Floor :math:`\sigma_{\min} \ge 0` added to a softplus scale, in the units of ``y``.
    scale : {"softplus", "log_var"}, default "softplus"
        How the raw scale becomes a standard deviation.

    Raises
    ------
    ValueError
        If ``out_features`` is not a positive integer, ``min_scale < 0`` or
        ``scale`` is unknown.

    Examples
    --------
    >>> head = NormalHead(1)
    >>> head.params_size(1)
    2
    >>> head(torch.zeros(5, 2)).batch_shape
    torch.Size([5, 1])
    """

    def __init__(self, out_features=1, min_scale=1e-3, scale="softplus"):
        super().__init__()
        self.out_features = positive_int(out_features, "out_features")
        self.min_scale = positive_float(min_scale, "min_scale", allow_zero=True)
        if scale not in _SCALES:
            raise ValueError(f"scale must be one of {_SCALES}; got {scale!r}.")
        self.scale = scale

    @staticmethod
    def params_size(out_features=1) -> int:
        """Number of raw outputs the head needs: ``2 * out_features``."""
        return 2 * positive_int(out_features, "out_features")

    @staticmethod
    def new(params: torch.Tensor, out_features=1, min_scale=1e-3, scale="softplus") -> Normal:
        """``Normal`` from raw outputs ``params`` of shape ``(..., 2 * out_features)``."""
        return NormalHead(out_features, min_scale, scale)(params)

    def extra_repr(self):
        return f"out_features={self.out_features}, scale={self.scale!r}, min_scale={self.min_scale}"

    def forward(self, params: torch.Tensor) -> Normal:
        """The distribution of ``y``.

        Parameters
        ----------
        params : torch.Tensor, shape (..., 2 * out_features)
            Raw network outputs: means, then raw scales.

        Returns
        -------
        torch.distributions.Normal
            Batch shape ``(..., out_features)``.

        Raises
        ------
        ValueError
            If the last axis of ``params`` is not ``2 * out_features``.
        """
        k = self.out_features
        if params.shape[-1] != 2 * k:
            raise ValueError(
                f"the head needs {2 * k} raw outputs (params_size({k})) on the last axis; got shape "
                f"{tuple(params.shape)}."
            )
        loc, raw = params[..., :k], params[..., k:]
        if self.scale == "log_var":
            return Normal(loc, torch.exp(0.5 * raw))
        return Normal(loc, F.softplus(raw) + self.min_scale)
