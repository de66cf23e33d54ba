"""The origin's prediction request, reproduced in-process: every request rebuilt the model,
loaded its weights from disk, predicted one image and drew a matplotlib figure of it."""

from __future__ import annotations

import io
from pathlib import Path


def origin_predict(folder: Path, image_path: Path) -> bytes:
    """Rebuild + load weights, predict one image, plot it (label as title) to a PNG."""
    import matplotlib.pyplot as plt
    import torch
    from PIL import Image

    from food_vision.bundle import load_bundle
    from food_vision.transforms import eval_transform

    model, meta = load_bundle(folder)
    image = Image.open(image_path).convert("RGB")
    transform = eval_transform(meta.input_size, meta.mean, meta.std)
    with torch.inference_mode():
        probabilities = torch.softmax(model(transform(image).unsqueeze(0)), dim=1)
    label = meta.classes[int(probabilities.argmax())]
    figure = plt.figure()
    plt.imshow(image)
    plt.title(f"Pred: {label} | Prob: {probabilities.max():.3f}")
    plt.axis(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()
