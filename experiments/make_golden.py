"""Write tests/data/golden/parrots96x64_<name>_<id>_f<format>.licc for every installed
network: a q50 file of the 96x64 parrots crop, which the tests decode for as long as licc
exists (see test_shipped.py). Run it whenever new weights ship or the format's version
changes; existing golden files are never touched (those of format 1 have no _f1 suffix).

Results: tests/data/golden/ (not results: the files the tests decode).

    python experiments/make_golden.py
"""

from pathlib import Path

from PIL import Image

from lic_codec.codec import Codec
from lic_codec.format.constants import FORMAT_VERSION
from lic_codec.models.registry import available

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "data" / "golden"


def main() -> None:
    im = Image.open(REPO / "tests" / "data" / "parrots.png").convert("RGB").crop((0, 0, 96, 64))
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name in available():
        codec = Codec(name)
        path = GOLDEN / f"parrots96x64_{name}_{codec.model_id.hex()[:8]}_f{FORMAT_VERSION}.licc"
        if path.exists():
            print(f"{path.name} exists: kept")
            continue
        path.write_bytes(codec.encode(im, quality=50))
        print(f"wrote {path.name}")


if __name__ == "__main__":
    main()
