"""The HTML review dossier: golden bytes, determinism under perturbation, the CLI's rules,
escaping, and the chart hooks (review-html.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("jinja2")

from scripts.html_goldens import CASES, DIFF, GOLDEN, ROOT, pack_of, render, render_diff

VLAB = [sys.executable, "-m", "vlab"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_dossier_bytes(name: str) -> None:
    """Regenerate with ``python -m scripts.html_goldens`` when a change is intended."""
    assert render(name) == (GOLDEN / f"{name}.html").read_bytes()


def test_same_bytes_under_perturbation(tmp_path: Path) -> None:
    """Hash seed, locale, time zone and working directory do not change a byte."""
    name = "d1-03-mismatch"
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from scripts.html_goldens import render; "
        f"sys.stdout.buffer.write(render({name!r}))"
    )
    env = dict(os.environ, PYTHONHASHSEED="12345", TZ="Pacific/Kiritimati", LC_ALL="C.UTF-8")
    env["LANG"] = "tr_TR.UTF-8"
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=True,
    ).stdout
    assert out == (GOLDEN / f"{name}.html").read_bytes()


def _ruling(tmp_path: Path, name: str) -> Path:
    out = subprocess.run(
        [*VLAB, "adjudicate", str(pack_of(name)), "--format", "json"],
        capture_output=True,
    ).stdout
    path = tmp_path / "ruling.json"
    path.write_bytes(out)
    return path


def test_cli_writes_the_golden_page(tmp_path: Path) -> None:
    ruling = _ruling(tmp_path, "d1-02-overrun")
    page = tmp_path / "d.html"
    md = tmp_path / "d.md"
    done = subprocess.run(
        [
            *VLAB,
            "review",
            str(ruling),
            "--pack",
            str(pack_of("d1-02-overrun")),
            "--out",
            f"html={page}",
            "--out",
            f"md={md}",
        ],
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    assert page.read_bytes() == (GOLDEN / "d1-02-overrun.html").read_bytes()
    assert md.read_text("utf-8").startswith("# Ruling dossier")


def test_html_needs_a_pack(tmp_path: Path) -> None:
    ruling = _ruling(tmp_path, "d1-02-overrun")
    done = subprocess.run(
        [*VLAB, "review", str(ruling), "--out", f"html={tmp_path / 'x.html'}"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 64
    assert "--pack" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.html").exists()


def test_page_is_self_contained_and_hooked() -> None:
    for name in [*CASES, DIFF[0]]:
        page = (GOLDEN / f"{name}.html").read_text("utf-8")
        assert 'id="topline"' in page
        assert "<script" not in page and "http://" not in page.replace(
            'xmlns="http://www.w3.org/2000/svg"', ""
        )
        assert "https://" not in page and "@import" not in page and "url(http" not in page
        assert "not a badge, rank or certification" in page
        for figure in page.split("<figure")[1:]:
            assert figure.startswith(' data-clause="CL-')
            assert '<svg role="img"' in figure and "<title>" in figure


def test_charts_are_drawn_for_their_clauses() -> None:
    d103 = (GOLDEN / "d1-03-mismatch.html").read_text("utf-8")
    assert '<figure data-clause="CL-D1-03">' in d103
    assert "LEDGER-DECISION-MISMATCH" in d103.split('<figure data-clause="CL-D1-03">')[1]
    d102 = (GOLDEN / "d1-02-overrun.html").read_text("utf-8")
    assert '<figure data-clause="CL-D1-02">' in d102
    assert "url(#overrun)" in d102 and "OVERRUN" in d102
    for name, clause in (
        ("d1-04-matrix-3x4x5", "CL-D1-04"),
        ("d5-01-verifier-compromised", "CL-D5-01"),
    ):
        assert f'<figure data-clause="{clause}">' in (GOLDEN / f"{name}.html").read_text("utf-8")
    d501 = (GOLDEN / "d5-01-verifier-compromised.html").read_text("utf-8")
    assert "recomputed grade VERIFIER_COMPROMISED; claimed VERIFIED_STRONG" in d501
    d104 = (GOLDEN / "d1-04-matrix-3x4x5.html").read_text("utf-8")
    assert "3 targets x 4 tests x 5 trials" in d104 and "S = skipped (16)" in d104


def test_pack_strings_are_escaped(tmp_path: Path) -> None:
    """A ruling's strings reach the page HTML-escaped (and control characters shown)."""
    from vlab.engine.pipeline import adjudicate
    from vlab.engine.ruling import Ruling
    from vlab.tools.pool import catalog_for
    from vlab.tools.review import review_html

    catalog = catalog_for(())
    pack = pack_of("d1-02-overrun")
    data = adjudicate(pack, catalog).to_json()
    data["clauses"][0]["title"] = '<script>alert(1)</script>\u202e"'
    page = review_html(Ruling.from_json(data), pack, catalog)[0].decode("utf-8")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\u202e" not in page


