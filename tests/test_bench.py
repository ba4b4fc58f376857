"""BD-rate against known curves, and the bench harness end to end on two tiny images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import crop

from lic_codec.bdrate import bd_rate

RATES = [0.1, 0.2, 0.4, 0.8, 1.6]
PSNRS = [27.0, 29.5, 32.0, 34.5, 37.0]


def test_bd_rate_of_a_curve_against_itself_is_zero():
    assert bd_rate(RATES, PSNRS, RATES, PSNRS) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("factor", [0.9, 0.5, 1.25])
def test_bd_rate_of_a_scaled_curve(factor):
    """Same PSNR at factor x the rate everywhere: BD-rate is exactly (factor - 1)."""
    test = [r * factor for r in RATES]
    assert bd_rate(RATES, PSNRS, test, PSNRS) == pytest.approx((factor - 1) * 100, abs=1e-6)
    assert bd_rate(test, PSNRS, RATES, PSNRS) == pytest.approx((1 / factor - 1) * 100, abs=1e-6)


def test_bd_rate_within_a_window():
    # a test curve 10% dearer below 32 dB and 30% dearer above: the window picks the part
    psnr = [28.0, 30.0, 31.0, 32.0, 33.0, 34.0, 36.0]
    rate = [0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0]
    test = [r * (1.1 if d <= 32 else 1.3) for r, d in zip(rate, psnr)]
    whole = bd_rate(rate, psnr, test, psnr)
    assert 10 < whole < 30
    assert bd_rate(rate, psnr, test, psnr, within=(33.0, 36.0)) > whole
    assert bd_rate(rate, psnr, test, psnr, within=(28.0, 31.0)) < whole
    assert bd_rate(rate, psnr, test, psnr, within=(40.0, 45.0)) is None


def test_bd_rate_without_overlap_or_points():
    assert bd_rate(RATES, PSNRS, RATES, [p + 20 for p in PSNRS]) is None
    assert bd_rate(RATES[:3], PSNRS[:3], RATES, PSNRS) is None


@pytest.mark.slow
def test_bench_end_to_end(use_tiny, photo, tmp_path):
    from lic_codec.cli import main

    d = tmp_path / "imgs"
    d.mkdir()
    crop(photo, 48, 40).save(d / "a.png")
    crop(photo, 33, 64).save(d / "b.png")
    out, png = tmp_path / "r.json", tmp_path / "rd.png"
    r = CliRunner().invoke(main, ["bench", str(d), "--quality", "0,30,60,100",
                                  "--no-speed", "--json", str(out), "--plot", str(png)])
    assert r.exit_code == 0, r.output
    rep = json.loads(out.read_text())
    names = set(rep["curves"])
    assert {"licc-student", "JPEG", "WebP", "JPEG XL"} <= names  # JPEG XL: the test extra
    assert len(rep["rows"]) == 2 * sum(len(c["quality"]) for c in rep["curves"].values())
    for row in rep["rows"]:  # (licc here is a tiny untrained network: a few dB)
        assert row["bpp"] > 0 and np.isfinite(row["psnr"]) and row["ms_ssim"] is None
        assert row["ssimulacra2"] < 100  # MS-SSIM needs >= 161 px
        if row["codec"] != "licc-student":
            assert 20 < row["psnr"] < 60
    for name in ("JPEG", "WebP", "JPEG XL"):  # the ends of their mean curves are ordered
        cur = rep["curves"][name]
        assert cur["bpp"][0] < cur["bpp"][-1] and cur["psnr"][0] < cur["psnr"][-1]
        assert cur["ssimulacra2"][0] < cur["ssimulacra2"][-1]
    bd = rep["bd_rate"]["JPEG"]
    assert bd["PSNR vs WebP"] is not None and bd["SSIMULACRA2 vs WebP"] is not None
    assert bd["MS-SSIM vs WebP"] is None
    assert png.stat().st_size > 1000
    assert "BD-rate SSIMULACRA2 vs WebP" in r.output


def test_rescore_recomputes_a_saved_report_against_every_reference(tmp_path):
    """An old report (AVIF and WebP only in its table) gains the JPEG column from its curves;
    a codec whose curve is the reference's with 20% fewer bytes scores -20% against it."""
    from lic_codec.cli import main

    def curve(scale, shift=0.0):
        return {"bpp": [r * scale for r in RATES], "psnr": [p + shift for p in PSNRS],
                "ms_ssim": [None] * 5, "ssimulacra2": [None] * 5,
                "encode_s": [0.1] * 5, "decode_s": [0.2] * 5}

    report = {"date": "2026-12-01T00:00:00+00:00", "command": "licc bench x", "commit": "abc",
              "machine": "m", "threads": 1, "images": 2, "directory": "/data/val",
              "curves": {"AVIF": curve(1.0), "WebP": curve(1.25), "JPEG": curve(2.0),
                         "licc-student": curve(0.8)},
              "published": {}, "bd_rate": {"licc-student": {"PSNR vs AVIF": 0.0}},
              "speed": None, "rows": []}
    path, out = tmp_path / "val.json", tmp_path / "new.json"
    path.write_text(json.dumps(report))
    r = CliRunner().invoke(main, ["bench", "--rescore", str(path), "--json", str(out)])
    assert r.exit_code == 0, r.output
    new = json.loads(out.read_text())
    bd = new["bd_rate"]["licc-student"]
    assert bd["PSNR vs AVIF"] == pytest.approx(-20.0, abs=0.01)
    assert bd["PSNR vs JPEG"] == pytest.approx(-60.0, abs=0.01)
    assert bd["SSIMULACRA2 vs JPEG"] is None
    assert new["date"] == report["date"] and new["rescored"]["command"].startswith("licc bench")
    assert "BD-rate PSNR vs JPEG" in r.output and "recomputed" in r.output
    assert json.loads(path.read_text()) == report  # without --write-results: untouched

    path.write_text("{}")
    r = CliRunner().invoke(main, ["bench", "--rescore", str(path)])
    assert r.exit_code == 1 and "val.json: not a bench report" in r.output


