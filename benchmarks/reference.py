"""The reference implementation of Garg et al. (2022), rebuilt for side-by-side timing.

``TransformerModel`` follows ``src/models.py`` of github.com/dtsip/in-context-learning:
a Hugging Face ``GPT2Model`` built from a ``GPT2Config`` (never from pretrained weights)
between a linear read-in ``Linear(d, n_embd)`` and a linear read-out ``Linear(n_embd, 1)``;
prompts are interleaved as ``x_1, [y_1, 0, ..], x_2, ..`` (``_combine``), fed through
``inputs_embeds`` and read out at the even (x) positions. ``train_step`` is the
reference's ``train_step`` (Adam, ``zero_grad``, MSE over every position, ``backward``,
``step``); :func:`garg_curriculum` is its staircase curriculum.

:func:`copy_reference_into_lab` maps the reference's weights into an ``ICLRegressor``
with interleaved encoding (HF ``Conv1D`` stores ``[in, out]``, ``nn.Linear`` ``[out, in]``),
which the tests use to check that both compute the same function.
"""

from __future__ import annotations

import torch
from torch import nn

from icl_lab.models import ICLRegressor
from icl_lab.models.config import ModelConfig
from icl_lab.tasks import curriculum
from icl_lab.tasks.config import TaskConfig
from icl_lab.training.config import TrainConfig

# Garg et al.'s curriculum for d = 20 (conf/linear_regression.yaml): every 2000 steps
# one more dimension (5 -> 20) and two more points (11 -> 41).
GARG_DIMS_START, GARG_DIMS_INC = 5, 1
GARG_POINTS_START, GARG_POINTS_INC = 11, 2
GARG_INTERVAL = 2000
GARG_LR = 1e-4
GARG_BATCH = 64


class TransformerModel(nn.Module):
    """Garg et al.'s ``TransformerModel``: read-in, GPT2Model backbone, read-out."""

    def __init__(self, n_dims: int, n_positions: int, n_embd: int = 128, n_layer: int = 12, n_head: int = 4,
                 activation_function: str = "gelu_new"):
        from transformers import GPT2Config, GPT2Model

        super().__init__()
        configuration = GPT2Config(
            n_positions=2 * n_positions,
            n_embd=n_embd,
            n_layer=n_layer,
            n_head=n_head,
            resid_pdrop=0.0,
            embd_pdrop=0.0,
            attn_pdrop=0.0,
            use_cache=False,
            activation_function=activation_function,  # GPT2Config's default, "gelu_new"
        )
        self.name = f"gpt2_embd={n_embd}_layer={n_layer}_head={n_head}"
        self.n_positions = n_positions
        self.n_dims = n_dims
        self._read_in = nn.Linear(n_dims, n_embd)
        self._backbone = GPT2Model(configuration)
        self._read_out = nn.Linear(n_embd, 1)

    @staticmethod
    def _combine(xs_b: torch.Tensor, ys_b: torch.Tensor) -> torch.Tensor:
        """Interleaves the x's and the y's into a single sequence."""
        bsize, points, dim = xs_b.shape
        ys_b_wide = torch.cat(
            (ys_b.view(bsize, points, 1), torch.zeros(bsize, points, dim - 1, device=ys_b.device)),
            axis=2,
        )
        zs = torch.stack((xs_b, ys_b_wide), dim=2)
        return zs.view(bsize, 2 * points, dim)

    def forward(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        zs = self._combine(xs, ys)
        embeds = self._read_in(zs)
        output = self._backbone(inputs_embeds=embeds).last_hidden_state
        prediction = self._read_out(output)
        return prediction[:, ::2, 0]  # predict only on xs

    def num_parameters(self, include_unused: bool = False) -> int:
        """Parameters; by default without GPT2Model's token embedding ``wte``, which
        ``inputs_embeds`` bypasses (it gets no gradient and Adam skips it)."""
        return sum(p.numel() for name, p in self.named_parameters()
                   if include_unused or not name.endswith("wte.weight"))


def mean_squared_error(ys_pred: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    return (ys - ys_pred).square().mean()


def make_reference_optimizer(model: nn.Module, lr: float = GARG_LR) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=lr)


def train_step(model: nn.Module, xs: torch.Tensor, ys: torch.Tensor, optimizer: torch.optim.Optimizer,
               loss_func=mean_squared_error) -> float:
    """The reference's train step (returns the loss as a float, like the original)."""
    optimizer.zero_grad()
    output = model(xs, ys)
    loss = loss_func(output, ys)
    loss.backward()
    optimizer.step()
    return loss.detach().item()


def garg_train_config(**overrides) -> TrainConfig:
    """Garg et al.'s optimisation and curriculum as an icl_lab ``TrainConfig`` (used only for
    :func:`garg_curriculum`; the reference's loop does not go through icl_lab's trainer)."""
    base = dict(batch_size=GARG_BATCH, lr=GARG_LR, dims_start=GARG_DIMS_START, dims_inc=GARG_DIMS_INC,
                points_start=GARG_POINTS_START, points_inc=GARG_POINTS_INC,
                curriculum_interval=GARG_INTERVAL)
    return TrainConfig(**{**base, **overrides})


def garg_curriculum(step: int, d: int, n_points: int) -> tuple[int, int]:
    """(active dims, points) of Garg's staircase at ``step``, capped at (d, n_points):
    for d = 8, n_points = 17 it is (5, 11), (6, 13), (7, 15), (8, 17) from step 0, 2000, 4000, 6000."""
    return curriculum(garg_train_config(), TaskConfig.of(d=d, n_points=n_points), step)


def lab_twin(ref: TransformerModel) -> ICLRegressor:
    """An ``ICLRegressor`` with the reference's shape: interleaved encoding, same sizes and context."""
    cfg = ref._backbone.config
    mcfg = ModelConfig(encoding="interleaved", n_embd=cfg.n_embd, n_layer=cfg.n_layer, n_head=cfg.n_head,
                       max_points=ref.n_positions)
    return ICLRegressor(mcfg, ref.n_dims)


@torch.no_grad()
def copy_reference_into_lab(ref: TransformerModel, lab: ICLRegressor) -> ICLRegressor:
    """Copy the reference's weights into ``lab`` (HF Conv1D ``[in, out]`` -> Linear ``[out, in]``)."""
    gpt = ref._backbone
    lab.encoder.read_in.load_state_dict(ref._read_in.state_dict())
    lab.head.load_state_dict(ref._read_out.state_dict())
    bb = lab.backbone
    bb.wpe.weight.copy_(gpt.wpe.weight[: bb.wpe.weight.shape[0]])
    bb.ln_f.load_state_dict(gpt.ln_f.state_dict())

    def conv_to_linear(conv: nn.Module, linear: nn.Linear) -> None:
        linear.weight.copy_(conv.weight.T)
        linear.bias.copy_(conv.bias)

    for hf, blk in zip(gpt.h, bb.blocks, strict=True):
        blk.ln_1.load_state_dict(hf.ln_1.state_dict())
        blk.ln_2.load_state_dict(hf.ln_2.state_dict())
        conv_to_linear(hf.attn.c_attn, blk.attn.qkv)  # [q | k | v], heads contiguous in each
        conv_to_linear(hf.attn.c_proj, blk.attn.proj)
        conv_to_linear(hf.mlp.c_fc, blk.mlp[0])
        conv_to_linear(hf.mlp.c_proj, blk.mlp[2])
    return lab
