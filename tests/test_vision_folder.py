"""vision.datasets: ImageFolder / DatasetFolder on small image trees written here with Pillow, and FakeData."""
import os

import numpy as np
import pytest
from PIL import Image

import flambeau
from flambeau.utils.data import DataLoader
from flambeau.vision import datasets, transforms
from flambeau.vision.datasets import folder


def _image(path, mode="RGB", size=(5, 4), seed=0):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    a = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(a).convert(mode).save(path)
    return np.asarray(Image.fromarray(a).convert(mode).convert("RGB"))


@pytest.fixture
def tree(tmp_path):
    """root/{bird,cat,dog,empty}: images of several formats and modes, nested folders, a stray file."""
    root = tmp_path / "train"
    pixels = {
        "dog/x1.png": _image(str(root / "dog" / "x1.png"), seed=1),
        "dog/nested/x0.JPG": None,
        "cat/b.png": _image(str(root / "cat" / "b.png"), "L", seed=2),
        "cat/a.bmp": _image(str(root / "cat" / "a.bmp"), "RGBA", seed=3),
        "bird/z.ppm": _image(str(root / "bird" / "z.ppm"), seed=4),
    }
    _image(str(root / "dog" / "nested" / "x0.JPG"), seed=5)
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "readme.md").write_text("a file beside the class folders")
    (root / "empty").mkdir()
    return root, pixels


def test_image_folder_classes_samples_targets(tree):
    root, pixels = tree
    ds = datasets.ImageFolder(root, allow_empty=True)
    assert ds.classes == ["bird", "cat", "dog", "empty"]
    assert ds.class_to_idx == {"bird": 0, "cat": 1, "dog": 2, "empty": 3}
    rel = [(os.path.relpath(p, root).replace(os.sep, "/"), t) for p, t in ds.samples]
    # sorted within each class, nested folders after the class folder's own files, extensions case-insensitive
    assert rel == [("bird/z.ppm", 0), ("cat/a.bmp", 1), ("cat/b.png", 1), ("dog/x1.png", 2), ("dog/nested/x0.JPG", 2)]
    assert ds.targets == [0, 1, 1, 2, 2] and ds.imgs is ds.samples and len(ds) == 5
    img, target = ds[2]
    assert isinstance(img, Image.Image) and img.mode == "RGB" and target == 1       # grey PNG loaded as RGB
    np.testing.assert_array_equal(np.asarray(img), pixels["cat/b.png"])
    np.testing.assert_array_equal(np.asarray(ds[1][0]), pixels["cat/a.bmp"])       # RGBA -> RGB
    assert "Number of datapoints: 5" in repr(ds) and f"Root location: {root}" in repr(ds)


def test_image_folder_transforms_and_loader(tree):
    root, pixels = tree
    ds = datasets.ImageFolder(str(root), transform=transforms.ToTensor(), target_transform=lambda t: t * 10,
                              allow_empty=True)
    x, y = ds[3]
    assert x.shape == (3, 4, 5) and x.dtype == flambeau.float32 and y == 20
    np.testing.assert_array_equal(x.numpy(), pixels["dog/x1.png"].transpose(2, 0, 1) / np.float32(255))
    sizes = datasets.ImageFolder(root, loader=os.path.getsize, allow_empty=True)
    assert all(isinstance(s, int) and s > 0 for s, _ in sizes)
    loader = DataLoader(datasets.ImageFolder(root, transform=transforms.Compose([transforms.Resize((4, 4)),
                                                                                  transforms.PILToTensor()]),
                                             allow_empty=True), batch_size=2)
    batches = list(loader)
    assert [tuple(b[0].shape) for b in batches] == [(2, 3, 4, 4), (2, 3, 4, 4), (1, 3, 4, 4)]
    assert batches[0][1].tolist() == [0, 1]