def test_bench_without_folder_says_what_to_do(monkeypatch, tmp_path):
    from lic_codec import cli

    monkeypatch.setattr(cli, "_default_bench_dir", lambda: None)
    r = CliRunner().invoke(cli.main, ["bench"])
    assert r.exit_code == 1 and "pass a folder" in r.output


def test_speed_table_without_compressai(tiny_weights, photo, tmp_path, monkeypatch):
    """CompressAI is an extra: without it the speed table still times licc itself."""
    import builtins

    from lic_codec.bench import speed_comparison

    real_import = builtins.__import__

    def no_compressai(name, *args, **kwargs):
        if name.split(".")[0] == "compressai":
            raise ImportError("No module named 'compressai'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_compressai)
    img = tmp_path / "a.png"
    crop(photo, 64, 64).save(img)
    res = speed_comparison(img, ["student"], tiny_weights, repeats=1)
    assert list(res["times"]) == ["licc-student"]
    assert res["times"]["licc-student"]["decode_x_student"] == 1.0


def test_sweep_report_tabulates_bd_rate_against_the_anchor(tmp_path, capsys):
    from training.sweep_report import main as report

    def write(name, factor):
        summary = [{"quality": q, "bpp": r * factor, "psnr": p, "skipped_channels": 1.0,
                    "encode_s": 0.1, "decode_s": 0.2} for q, r, p in zip(range(5), RATES, PSNRS)]
        (tmp_path / f"{name}.json").write_text(json.dumps({"summary": summary}))
        return str(tmp_path / f"{name}.json")

    half, base = write("half", 0.5), write("base", 1.0)
    report([half, base, "--anchor", base, "--out", str(tmp_path / "s.json")])
    lines = [x for x in capsys.readouterr().out.splitlines() if x.startswith("| ")]
    assert lines[1].startswith("| base | +0.00%") and lines[2].startswith("| half | -50.00%")
    assert json.loads((tmp_path / "s.json").read_text())["half"]["bd_rate_pct"] == pytest.approx(-50)


def test_training_curve_reports_bd_rate_against_avif(photo, tmp_path, capsys, monkeypatch):
    """A run whose evaluations sit at AVIF's own points reads 0%, one at half AVIF's bytes
    -50%, and an evaluation with three qualities gets no number. AVIF's curve is coded once
    per image set and then read from the cache, until an image changes."""
    import lic_codec.bench
    from training import curve
    from training.curve import avif_curve, main

    monkeypatch.setattr(curve, "CACHE", tmp_path / "cache" / "avif.json")
    data = tmp_path / "kodak"
    data.mkdir()
    crop(photo, 128, 96).save(data / "a.png")
    crop(photo.rotate(180), 128, 96).save(data / "b.png")
    bpp, psnr = avif_curve(data, 2)
    coded = lic_codec.bench.run_rd

    def no_coding(*a, **k):
        raise AssertionError("AVIF coded again")

    monkeypatch.setattr(lic_codec.bench, "run_rd", no_coding)
    assert avif_curve(data, 2) == (bpp, psnr)
    crop(photo, 96, 96).save(data / "b.png")  # another image: coded afresh
    with pytest.raises(AssertionError, match="coded again"):
        avif_curve(data, 2)
    crop(photo.rotate(180), 128, 96).save(data / "b.png")
    monkeypatch.setattr(lic_codec.bench, "run_rd", coded)
    run = tmp_path / "run"
    run.mkdir()
    rows = ["step\tquality\tbpp\tpsnr\tskipped_channels\timages"]
    for step, scale, n in ((10, 1.0, 9), (20, 0.5, 9), (30, 0.5, 3)):
        rows += [f"{step}\t{i}\t{b * scale}\t{p}\t0\t2"
                 for i, (b, p) in enumerate(zip(bpp[:n], psnr))]
    (run / "eval.tsv").write_text("\n".join(rows) + "\n")
    main([str(run), "--data", str(data)])
    out = [line.split("\t") for line in capsys.readouterr().out.splitlines()[1:]]
    assert [(r[1], r[3]) for r in out] == [("10", "9"), ("20", "9"), ("30", "3")]
    assert abs(float(out[0][4])) < 0.05 and float(out[1][4]) == pytest.approx(-50.0, abs=0.05)
    assert out[2][4] == "-"


def test_training_curve_against_an_evaluate_report(tmp_path, capsys):
    """--against REPORT: the BD-rate against that network's curve on the same images, the
    PSNR gap at equal rate per quality, and a run evaluated on another number of images is
    refused."""
    from training.curve import main

    bpp, psnr = [0.2, 0.4, 0.7, 1.1, 1.6], [28.0, 30.5, 32.5, 34.0, 35.0]
    summary = [{"bpp": b, "psnr": p} for b, p in zip(bpp, psnr)]
    report = tmp_path / "ref.json"
    report.write_text(json.dumps({"images": 12, "model": "student", "model_id": "ab" * 16,
                                  "summary": summary}))
    run = tmp_path / "run"
    run.mkdir()
    rows = ["step\tquality\tbpp\tpsnr\tskipped_channels\timages"]
    rows += [f"3000\t{i}\t{b * 2}\t{p}\t0\t12" for i, (b, p) in enumerate(zip(bpp, psnr))]
    (run / "eval.tsv").write_text("\n".join(rows) + "\n")
    main([str(run), "--against", str(report)])
    out = capsys.readouterr().out.splitlines()
    assert "student abababab" in out[0]
    assert float(out[1].split("\t")[4]) == pytest.approx(100.0, abs=0.05)
    # twice the rate for the same PSNR: below the reference at equal rate, by the reference's
    # own slope (log-rate interpolation); past its top rate, no number
    assert out[1].split("\t")[5] == "-2.50 -2.44 -2.14 . ."
    (run / "eval.tsv").write_text("\n".join(r.replace("\t12", "\t4") for r in rows) + "\n")
    with pytest.raises(SystemExit, match="4 images"):
        main([str(run), "--against", str(report)])
