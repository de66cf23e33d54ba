"""Decoding any image Pillow reads into the RGB picture a person would see."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from food_vision.images import (
    CorruptImage,
    NotAnImage,
    TooManyPixels,
    load_photo,
    open_image,
    to_rgb,
    verify_image,
)
from tests.utils.factories import image_bytes
from tests.utils.photos import every_format

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
    with pytest.raises(NotAnImage, match="not an image"):
        open_image(b"this is not an image")
    truncated = image_bytes(Image.new("RGB", (64, 64), RED), "JPEG")[:300]
    with pytest.raises(CorruptImage):
        open_image(truncated)
    with pytest.raises(NotAnImage, match="empty"):
        open_image(b"")


@pytest.mark.parametrize("name", sorted(every_format()))
def test_every_format_a_phone_writes_decodes_to_rgb(name: str) -> None:
    photo = load_photo(every_format()[name])
    assert photo.image.mode == "RGB" and photo.image.size == (96, 72)
    assert photo.extension == "." + name.split(".")[1]


@pytest.mark.parametrize("fmt", ["HEIF", "AVIF", "JPEG", "WEBP", "TIFF"])
def test_exif_orientation_is_applied_in_every_format_that_carries_it(fmt: str) -> None:
    image = Image.new("RGB", (40, 20), RED)
    image.paste(BLUE, (20, 0, 40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    rgb = open_image(image_bytes(image, fmt, exif=exif.tobytes()))
    assert rgb.size == (20, 40)
    assert dominant(rgb.getpixel((10, 5))) == "red"


def test_an_ico_file_is_recognised_but_not_accepted() -> None:
    with pytest.raises(NotAnImage, match="ICO images are not accepted"):
        open_image(image_bytes(Image.new("RGB", (32, 32), RED), "ICO"))


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (image_bytes(Image.new("RGB", (64, 64), RED), "PNG")[:60], CorruptImage),
        (image_bytes(Image.new("RGB", (64, 64), RED), "HEIF")[:120], CorruptImage),
        (image_bytes(Image.new("RGB", (64, 64), RED), "AVIF")[:120], CorruptImage),
        (b"\xff\xd8\xff" + b"\x00" * 40, CorruptImage),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", NotAnImage),
    ],
)
def test_damaged_files_are_corrupt_and_others_not_images(data: bytes, error: type) -> None:
    with pytest.raises(error):
        load_photo(data)


@pytest.fixture(scope="module")
def photo_48mp() -> bytes:
    """An 8064 x 6048 JPEG (a 48 MP phone photo), greyscale to keep the test light."""
    return image_bytes(Image.new("L", (8064, 6048), 90), "JPEG", quality=80)


def test_a_48_megapixel_jpeg_decodes_at_reduced_scale_within_the_pixel_limit(photo_48mp) -> None:
    photo = load_photo(photo_48mp, max_pixels=40_000_000, min_side=1024)
    assert photo.stored_size == (8064, 6048)
    assert photo.image.size == (2016, 1512)  # 1/4 scale: the smallest with 1024 on each side
    small = load_photo(photo_48mp, max_pixels=40_000_000, min_side=224)
    assert small.image.size == (1008, 756)  # 1/8, the decoder's smallest scale


def test_the_pixel_limit_applies_to_what_is_decoded(photo_48mp) -> None:
    with pytest.raises(TooManyPixels, match="8064x6048"):
        load_photo(photo_48mp, max_pixels=40_000_000)  # no reduction asked: all 48 MP


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims ``width`` x ``height`` pixels."""
    data = bytearray(image_bytes(Image.new("RGB", (16, 16), RED), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_a_jpeg_header_bomb_is_refused_even_at_reduced_scale() -> None:
    with pytest.raises(TooManyPixels, match="reduced from 65000x65000"):
        load_photo(jpeg_claiming(65000, 65000), max_pixels=50_000_000, min_side=224)


def test_a_huge_jpeg_claim_without_its_data_costs_only_its_reduced_size() -> None:
    photo = load_photo(jpeg_claiming(20000, 15000), max_pixels=50_000_000, min_side=224)
    assert photo.image.size == (2500, 1875)  # 1/8 scale: 4.7 MP, never the claimed 300 MP


def test_formats_without_reduced_decoding_keep_their_full_size_under_the_limit() -> None:
    data = image_bytes(Image.new("RGB", (3000, 2000), RED), "PNG")
    with pytest.raises(TooManyPixels, match="3000x2000"):
        load_photo(data, max_pixels=1_000_000, min_side=224)
    assert load_photo(data, max_pixels=6_000_000, min_side=224).image.size == (3000, 2000)


def test_verify_image_checks_structure_without_decoding(tmp_path: Path) -> None:
    good = tmp_path / "good.heic"
    good.write_bytes(every_format()["photo.heic"])
    assert verify_image(good) == "HEIF"
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    with pytest.raises(NotAnImage):
        verify_image(text)
