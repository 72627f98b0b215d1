"""Trained learners: the decoder backbone and its prompt encoders and heads."""

from icl_lab.models.transformer import ICLRegressor, Decoder, HookPoint

__all__ = ["ICLRegressor", "Decoder", "HookPoint"]
