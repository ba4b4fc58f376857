"""licc compare: every codec at the same byte budget, crops where they differ, one picture."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner
from PIL import Image

from conftest import crop
from lic_codec.cli import main
from lic_codec.compare import Coded, choose_crops


def test_compare_fits_every_codec_into_the_budget(use_tiny, photo, tmp_path):
    src = tmp_path / "p.png"
    crop(photo, 160, 96).save(src)
    out, full = tmp_path / "sheet.png", tmp_path / "full"
    r = CliRunner().invoke(main, ["compare", str(src), "--size", "2500", "-o", str(out),
                                  "--full", str(full), "--crop-size", "48"])
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("  ")]
    names = [ln.split()[0] for ln in lines]
    assert names == ["licc-student", "JPEG", "WebP", "AVIF", "JPEG"]  # JPEG XL
    for ln in lines:
        size = int(ln.split("  ")[2].split(" B")[0].replace(",", ""))
        assert size <= 2500 or "over budget" in ln
        assert "SSIMULACRA2" in ln
    sheet = Image.open(out)
    assert sheet.width > 6 * 96 and sheet.height > 2 * 96  # 6 columns, 2 crops at zoom 2
    written = sorted(p.name for p in full.iterdir())
    assert len(written) == 5 and all(Image.open(full / p).size == (160, 96) for p in written)


def test_compare_keeps_a_budget_no_classical_codec_can_meet(use_tiny, photo, tmp_path):
    src = tmp_path / "p.png"
    crop(photo, 64, 64).save(src)
    r = CliRunner().invoke(main, ["compare", str(src), "--bpp", "0.01",
                                  "-o", str(tmp_path / "s.png")])
    assert r.exit_code == 0, r.output
    assert "over budget" in r.output  # 5 bytes: nobody fits, and the picture says so


def test_crops_go_where_the_codecs_differ():
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (128, 192, 3), dtype=np.uint8)
    damaged = ref.copy()
    damaged[70:90, 130:150] = 0
    coded = [Coded("a", 0, 1, ref.copy(), True), Coded("b", 0, 1, damaged, True)]
    (x, y, w, h), = choose_crops(ref, coded, side=32, count=1)
    assert x <= 130 and x + w >= 150 and y <= 70 and y + h >= 90
    boxes = choose_crops(ref, coded, side=32, count=3)
    assert len(boxes) == 3
    for i, a in enumerate(boxes):  # never overlapping
        for b in boxes[i + 1:]:
            assert abs(a[0] - b[0]) >= 32 or abs(a[1] - b[1]) >= 32


def test_compare_refuses_bad_requests(use_tiny, photo, tmp_path):
    src = tmp_path / "p.png"
    crop(photo, 64, 64).save(src)
    run = CliRunner().invoke
    assert run(main, ["compare", str(src)]).exit_code == 2  # no budget
    r = run(main, ["compare", str(src), "--size", "2KB", "--crop", "40,40,32,32"])
    assert r.exit_code == 2 and "outside the 64x64 image" in r.output
    r = run(main, ["compare", str(tmp_path / "missing.png"), "--size", "2KB"])
    assert r.exit_code == 1 and "missing.png: no such file" in r.output
