"""Decoding any image Pillow reads into the RGB picture a person would see."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

from food_vision.images import open_image, to_rgb
from tests.utils.factories import image_bytes

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def close(pixel: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 1) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def test_rgb_keeps_its_pixels() -> None:
    image = Image.fromarray(np.arange(48, dtype=np.uint8).reshape(4, 4, 3))
    rgb = to_rgb(image)
    assert (rgb.mode, rgb.size, rgb.tobytes()) == ("RGB", (4, 4), image.tobytes())


def test_rgba_is_composited_on_white() -> None:
    image = Image.new("RGBA", (3, 1))
    image.putpixel((0, 0), (255, 0, 0, 255))  # opaque red
    image.putpixel((1, 0), (255, 0, 0, 0))  # transparent red: white
    image.putpixel((2, 0), (0, 0, 0, 128))  # half-transparent black: mid grey
    rgb = to_rgb(image)
    assert rgb.mode == "RGB"
    assert rgb.getpixel((0, 0)) == RED
    assert rgb.getpixel((1, 0)) == WHITE
    assert close(rgb.getpixel((2, 0)), (127, 127, 127))


def test_la_is_composited_on_white() -> None:
    image = Image.new("LA", (2, 1))
    image.putpixel((0, 0), (40, 255))
    image.putpixel((1, 0), (40, 0))
    rgb = to_rgb(image)
    assert rgb.mode == "RGB"
    assert rgb.getpixel((0, 0)) == (40, 40, 40)
    assert rgb.getpixel((1, 0)) == WHITE


def test_palette_with_transparent_index_shows_white() -> None:
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 6))
    image.putpixel((0, 0), 0)  # black, but index 0 is transparent
    image.putpixel((1, 0), 1)  # red
    image.info["transparency"] = 0
    decoded = open_image(image_bytes(image, "PNG", transparency=0))
    for rgb in (to_rgb(image), decoded):
        assert rgb.mode == "RGB"
        assert rgb.getpixel((0, 0)) == WHITE
        assert rgb.getpixel((1, 0)) == RED


def test_cmyk_converts_to_rgb() -> None:
    image = Image.new("CMYK", (2, 1))
    image.putpixel((0, 0), (0, 0, 0, 0))  # no ink: white
    image.putpixel((1, 0), (0, 255, 255, 0))  # magenta + yellow: red
    rgb = to_rgb(image)
    assert rgb.mode == "RGB"
    assert rgb.getpixel((0, 0)) == WHITE
    assert rgb.getpixel((1, 0)) == RED


def test_16_bit_greyscale_is_scaled_not_clipped() -> None:
    values = np.array([[0, 1000, 32768, 65535]], dtype=np.uint16)
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    for rgb in (to_rgb(image), open_image(image_bytes(image, "PNG"))):
        assert rgb.mode == "RGB"
        # Clipping would give 255 for everything above 255; scaling keeps mid grey mid grey.
        assert [rgb.getpixel((x, 0))[0] for x in range(4)] == [0, 4, 128, 255]
        assert rgb.getpixel((2, 0)) == (128, 128, 128)


def test_greyscale_l_becomes_grey_rgb() -> None:
    rgb = to_rgb(Image.new("L", (2, 2), 77))
    assert rgb.mode == "RGB"
    assert rgb.getpixel((1, 1)) == (77, 77, 77)


def test_one_bit_image_becomes_rgb() -> None:
    rgb = to_rgb(Image.new("1", (2, 2), 1))
    assert rgb.getpixel((0, 0)) == WHITE


def test_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (6, 4), color) for color in (RED, BLUE, (0, 255, 0))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    with Image.open(path) as gif:
        assert gif.n_frames == 3
        gif.seek(2)  # a caller left it on another frame
        assert to_rgb(gif).getpixel((0, 0)) == RED
    rgb = open_image(path)
    assert rgb.size == (6, 4)
    assert rgb.getpixel((3, 2)) == RED


def exif_rotated_jpeg(orientation: int) -> bytes:
    """40x20 stored pixels: left half red, right half blue, with an EXIF orientation tag."""
    image = Image.new("RGB", (40, 20), RED)
    image.paste(BLUE, (20, 0, 40, 20))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return image_bytes(image, "JPEG", exif=exif.tobytes(), quality=95)


def dominant(pixel: tuple[int, int, int]) -> str:
    return {0: "red", 2: "blue"}.get(int(np.argmax(pixel)), "other")


def test_exif_orientation_6_is_applied() -> None:
    """Orientation 6: the camera was turned, view rotated 90 degrees clockwise."""
    rgb = open_image(exif_rotated_jpeg(6))
    assert rgb.size == (20, 40)  # portrait, as the person saw it
    # Rotating clockwise moves the stored left (red) half to the top.
    assert dominant(rgb.getpixel((10, 5))) == "red"
    assert dominant(rgb.getpixel((10, 34))) == "blue"


def test_exif_orientation_applied_by_to_rgb_on_an_open_file() -> None:
    with Image.open(io.BytesIO(exif_rotated_jpeg(8))) as image:
        rgb = to_rgb(image)
    assert rgb.size == (20, 40)
    # Orientation 8 rotates counter-clockwise: the stored right (blue) half goes to the top.
    assert dominant(rgb.getpixel((10, 5))) == "blue"
    assert dominant(rgb.getpixel((10, 34))) == "red"


def test_without_orientation_nothing_turns() -> None:
    rgb = open_image(exif_rotated_jpeg(1))
    assert rgb.size == (40, 20)
    assert dominant(rgb.getpixel((5, 10))) == "red"


def test_open_image_accepts_path_bytes_and_file(tmp_path: Path) -> None:
    data = image_bytes(Image.new("RGBA", (5, 3), (0, 0, 255, 255)), "PNG")
    path = tmp_path / "x.png"
    path.write_bytes(data)
    for source in (path, data, io.BytesIO(data)):
        rgb = open_image(source)
        assert (rgb.mode, rgb.size, rgb.getpixel((4, 2))) == ("RGB", (5, 3), BLUE)


def test_open_image_returns_an_independent_copy(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    Image.new("RGB", (3, 3), RED).save(path)
    rgb = open_image(path)
    path.unlink()  # the file is closed and the pixels are loaded
    assert rgb.getpixel((1, 1)) == RED


def test_open_image_refuses_non_images_and_truncated_files() -> None:
    with pytest.raises(UnidentifiedImageError):
        open_image(b"this is not an image")
    truncated = image_bytes(Image.new("RGB", (64, 64), RED), "JPEG")[:300]
    with pytest.raises(OSError):
        open_image(truncated)