def test_usage_error_without_jinja2(tmp_path: Path) -> None:
    ruling = _ruling(tmp_path, "d1-02-overrun")
    code = (
        "import sys, runpy; sys.modules['jinja2'] = None; sys.argv[0] = 'vlab'; "
        "runpy.run_module('vlab', run_name='__main__')"
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "review",
            str(ruling),
            "--pack",
            str(pack_of("d1-02-overrun")),
            "--out",
            f"html={tmp_path / 'x.html'}",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 64, done.stderr
    assert "html" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_severity_and_waiver_are_shown() -> None:
    from dataclasses import replace

    from vlab.engine.pipeline import adjudicate
    from vlab.engine.ruling import ClauseWaiver
    from vlab.tools.pool import catalog_for
    from vlab.tools.review import review_html

    catalog = catalog_for(())
    pack = pack_of("d1-03-mismatch")
    ruling = adjudicate(pack, catalog)
    waiver = ClauseWaiver("W-<1>", "known & accepted", "ops", "2027-01-01T00:00:00Z")
    clauses = tuple(
        replace(c, severity="high", waiver=waiver) if c.status == "FAIL" else c
        for c in ruling.clauses
    )
    page = review_html(replace(ruling, clauses=clauses), pack, catalog)[0].decode("utf-8")
    assert "waived by W-&lt;1&gt; (approved by ops, expires 2027-01-01T00:00:00Z)" in page
    assert "known &amp; accepted" in page
    assert '<th scope="row">severity</th><td>high</td>' in page


def test_golden_diff_dossier(tmp_path: Path) -> None:
    page = render_diff(tmp_path)
    assert page == (GOLDEN / f"{DIFF[0]}.html").read_bytes()
    text = page.decode("utf-8")
    assert 'id="topline"' in text and 'id="pack-1"' in text and 'href="#pack-1"' in text


def test_batch_hook() -> None:
    from vlab.render.html import render_batch_html

    page = render_batch_html(
        {"packs": 2, "corpus": "c<1>"},
        [
            {"pack": "a", "topline": "PASS", "reason_codes": []},
            {"pack": "b<x>", "topline": "FAIL", "reason_codes": ["REQ-FAIL-X"], "ruling": "b.json"},
        ],
    ).decode("utf-8")
    assert 'class="badge FAIL"' in page and "worst topline: FAIL" in page
    assert "b&lt;x&gt;" in page and "c&lt;1&gt;" in page and 'id="pack-2"' in page
    assert page == render_batch_html(
        {"corpus": "c<1>", "packs": 2},
        [
            {"pack": "a", "topline": "PASS", "reason_codes": []},
            {"pack": "b<x>", "topline": "FAIL", "reason_codes": ["REQ-FAIL-X"], "ruling": "b.json"},
        ],
    ).decode("utf-8")


def test_imported_pack_names_its_native_origin() -> None:
    page = (GOLDEN / "d1-03-imported-hal0.html").read_text("utf-8")
    assert "imported: derived from native/hal0/" in page
    assert '<figure data-clause="CL-D1-03">' in page


def test_refused_and_hostile_packs_render(tmp_path: Path) -> None:
    """Packs the gates refuse still get a page (no chart, no crash), and the same bytes
    twice."""
    from vlab.engine.pipeline import adjudicate
    from vlab.tools.pool import catalog_for
    from vlab.tools.review import review_html

    catalog = catalog_for(())
    packs = sorted(p.parent for p in (ROOT / "evidence_packs" / "admission").glob("*/pack/."))
    assert packs
    for pack in packs:
        ruling = adjudicate(pack, catalog)
        page = review_html(ruling, pack, catalog)[0]
        assert b'id="topline"' in page
        assert page == review_html(ruling, pack, catalog)[0]
