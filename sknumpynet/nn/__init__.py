"""The engine: neural-network building blocks in plain numpy.

Nothing here imports scikit-learn, so the engine can be read and used on its
own. See :class:`Module` for the contract every block follows.
"""

from . import init
from ._module import Module, Parameter, Sequential, pack_parameters
from .activations import (
    GELU,
    SELU,
    LeakyReLU,
    Mish,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
    log_softmax,
    softmax,
)
from .gradcheck import GradientCheckError, check_loss_gradients, check_module_gradients
from .layers import BatchNorm1d, CategoricalEmbedding, Dropout, Embedding, Identity, Linear, Scale
from .losses import (
    AbsoluteErrorLoss,
    CrossEntropy,
    HuberLoss,
    Loss,
    MSELoss,
    MultiClassHinge,
    PoissonLoss,
    QuantileLoss,
    SigmoidBinaryCrossEntropy,
    SoftmaxCrossEntropy,
)
from .optimizers import SGD, Adam, Momentum, Nadam, Optimizer, RMSProp
from .penalties import L2Penalty
from .schedules import (
    ConstantLR,
    CosineLR,
    CosLogLR,
    FlatCosLR,
    InverseScalingLR,
    LRSchedule,
    Plateau,
    ReduceLROnPlateau,
    get_schedule,
)

__all__ = [
    "SGD",
    "AbsoluteErrorLoss",
    "Adam",
    "BatchNorm1d",
    "CategoricalEmbedding",
    "ConstantLR",
    "CosLogLR",
    "CosineLR",
    "CrossEntropy",
    "Dropout",
    "Embedding",
    "FlatCosLR",
    "GELU",
    "GradientCheckError",
    "HuberLoss",
    "Identity",
    "InverseScalingLR",
    "L2Penalty",
    "LRSchedule",
    "LeakyReLU",
    "Linear",
    "Loss",
    "Mish",
    "MSELoss",
    "Module",
    "Momentum",
    "MultiClassHinge",
    "Nadam",
    "Optimizer",
    "Parameter",
    "Plateau",
    "PoissonLoss",
    "QuantileLoss",
    "RMSProp",
    "ReLU",
    "ReduceLROnPlateau",
    "SELU",
    "Scale",
    "Sequential",
    "SiLU",
    "Sigmoid",
    "SigmoidBinaryCrossEntropy",
    "Softmax",
    "SoftmaxCrossEntropy",
    "Tanh",
    "check_loss_gradients",
    "check_module_gradients",
    "get_schedule",
    "init",
    "log_softmax",
    "pack_parameters",
    "softmax",
]
