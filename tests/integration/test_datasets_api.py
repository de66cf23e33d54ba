"""Managed datasets through the real server: made, filled with photos of every format a phone
writes and with zips, read, thinned, deleted; hostile archives refused with nothing changed;
the page's region and its live dataset list; and a model trained on uploaded photos."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from websockets.sync.client import connect

from tests.integration.conftest import Server
from tests.utils.dataset_calls import make, send, staging_is_empty, stored
from tests.utils.factories import image_bytes, make_zip
from tests.utils.photos import class_photos, every_format, picture

pytestmark = pytest.mark.contract  # against both web layers

TIMEOUT = 60


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
        yield http


def send_as(client: httpx.Client, name: str, field: str) -> httpx.Response:
    files = {field: ("a.jpg", b"x")}
    return client.post(f"/api/datasets/{name}/images", data={"label": "x"}, files=files)


def send_zip(client: httpx.Client, name: str, data: bytes) -> httpx.Response:
    return client.post(f"/api/datasets/{name}/archive", files={"file": ("photos.zip", data)})


def test_a_dataset_is_made_read_and_deleted(client: httpx.Client) -> None:
    made = make(client, "crud", test_fraction=0.3)
    assert made["split"] == {"rule": "content-hash", "test_fraction": 0.3}
    assert made["problems"] == ["add at least two classes (it has 0)"] and not made["ready"]
    assert client.post("/api/datasets", json={"name": "crud"}).status_code == 409
    assert client.post("/api/datasets", json={"name": "CRUD"}).status_code == 409
    assert client.get("/api/datasets/crud").json()["name"] == "crud"
    listed = {d["name"]: d for d in client.get("/api/datasets").json()}
    assert listed["crud"]["kind"] == "managed" and listed["crud"]["problem"].startswith("not ready")
    assert client.delete("/api/datasets/crud").status_code == 204
    assert client.get("/api/datasets/crud").status_code == 404
    assert client.delete("/api/datasets/crud").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"name": "has space"},
        {"name": "../up"},
        {"name": ".hidden"},
        {"name": "con"},
        {"name": ""},
        {"name": "x" * 65},
        {"name": "ok", "test_fraction": 0.9},
        {"name": "ok", "test_fraction": 0},
        {"name": "ok", "extra": 1},
        {},
    ],
)
def test_bad_dataset_bodies_are_422_with_a_message(client: httpx.Client, body: dict) -> None:
    response = client.post("/api/datasets", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("name", ["demo", "tiny", "pizza_steak_sushi"])
def test_built_in_and_copied_datasets_cannot_be_made_or_deleted(
    client: httpx.Client, name: str
) -> None:
    assert client.post("/api/datasets", json={"name": name}).status_code == 409
    assert client.delete(f"/api/datasets/{name}").status_code == 404


def test_every_photo_a_phone_takes_is_accepted_and_the_rest_say_why(
    client: httpx.Client, server: Server
) -> None:
    make(client, "formats")
    cmyk = image_bytes(picture(7).convert("CMYK"), "JPEG")
    deep = image_bytes(Image.fromarray(np.full((60, 80), 40000, dtype=np.uint16)), "PNG")
    animated = [picture(8), picture(9)]
    gif = image_bytes(animated[0], "GIF", save_all=True, append_images=animated[1:])
    photos = {
        **every_format(seed=20),
        "cmyk.jpg": cmyk,
        "deep.png": deep,
        "moving.gif": gif,
        "empty.jpg": b"",
        "notes.txt": b"milk, eggs",
        "cut.jpg": cmyk[: len(cmyk) // 3],
        "icon.png": image_bytes(picture(1, size=(16, 16)), "PNG"),
    }
    response = send(client, "formats", "pizza", photos)
    assert response.status_code == 200, response.text
    report = response.json()
    assert {a["file"] for a in report["accepted"]} == {
        *every_format(),
        "cmyk.jpg",
        "deep.png",
        "moving.gif",
    }
    reasons = {s["file"]: s["reason"] for s in report["skipped"]}
    assert reasons["empty.jpg"] == "the file is empty"
    assert reasons["notes.txt"].startswith("the file is not an image")
    assert "truncated or corrupt" in reasons["cut.jpg"]
    assert reasons["icon.png"].startswith("too small: 16x16")
    assert report["counts"]["pizza"]["train"] + report["counts"]["pizza"]["test"] == 11
    files = stored(server.data_dir, "formats")
    extensions = {Path(f).suffix for f in files if not f.startswith(".")}
    assert {".heic", ".avif", ".tif", ".webp", ".bmp", ".gif", ".png", ".jpg"} <= extensions
    assert all(
        re.fullmatch(r"[0-9a-f]{32}", Path(f).stem)
        for f in stored(server.data_dir, "formats")
        if f.startswith(("train/", "test/"))
    )


def test_a_retried_batch_adds_nothing_twice(client: httpx.Client, server: Server) -> None:
    make(client, "retry")
    photos = class_photos("sushi", 6)
    first = send(client, "retry", "sushi", photos).json()
    before = stored(server.data_dir, "retry")
    again = send(client, "retry", "sushi", photos).json()
    assert again["accepted"] == [] and len(again["duplicates"]) == len(first["accepted"])
    assert {d["same_as"].split("/")[1] for d in again["duplicates"]} == {"sushi"}
    assert stored(server.data_dir, "retry") == before


def test_the_same_photo_under_two_classes_is_one_photo(client: httpx.Client) -> None:
    make(client, "twice")
    photo = dict(list(class_photos("steak", 1).items())[:1])
    send(client, "twice", "steak", photo)
    report = send(client, "twice", "pizza", photo).json()
    assert report["accepted"] == [] and report["duplicates"][0]["same_as"].endswith(".jpg")


def test_thumbnails_are_small_jpegs_and_photos_can_be_removed(client: httpx.Client) -> None:
    make(client, "thumbs")
    big = {"big.png": image_bytes(picture(3, size=(1600, 1200)), "PNG")}
    photo_id = send(client, "thumbs", "pizza", big).json()["accepted"][0]["id"]
    thumb = client.get(f"/api/datasets/thumbs/images/{photo_id}/thumbnail")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert len(thumb.content) < 20_000
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert max(image.size) == 128
    for bad in ("0" * 32, "../../dataset.json", "x"):
        assert client.get(f"/api/datasets/thumbs/images/{bad}/thumbnail").status_code == 404
        assert client.delete(f"/api/datasets/thumbs/images/{bad}").status_code == 404
    assert client.delete(f"/api/datasets/thumbs/images/{photo_id}").status_code == 204
    assert client.get(f"/api/datasets/thumbs/images/{photo_id}/thumbnail").status_code == 404
    assert client.get("/api/datasets/thumbs").json()["problems"][-1] == (
        "class 'pizza' has no photos yet"
    )


def test_classes_are_added_and_removed_by_name(client: httpx.Client) -> None:
    make(client, "classes")
    url = "/api/datasets/classes/classes"
    assert client.post(url, json={"label": "Ramen 🍜"}).status_code == 201
    assert client.post(url, json={"label": "ramen 🍜"}).status_code == 409
    for label in ("a/b", "train", "", ".x"):
        response = client.post(url, json={"label": label})
        assert response.status_code == 422, label
    assert client.delete("/api/datasets/classes/classes/Ramen%20%F0%9F%8D%9C").status_code == 204
    assert client.delete("/api/datasets/classes/classes/nothing").status_code == 404
    assert client.get("/api/datasets/classes").json()["classes"] == []


def test_upload_bad_requests_are_4xx_with_a_message(client: httpx.Client) -> None:
    make(client, "badreq")
    photo = class_photos("pizza", 1)
    cases = [
        (send(client, "nowhere", "pizza", photo), 404, "no dataset named"),
        (send(client, "badreq", "a/b", photo), 422, "characters a folder name cannot"),
        (send(client, "badreq", "", photo), 400, "'label' field"),
        (client.post("/api/datasets/badreq/images", data={"label": "x"}), 415, "multipart"),
        (client.post("/api/datasets/badreq/images", json={"label": "x"}), 415, "multipart"),
        (send_as(client, "badreq", "photo"), 400, "'files' field"),
        (send_zip(client, "badreq", b"PK"), 422, "not a readable zip"),
    ]
    for response, status, text in cases:
        assert response.status_code == status, response.text
        assert text in response.json()["detail"], response.text
    assert client.get("/api/datasets/badreq").json()["photos"] == []


def test_a_zip_of_class_folders_and_one_with_its_own_split(
    client: httpx.Client, server: Server
) -> None:
    make(client, "zips")
    pizza, sushi = class_photos("pizza", 4), class_photos("sushi", 4)
    classes = {
        **{f"my photos/pizza/{n}": d for n, d in pizza.items()},
        **{f"my photos/sushi/{n}": d for n, d in sushi.items()},
        "my photos/readme.txt": b"hi",
        "__MACOSX/my photos/._x": b"x",
    }
    report = send_zip(client, "zips", make_zip(classes)).json()
    assert len(report["accepted"]) == len(pizza) + len(sushi)
    assert [s["file"] for s in report["skipped"]] == ["my photos/readme.txt"]
    steak = list(class_photos("steak", 2).items())
    split = make_zip(
        {f"train/steak/{steak[0][0]}": steak[0][1], f"test/steak/{steak[1][0]}": steak[1][1]}
    )
    kept = send_zip(client, "zips", split).json()
    assert sorted((a["file"], a["split"]) for a in kept["accepted"]) == [
        (f"test/steak/{steak[1][0]}", "test"),
        (f"train/steak/{steak[0][0]}", "train"),
    ]
    assert staging_is_empty(server.data_dir)


def zip_bomb() -> bytes:
    return make_zip({"pizza/zeros.jpg": b"\0" * (40 * 1024 * 1024)})


def zip_with(info: zipfile.ZipInfo, data: bytes = b"x") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, data)
    return buffer.getvalue()


def symlink_member() -> bytes:
    info = zipfile.ZipInfo("pizza/link.jpg")
    info.create_system = 3
    info.external_attr = (0o120777) << 16
    return zip_with(info, b"/etc/passwd")


@pytest.mark.parametrize(
    ("archive", "reason"),
    [
        (zip_bomb(), "possible zip bomb"),
        (make_zip({"../evil/a.jpg": b"x"}), "escapes the target"),
        (make_zip({"/etc/a.jpg": b"x"}), "absolute path"),
        (symlink_member(), "symbolic link"),
        (make_zip({"pizza/inner.zip": make_zip({"a.jpg": b"x"})}), "archive inside the archive"),
        (make_zip({"Pizza/a.jpg": b"1", "pizza/b.jpg": b"2"}), "differ only in case"),
        (b"this is no zip", "not a readable zip"),
    ],
)
def test_hostile_archives_are_refused_and_change_nothing(
    client: httpx.Client, server: Server, archive: bytes, reason: str
) -> None:
    name = "hostile"
    if client.get(f"/api/datasets/{name}").status_code == 404:
        make(client, name)
        send(client, name, "pizza", class_photos("pizza", 3))
    before = stored(server.data_dir, name)
    response = send_zip(client, name, archive)
    assert response.status_code == 422 and reason in response.json()["detail"], response.text
    assert stored(server.data_dir, name) == before
    assert staging_is_empty(server.data_dir)


def test_the_page_shows_the_dataset_with_names_escaped(client: httpx.Client) -> None:
    make(client, "page")
    send(client, "page", "Fish & Chips 'n' peas", class_photos("pizza", 3))
    html = client.get("/?dataset=page").text
    assert "Fish &amp; Chips &#39;n&#39; peas" in html and "Fish & Chips 'n'" not in html
    assert "/api/datasets/page/images/" in html and 'id="dataset-problems"' in html
    hx = {"HX-Request": "true"}
    refused = client.post("/datasets", data={"name": "no way"}, headers=hx)
    assert refused.status_code == 200 and "not a dataset name" in refused.text
    share = client.post("/datasets", data={"name": "fine", "test_percent": "abc"}, headers=hx)
    assert "test share" in share.text and client.get("/api/datasets/fine").status_code == 404
    made = client.post("/datasets", data={"name": "viapage", "test_percent": "25"}, headers=hx)
    assert 'data-dataset="viapage"' in made.text
    plain = client.post("/datasets/viapage/classes", data={"label": "soup"})
    assert plain.status_code == 303 and plain.headers["location"] == "/?dataset=viapage#datasets"
    report = client.post(
        "/datasets/viapage/photos",
        data={"label": "soup"},
        files=[("files", ("x.txt", b"hello"))],
        headers=hx,
    )
    assert report.status_code == 200 and "x.txt" in report.text and "not an image" in report.text
    assert (
        client.post(
            "/datasets/nowhere/photos",
            headers=hx,
            files=[("files", ("a", b"a"))],
            data={"label": "a"},
        ).status_code
        == 404
    )


def test_the_training_form_hears_of_new_datasets_over_the_page_socket(
    client: httpx.Client, server: Server
) -> None:
    with connect(f"{server.ws_url}/ws", open_timeout=TIMEOUT) as socket:
        snapshot = socket.recv(timeout=TIMEOUT)
        assert 'id="f-dataset"' in str(snapshot)
        make(client, "live")
        pushed = str(socket.recv(timeout=TIMEOUT))
    assert pushed.startswith('<select id="f-dataset" hx-swap-oob="innerHTML">')
    assert 'value="live"' in pushed and "not ready" in pushed


def test_photos_brought_in_train_a_model_that_predicts_every_format(
    client: httpx.Client, server: Server
) -> None:
    make(client, "trained")
    for label in ("pizza", "steak", "sushi"):
        assert send(client, "trained", label, class_photos(label, 8)).status_code == 200
    assert client.get("/api/datasets/trained").json()["ready"]
    server.wait_idle()
    run = client.post(
        "/api/runs",
        json={"dataset": "trained", "architecture": "tinyvgg", "epochs": 1, "batch_size": 8},
    ).json()
    assert client.delete("/api/datasets/trained").status_code == 409
    photo_id = client.get("/api/datasets/trained").json()["photos"][0]["id"]
    assert client.delete(f"/api/datasets/trained/images/{photo_id}").status_code == 409
    assert server.wait_status(run["id"], {"completed", "failed"})["status"] == "completed"
    phone = {
        **every_format(seed=90),
        "48mp.jpg": image_bytes(Image.new("L", (8064, 6048), 99), "JPEG", quality=70),
    }
    for file, data in phone.items():
        files = {"file": (file, data)}
        response = client.post("/api/predict", data={"model": run["id"]}, files=files)
        assert response.status_code == 200, (file, response.text)
        assert response.json()["predictions"][0]["label"] in {"pizza", "steak", "sushi"}
    assert client.delete("/api/datasets/trained").status_code == 204


def test_a_run_on_a_dataset_that_is_not_ready_is_refused_with_what_it_lacks(
    client: httpx.Client,
) -> None:
    make(client, "unready")
    send(client, "unready", "pizza", class_photos("pizza", 4))
    response = client.post("/api/runs", json={"dataset": "unready", "architecture": "tinyvgg"})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["body", "dataset"]
    assert detail["msg"] == "not ready: add at least two classes (it has 1)"


@pytest.mark.parametrize(
    "path",
    [
        "/datasets/nowhere/classes",
        "/datasets/nowhere/remove",
        "/datasets/pagebad/classes/nothing/remove",
        "/datasets/pagebad/photos/../../dataset.json/remove",
        "/datasets/pagebad/photos/not-an-id/remove",
        "/datasets/tiny/remove",
    ],
)
def test_page_actions_on_what_does_not_exist_say_so(client: httpx.Client, path: str) -> None:
    if client.get("/api/datasets/pagebad").status_code == 404:
        make(client, "pagebad")
    response = client.post(path, data={"label": "soup"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'class="error" role="alert"' in response.text
    assert re.search(r"no (dataset|class|photo)|read-only", response.text)
    plain = client.post(path, data={"label": "soup"})
    assert plain.status_code in (303, 404)
