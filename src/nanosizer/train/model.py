"""DeepLabv3+ with a ResNet-18 encoder in plain torch (Chen et al. 2018; He et al. 2016).

Output stride 16 (the last stage dilated), atrous spatial pyramid pooling, and a decoder that
joins the upsampled context with the stride-4 features. The network takes a normalised
micrograph in [0, 1] (one channel) and returns the particle probability at full resolution,
so the exported ONNX file is all an inference run needs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn(cin: int, cout: int, kernel: int = 3, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """Convolution, batch norm, ReLU; 'same' padding for odd kernels."""
    pad = dilation * (kernel - 1) // 2
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, pad, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def separable_bn(cin: int, cout: int, dilation: int = 1) -> nn.Sequential:
    """Atrous separable 3×3 convolution (depthwise, then pointwise), as DeepLabv3+ uses."""
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, 1, dilation, dilation=dilation, groups=cin, bias=False),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class BasicBlock(nn.Module):
    """The two-convolution residual block of ResNet-18."""

    def __init__(self, cin: int, cout: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, dilation, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x), inplace=True)


class ResNet18Encoder(nn.Module):
    """ResNet-18 returning the stride-4 and stride-16 features (stage 4 dilated, not strided)."""

    def __init__(self, in_channels: int = 1):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(in_channels, 64, 7, 2), nn.MaxPool2d(3, 2, 1))
        self.layer1 = nn.Sequential(BasicBlock(64, 64), BasicBlock(64, 64))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128))
        self.layer3 = nn.Sequential(BasicBlock(128, 256, 2), BasicBlock(256, 256))
        self.layer4 = nn.Sequential(BasicBlock(256, 512, 1, 2), BasicBlock(512, 512, 1, 2))

    def forward(self, x):
        low = self.layer1(self.stem(x))
        high = self.layer4(self.layer3(self.layer2(low)))
        return low, high


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: 1×1, three dilated separable 3×3 and image-level pooling."""

    def __init__(self, cin: int, cout: int, rates=(6, 12, 18)):
        super().__init__()
        self.branches = nn.ModuleList([conv_bn(cin, cout, 1)] + [separable_bn(cin, cout, r) for r in rates])
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False), nn.ReLU())
        self.project = nn.Sequential(conv_bn(cout * (len(rates) + 2), cout, 1), nn.Dropout(0.1))

    def forward(self, x):
        pooled = self.pool(x).expand(-1, -1, x.shape[2], x.shape[3])
        return self.project(torch.cat([b(x) for b in self.branches] + [pooled], dim=1))


class DeepLabV3Plus(nn.Module):
    """DeepLabv3+ (ResNet-18, output stride 16) for binary particle segmentation.

    Parameters
    ----------
    decoder_channels : int
        Width of ASPP and decoder (the original uses 256; 128 keeps the exported file under
        50 MB and trains faster on a CPU).
    mean, std : float
        Input normalisation applied inside the network, so inference feeds [0, 1] images.
    in_channels : int
        1: the image alone; 2: the image and a constant polarity plane (0 bright field, 1 dark
        field, whose images come inverted): the network can tell a dark-field support, taken
        for background, from a bright-field particle of the same grey (:func:`polarity_plane`).
    """

    def __init__(
        self, decoder_channels: int = 128, mean: float = 0.5, std: float = 0.25, in_channels: int = 1
    ):
        super().__init__()
        self.mean, self.std = mean, std
        self.in_channels = in_channels
        self.encoder = ResNet18Encoder(in_channels)
        self.aspp = ASPP(512, decoder_channels)
        self.skip = conv_bn(64, 48, 1)
        self.decoder = nn.Sequential(
            separable_bn(decoder_channels + 48, decoder_channels),
            separable_bn(decoder_channels, decoder_channels),
        )
        self.head = nn.Conv2d(decoder_channels, 1, 1)

    def encoded(self, x):
        """The encoder's stride-4 and stride-16 maps and the decoder's stride-4 features (H and W
        multiples of 16): what the segmentation head and the shape branch read."""
        image = (x[:, :1] - self.mean) / self.std
        low, high = self.encoder(torch.cat([image, x[:, 1:]], dim=1) if self.in_channels > 1 else image)
        return low, high, self.decoded(low, high)

    def decoded(self, low, high):
        """The decoder's stride-4 features from the encoder's stride-4 and stride-16 maps: ASPP
        on ``high``, upsampled and joined with the projected ``low``."""
        context = F.interpolate(self.aspp(high), size=low.shape[2:], mode="bilinear", align_corners=False)
        return self.decoder(torch.cat([context, self.skip(low)], dim=1))

    def features(self, x):
        """The decoder's stride-4 features, which the heads read (H and W multiples of 16)."""
        return self.encoded(x)[2]

    def logits(self, x):
        """Particle logits at the input resolution (H and W must be multiples of 16)."""
        out = self.head(self.features(x))
        return F.interpolate(out, size=x.shape[2:], mode="bilinear", align_corners=False)

    def forward(self, x):
        return torch.sigmoid(self.logits(x))


def polarity_plane(x: torch.Tensor, dark_field) -> torch.Tensor:
    """``x`` (N, 1, H, W) with the polarity plane as a second channel: ``dark_field`` one flag
    for all, or one per sample (1 for dark-field images, fed inverted; 0 for bright field)."""
    flags = torch.as_tensor(dark_field, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
    return torch.cat([x, flags.expand(x.shape[0], 1, *x.shape[2:])], dim=1)


def widened_input(state: dict, in_channels: int) -> dict:
    """A state dict whose first convolution takes ``in_channels``: the new channels' weights are
    zero, so the network computes exactly what it did on the image alone until trained."""
    key = "encoder.stem.0.0.weight"
    weight = state[key]
    if weight.shape[1] >= in_channels:
        return state
    extra = weight.new_zeros((weight.shape[0], in_channels - weight.shape[1], *weight.shape[2:]))
    return {**state, key: torch.cat([weight, extra], dim=1)}
