"""FakeData: random images and labels, the same for the same index every time."""
from ... import _dtype
from ..._ops import creation as _creation
from .. import transforms
from .vision import VisionDataset

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """``size`` random PIL images (standard normal values of shape ``image_size`` (C, H, W), made
    into 8-bit images by ``ToPILImage``) with random labels in [0, ``num_classes``).

    Item ``i`` is drawn from a generator seeded with ``i + random_offset``, so it is the same at
    every access, in every worker, and reading it leaves the global random state alone.

    Example:
        >>> ds = FakeData(size=4, image_size=(3, 8, 8), num_classes=3)
        >>> img, label = ds[0]
        >>> img.size, 0 <= label < 3, ds[0][1] == label
        ((8, 8), True, True)
    """

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None, target_transform=None,
                 random_offset=0):
        super().__init__(transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index):
        if index >= len(self):
            raise IndexError(f"{self.__class__.__name__} index out of range: index {index}, size {len(self)}")
        # a private generator, not the global one reseeded and restored (which would also reseed cuda's)
        g = _creation.Generator()
        g.manual_seed(index + self.random_offset)
        img = _creation.randn(*self.image_size, generator=g)
        target = _creation.randint(0, self.num_classes, size=(1,), dtype=_dtype.int64, generator=g)[0]
        img = transforms.ToPILImage()(img)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target.item()

    def __len__(self):
        return self.size