def test_valid_files_and_empty_classes(tree):
    root, _ = tree
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes empty. Supported extensions are: "
                                                ".jpg, .jpeg, .png"):
        datasets.ImageFolder(root)
    only_png = datasets.ImageFolder(root, is_valid_file=lambda p: p.endswith(".png"), allow_empty=True)
    assert [t for _, t in only_png.samples] == [1, 2]
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes bird, dog, empty"):
        datasets.DatasetFolder(root, loader=open, extensions=".txt")
    texts = datasets.DatasetFolder(root, loader=lambda p: open(p).read(), extensions=(".txt",), allow_empty=True)
    assert texts[0] == ("not an image", 1) and texts.extensions == (".txt",)
    with pytest.raises(ValueError, match="Both extensions and is_valid_file cannot be None or not None"):
        datasets.DatasetFolder(root, loader=open)
    with pytest.raises(ValueError, match="Both extensions and is_valid_file cannot be None or not None"):
        datasets.DatasetFolder(root, loader=open, extensions=".png", is_valid_file=lambda p: True)
    (root.parent / "flat").mkdir()
    (root.parent / "flat" / "a.png").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder in"):
        datasets.ImageFolder(root.parent / "flat")


def test_folder_helpers_and_overrides(tree):
    root, _ = tree
    assert folder.find_classes(root) == (["bird", "cat", "dog", "empty"], {"bird": 0, "cat": 1, "dog": 2, "empty": 3})
    assert folder.has_file_allowed_extension("A.PNG", ".png") and folder.is_image_file("x.webp")
    assert not folder.is_image_file("x.gif")
    picked = folder.make_dataset(str(root), {"dog": 5, "missing": 1}, extensions=".png", allow_empty=True)
    assert [(os.path.basename(p), t) for p, t in picked] == [("x1.png", 5)]
    with pytest.raises(ValueError, match="'class_to_index' must have at least one entry"):
        folder.make_dataset(str(root), {}, extensions=".png")
    with pytest.raises(ValueError, match="The class_to_idx parameter cannot be None"):
        datasets.DatasetFolder.make_dataset(str(root), None, extensions=".png")

    class TwoClasses(datasets.ImageFolder):
        def find_classes(self, directory):
            return ["cat", "dog"], {"cat": 0, "dog": 1}

    ds = TwoClasses(root)
    assert ds.classes == ["cat", "dog"] and ds.targets == [0, 0, 1, 1]


def test_fake_data():
    ds = datasets.FakeData(size=5, image_size=(3, 6, 7), num_classes=4, transform=transforms.PILToTensor())
    state = flambeau.get_rng_state()
    x, y = ds[2]
    assert flambeau.equal(flambeau.get_rng_state(), state)    # the global generator is left alone
    assert x.shape == (3, 6, 7) and x.dtype == flambeau.uint8 and type(y) is int and 0 <= y < 4
    x2, y2 = ds[2]
    assert flambeau.equal(x, x2) and y == y2                  # the same item every time
    assert not flambeau.equal(ds[3][0], x)
    assert len({ds[i][1] for i in range(5)} | {datasets.FakeData(size=50, num_classes=4, image_size=(1, 1, 1))[i][1]
                                                for i in range(50)}) == 4
    shifted = datasets.FakeData(size=5, image_size=(3, 6, 7), num_classes=4, random_offset=1,
                                transform=transforms.PILToTensor())
    assert flambeau.equal(shifted[1][0], x)                   # item i with offset k is item i + k
    assert datasets.FakeData(size=2, image_size=(1, 3, 4))[0][0].mode == "L"
    assert datasets.FakeData(size=2, target_transform=lambda t: t + 100, image_size=(3, 2, 2))[0][1] >= 100
    assert len(datasets.FakeData()) == 1000
    with pytest.raises(IndexError, match="FakeData index out of range"):
        ds[5]


def test_image_backend():
    from flambeau import vision
    assert vision.get_image_backend() == "PIL"
    vision.set_image_backend("PIL")
    with pytest.raises(ValueError, match="Invalid backend 'cv2'. Options are 'PIL' and 'accimage'"):
        vision.set_image_backend("cv2")
    with pytest.raises(NotImplementedError, match="accimage"):
        vision.set_image_backend("accimage")
