"""Tissue presets: sources, the fill-in rule, scenario use and the whole-body arithmetic."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from cellsim.config.scenario import ScenarioError, load_scenario
from cellsim.engine.params import ModelParams, TissueParams
from cellsim.engine.presets import PRESETS, apply_preset, body_turnover, whole_body_set

# docs/MODEL.md's reference table (Sender & Milo 2021 as published, corrected 2026-12):
# lifespan (days), cell count, and whether the lifespan is a rodent value.
MODEL_MD = {
    "stomach": (13.0, 1.7e10, False),
    "small_intestine": (5.3, 1.2e11, False),
    "colon": (3.4, 6e10, False),
    "epidermis": (31.0, 1.2e11, False),
    "erythrocyte": (119.0, 2.55e13, False),
    "endothelium": (2300.0, 6e11, False),
    "neutrophil": (6.6, 4.0e11, False),
    "monocyte": (3.5, 5.2e9, False),
    "b_cell": (63.0, 3.2e11, False),
    "t_cell": (320.0, 7.1e11, False),
    "hepatocyte": (360.0, 2.3e11, True),
    "dermal_fibroblast": (140.0, None, True),
    "alveolar_epithelium": (32.0, None, True),
    "lung_interstitial": (44.0, 1.36e11, True),
}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_names_its_source(name):
    """Each preset's docstring cites an author and a year, and its fields are valid."""
    p = PRESETS[name]
    assert re.search(r"[A-Z][a-z]+(-[A-Z][a-z]+)?( & [A-Z][a-z]+)? (19|20)\d\d", p.doc), p.doc
    TissueParams(**p.fields)


@pytest.mark.parametrize("name", sorted(MODEL_MD))
def test_presets_carry_model_md_values(name):
    life, count, rodent = MODEL_MD[name]
    p = PRESETS[name]
    assert p.lifespan_days == life
    assert p.rodent_lifespan == rodent
    if count is not None:
        assert p.cells_in_body == count


def test_preset_fills_only_unset_fields():
    """Table values win; nested groups merge key by key; name defaults to the preset."""
    t = TissueParams(preset="epidermis", n_cells=500, lifespan_days=40.0)
    assert (t.name, t.lifespan_days, t.n_cells) == ("epidermis", 40.0, 500)
    h = TissueParams(preset="hsc", name="marrow", telomere={"initial_mean_bp": 11000.0})
    assert h.name == "marrow" and h.kind == "stem"
    assert h.telomere.initial_mean_bp == 11000.0
    assert h.telomere.telomerase_stem == PRESETS["hsc"].fields["telomere"]["telomerase_stem"]
    assert h.telomere.loss_mean_bp == 100.0  # untouched default
    # the preset key does not survive validation; a dump re-validates to the same params
    assert TissueParams.model_validate(t.model_dump()) == t
    assert "preset" not in t.model_dump()


def test_unknown_preset_is_a_one_line_error():
    with pytest.raises(ValidationError, match="preset 'liver' is unknown; known presets: "):
        TissueParams(preset="liver")
    with pytest.raises(ValueError, match="unknown"):
        apply_preset({"preset": 3})


def test_blood_needs_its_stem_compartment():
    """The blood preset is fed by 'hsc': alone it fails validation with a clear message."""
    with pytest.raises(ValidationError, match="supply_from='hsc'"):
        ModelParams(tissues=[{"preset": "blood"}])
    m = ModelParams(tissues=[{"preset": "blood"}, {"preset": "hsc"}])
    assert [t.name for t in m.tissues] == ["blood", "hsc"]


def test_blood_and_hsc_are_sized_for_one_division_per_40_weeks_and_30_bp_per_year():
    """Every blood vacancy is one HSC division: HSC divisions per day = blood cells /
    6.6 d; per HSC that is once per hsc.n_cells / (blood.n_cells / 6.6) ~ 280 days
    (Catlin 2011), and (1 - a) x 100 bp x 365.25/280 = 30 bp/year (Mitchell 2022)."""
    blood, hsc = PRESETS["blood"].fields, PRESETS["hsc"].fields
    interval = hsc["n_cells"] / (blood["n_cells"] / blood["lifespan_days"])
    assert abs(interval - 280.0) < 0.2
    assert 20_000 <= hsc["n_cells"] <= 200_000
    a = hsc["telomere"]["telomerase_stem"]
    assert abs((1 - a) * 100.0 * 365.25 / 280.0 - 30.0) < 0.1


def test_whole_body_turnover_is_the_sum_of_counts_over_lifespans():
    """Computed independently from the presets' published values."""
    b = body_turnover()
    total = sum(p.cells_in_body / p.lifespan_days for p in whole_body_set())
    blood = sum(p.cells_in_body / p.lifespan_days for p in whole_body_set() if p.group == "blood")
    assert math.isclose(b.total_per_day, total)
    assert math.isclose(b.blood_share, blood / total)
    # the erythrocytes alone: 2.55e13 / 119 = 2.1e11 per day
    assert math.isclose(b.per_preset["erythrocyte"], 2.55e13 / 119.0)
    assert "blood" not in b.per_preset and "hsc" not in b.per_preset
    # rodent lifespans stay out of the human sum unless asked for
    rodent = {n for n, (_, _, r) in MODEL_MD.items() if r}
    assert not rodent & set(b.per_preset)
    assert rodent <= set(body_turnover(include_rodent=True).per_preset)


def test_corrected_presets_give_the_published_headline():
    """Sender & Milo 2021: ~3.3e11 cells/day in humans, ~86% blood, ~12% gut."""
    b = body_turnover()
    gut = sum(b.per_preset[n] for n in ("stomach", "small_intestine", "colon"))
    assert abs(b.total_per_day - 3.3e11) < 0.1e11
    assert abs(b.blood_share - 0.86) < 0.01
    assert abs(gut / b.total_per_day - 0.12) < 0.01


def test_presets_in_a_scenario_file(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        """
[[base.tissues]]
preset = "small_intestine"
n_cells = 200

[[arms]]
name = "a"
set = { "small_intestine.lifespan_days" = 3.0 }
"""
    )
    sc = load_scenario(path)
    t = sc.resolved()["a"].tissues[0]
    assert (t.name, t.n_cells, t.lifespan_days) == ("small_intestine", 200, 3.0)
    path.write_text('[[base.tissues]]\npreset = "kidney"\n')
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    msg = str(exc.value)
    assert "preset 'kidney' is unknown" in msg and "\n" not in msg


def test_validation_blood_scenario_is_valid():
    sc = load_scenario(Path(__file__).resolve().parents[1] / "scenarios/validation/blood.toml")
    p = next(iter(sc.resolved().values()))
    assert {t.name for t in p.tissues} == {"blood", "hsc"}
