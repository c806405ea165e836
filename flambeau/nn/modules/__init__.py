"""nn layers, by family."""
from .module import Module, register_module_forward_pre_hook, register_module_forward_hook
from .container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict
from .linear import Identity, Linear, Bilinear
from .flatten import Flatten, Unflatten
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d
from .pooling import (MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, MaxUnpool1d, MaxUnpool2d, AdaptiveAvgPool1d,
                      AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, LPPool1d, LPPool2d)
from .activation import (ReLU, ReLU6, LeakyReLU, PReLU, RReLU, ELU, SELU, CELU, GELU, SiLU, Mish, Sigmoid, Tanh,
                         Softplus, Softsign, Softmax, LogSoftmax, Softmin, Softmax2d, Hardtanh, Hardsigmoid,
                         Hardswish, Threshold, Tanhshrink, LogSigmoid, Softshrink, Hardshrink, GLU)
from .loss import (L1Loss, MSELoss, SmoothL1Loss, HuberLoss, CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss,
                   KLDivLoss, MarginRankingLoss, HingeEmbeddingLoss, CosineEmbeddingLoss, TripletMarginLoss,
                   MultiMarginLoss, SoftMarginLoss, PoissonNLLLoss, GaussianNLLLoss, MultiLabelSoftMarginLoss)
from .normalization import (BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d,
                            LayerNorm, GroupNorm, RMSNorm, LocalResponseNorm)
from .dropout import Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout, FeatureAlphaDropout
from .sparse import Embedding
from .rnn import RNNBase, RNN, LSTM, GRU, RNNCellBase, RNNCell, LSTMCell, GRUCell
from .padding import (ZeroPad1d, ZeroPad2d, ZeroPad3d, ConstantPad1d, ConstantPad2d, ConstantPad3d, ReflectionPad1d,
                      ReflectionPad2d, ReflectionPad3d, ReplicationPad1d, ReplicationPad2d, ReplicationPad3d,
                      CircularPad1d, CircularPad2d, CircularPad3d)
from .pixelshuffle import PixelShuffle, PixelUnshuffle
from .distance import CosineSimilarity, PairwiseDistance
from .upsampling import Upsample, UpsamplingNearest2d, UpsamplingBilinear2d
from .lazy import (LazyLinear, LazyConv1d, LazyConv2d, LazyConv3d, LazyConvTranspose1d, LazyConvTranspose2d,
                   LazyConvTranspose3d, LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d, LazyInstanceNorm1d,
                   LazyInstanceNorm2d, LazyInstanceNorm3d)
from .conv import ConvTranspose3d
from .pooling import MaxPool3d, AvgPool3d, MaxUnpool3d, AdaptiveAvgPool3d, AdaptiveMaxPool3d, LPPool3d
from .transformer import (MultiheadAttention, Transformer, TransformerEncoder, TransformerDecoder,
                          TransformerEncoderLayer, TransformerDecoderLayer)
from .sparse import EmbeddingBag
from .loss import MultiLabelMarginLoss, TripletMarginWithDistanceLoss, CTCLoss
from .fold import Fold, Unfold
from .pixelshuffle import ChannelShuffle
from .fractional import FractionalMaxPool2d, FractionalMaxPool3d
from .adaptive import AdaptiveLogSoftmaxWithLoss
from .legacy import NLLLoss2d, CrossMapLRN2d
from .linear_cross_entropy import LinearCrossEntropyLoss
from .._linear_cross_entropy import LinearCrossEntropyOptions
