"""DatasetFolder and ImageFolder: samples found on disk, one sub-folder per class.

    root/dog/xxx.png
    root/dog/nested/xxy.jpeg
    root/cat/123.png

Classes are the sub-folder names of ``root``, sorted (``class_to_idx`` numbers them in that
order); samples are the valid files under each class folder (recursively, links followed),
sorted by path within each class.
"""
import os

from .vision import VisionDataset

__all__ = ["DatasetFolder", "ImageFolder", "IMG_EXTENSIONS", "default_loader", "pil_loader", "find_classes",
           "make_dataset", "has_file_allowed_extension", "is_image_file"]

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def has_file_allowed_extension(filename, extensions):
    """Whether ``filename`` ends with one of ``extensions`` (a str or a tuple; case-insensitive)."""
    return filename.lower().endswith(extensions if isinstance(extensions, str) else tuple(extensions))


def is_image_file(filename):
    return has_file_allowed_extension(filename, IMG_EXTENSIONS)


def find_classes(directory):
    """(classes, class_to_idx): the sorted sub-folder names of ``directory`` and their indices.

    Raises:
        FileNotFoundError: when ``directory`` has no sub-folder.
    """
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
    return classes, {name: i for i, name in enumerate(classes)}


def make_dataset(directory, class_to_idx=None, extensions=None, is_valid_file=None, allow_empty=False):
    """[(path, class_index)] of the valid files under ``directory/<class>`` for each class of
    ``class_to_idx`` (found with ``find_classes`` when None). A file is valid when its name has
    one of ``extensions``, or when ``is_valid_file(path)`` says so: exactly one of the two is given.

    Raises:
        ValueError: for an empty ``class_to_idx``, or neither / both of extensions and is_valid_file.
        FileNotFoundError: when a class has no valid file (unless ``allow_empty``).
    """
    directory = os.path.expanduser(directory)
    if class_to_idx is None:
        _, class_to_idx = find_classes(directory)
    elif not class_to_idx:
        raise ValueError("'class_to_index' must have at least one entry to collect any samples.")
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("Both extensions and is_valid_file cannot be None or not None at the same time")
    if extensions is not None:
        def is_valid_file(path):
            return has_file_allowed_extension(path, extensions)
    instances = []
    found = set()
    for target_class in sorted(class_to_idx):
        class_index = class_to_idx[target_class]
        target_dir = os.path.join(directory, target_class)
        if not os.path.isdir(target_dir):
            continue
        for root, _, fnames in sorted(os.walk(target_dir, followlinks=True)):
            for fname in sorted(fnames):
                path = os.path.join(root, fname)
                if is_valid_file(path):
                    instances.append((path, class_index))
                    found.add(target_class)
    empty = set(class_to_idx) - found
    if empty and not allow_empty:
        msg = f"Found no valid file for the classes {', '.join(sorted(empty))}. "
        if extensions is not None:
            msg += f"Supported extensions are: {extensions if isinstance(extensions, str) else ', '.join(extensions)}"
        raise FileNotFoundError(msg)
    return instances


class DatasetFolder(VisionDataset):
    """A dataset of files in class folders: ``root/<class>/.../<file>``; item ``i`` is
    ``(transform(loader(path)), target_transform(class_index))``.

    Args:
        root (str or Path): the folder holding one sub-folder per class.
        loader (callable): path -> sample.
        extensions (tuple of str): file name endings to take (or give ``is_valid_file``).
        is_valid_file (callable): path -> bool, which files to take.
        allow_empty (bool): a class folder without valid files is an error unless True.

    Attributes: ``classes`` (sorted names), ``class_to_idx``, ``samples`` ([(path, class_index)]),
    ``targets`` (the class indices).
    """

    def __init__(self, root, loader, extensions=None, transform=None, target_transform=None, is_valid_file=None,
                 allow_empty=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        classes, class_to_idx = self.find_classes(self.root)
        samples = self.make_dataset(self.root, class_to_idx=class_to_idx, extensions=extensions,
                                    is_valid_file=is_valid_file, allow_empty=allow_empty)
        self.loader = loader
        self.extensions = extensions
        self.classes = classes
        self.class_to_idx = class_to_idx
        self.samples = samples
        self.targets = [s[1] for s in samples]

    @staticmethod
    def make_dataset(directory, class_to_idx, extensions=None, is_valid_file=None, allow_empty=False):
        """Override to change how samples are found (``class_to_idx`` is required here)."""
        if class_to_idx is None:
            # a None would make make_dataset() look for classes itself, bypassing a find_classes() override
            raise ValueError("The class_to_idx parameter cannot be None.")
        return make_dataset(directory, class_to_idx, extensions=extensions, is_valid_file=is_valid_file,
                            allow_empty=allow_empty)

    def find_classes(self, directory):
        """Override to change how classes are found (e.g. a folder layout other than one per class)."""
        return find_classes(directory)

    def __getitem__(self, index):
        path, target = self.samples[index]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __len__(self):
        return len(self.samples)


def pil_loader(path):
    """The image file at ``path`` as an RGB PIL image (read fully, the file closed)."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("loading image files needs Pillow: pip install 'flambeau[vision]'") from None
    with open(path, "rb") as f:
        img = Image.open(f)
        return img.convert("RGB")


def default_loader(path):
    """``pil_loader`` (flambeau has no other image backend)."""
    from .. import get_image_backend
    if get_image_backend() != "PIL":
        raise NotImplementedError(f"image backend {get_image_backend()!r} is not available in flambeau; only 'PIL'")
    return pil_loader(path)


class ImageFolder(DatasetFolder):
    """``DatasetFolder`` of image files (``IMG_EXTENSIONS`` unless ``is_valid_file`` is given),
    loaded as RGB PIL images by default. ``imgs`` is ``samples``.

    Example:
        >>> ds = ImageFolder("data/train", transform=transforms.ToTensor())   # doctest: +SKIP
        >>> ds.classes, ds[0][0].shape                                         # doctest: +SKIP
        (['cat', 'dog'], torch.Size([3, 32, 32]))
    """

    def __init__(self, root, transform=None, target_transform=None, loader=default_loader, is_valid_file=None,
                 allow_empty=False):
        super().__init__(root, loader, IMG_EXTENSIONS if is_valid_file is None else None, transform=transform,
                         target_transform=target_transform, is_valid_file=is_valid_file, allow_empty=allow_empty)
        self.imgs = self.samples
