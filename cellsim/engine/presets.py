"""Tissue presets: published cell lifespans and counts, selectable by name in scenarios.

In a scenario, ``preset = "epidermis"`` inside a ``[[base.tissues]]`` table fills every
field the table does not set (nested groups such as ``telomere`` key by key); the table's
own values win. ``name`` defaults to the preset's name. Each preset is a function whose
docstring names its source; ``cells_in_body`` (with its published uncertainty) is the real
tissue's size, which a simulated sample (``n_cells``) stands for.

Lifespans and counts are from Sender & Milo 2021 (Nat Med 27:45) as published: the
paper's data repository (github.com/milo-lab/cellular_turnover, "Result summary") in its
September 2020 revision, the one the paper reports (docs/MODEL.md lists them). Four
lifespans are rodent values that the paper's human headline leaves out (hepatocyte,
dermal fibroblast, alveolar epithelium, lung interstitial cells): those presets carry
``rodent_lifespan=True`` and stay out of the human whole-body sums unless asked for.
Uncertainties are the published +- (1 SE) or half the published SD range.

The ``blood`` preset is fed by the ``hsc`` preset (a stem compartment): put both in a
scenario (see scenarios/validation/blood.toml).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cellsim.engine.schema import DAYS_PER_YEAR

__all__ = [
    "HSC_DIVISION_INTERVAL_DAYS",
    "PRESETS",
    "Preset",
    "apply_preset",
    "body_turnover",
    "preset",
    "whole_body_set",
]

HSC_DIVISION_INTERVAL_DAYS = 280.0
"""Human HSCs divide about once per 40 weeks, range 25-50 (Catlin et al. 2011, Blood
117:4460)."""
HSC_LOSS_BP_PER_YEAR = 30.0
"""HSC telomere attrition, ~30 bp/year (Mitchell et al. 2022, Nature 606:343)."""
HSC_SAMPLE = 100_000
"""Active HSCs in adults: 50,000-200,000 (Lee-Six 2018); 20,000-200,000 (Mitchell 2022).
The sample is the real compartment size (chosen within both ranges)."""
NEUTROPHIL_LIFESPAN_DAYS = 6.6
LOSS_PER_DIVISION_BP = 100.0  # TelomereParams.loss_mean_bp default (Harley 1990)


@dataclass(frozen=True)
class Preset:
    """A named set of TissueParams values and the real tissue it samples."""

    name: str
    """The preset's name (the name of the function that registers it)."""
    fields: dict[str, Any]
    """The TissueParams values it sets (``lifespan_days`` in days, rates per day, ...)."""
    doc: str
    """The real tissue it samples and the sources of its numbers, as one line."""
    group: str = "other"
    """Sender & Milo's class: blood, gut, skin, lung, liver, vessel, stem."""
    cells_in_body: float | None = None
    """Cells of the real tissue in a reference adult (Sender & Milo 2021); None for a
    compartment not counted."""
    cells_in_body_se: float = 0.0
    """Standard error of ``cells_in_body`` (cells)."""
    lifespan_se_days: float = 0.0
    """Standard error of the cell lifespan (days)."""
    in_whole_body: bool = False
    """Counted in the whole-body turnover (False for the blood/hsc pair, which would count
    neutrophils twice)."""
    rodent_lifespan: bool = False
    """The lifespan is a rodent value (Sender & Milo 2021 leave it out of their human
    headline): out of the human whole-body sums unless ``include_rodent``."""

    @property
    def lifespan_days(self) -> float:
        """The preset's cell lifespan (days)."""
        return float(self.fields["lifespan_days"])

    def turnover_per_day(self) -> float:
        """Cells replaced per day in the whole body: cells_in_body / lifespan."""
        if self.cells_in_body is None:
            return math.nan
        return self.cells_in_body / self.lifespan_days

    def turnover_se_per_day(self) -> float:
        """Standard error of ``turnover_per_day`` (relative errors added in quadrature)."""
        t = self.turnover_per_day()
        if self.cells_in_body is None:
            return math.nan
        rel = math.hypot(
            self.cells_in_body_se / self.cells_in_body, self.lifespan_se_days / self.lifespan_days
        )
        return t * rel


PRESETS: dict[str, Preset] = {}


def preset(
    *,
    group: str,
    cells_in_body: float | None = None,
    cells_in_body_se: float = 0.0,
    lifespan_se_days: float = 0.0,
    in_whole_body: bool = True,
    rodent_lifespan: bool = False,
) -> Callable[[Callable[[], dict[str, Any]]], Callable[[], dict[str, Any]]]:
    """Register the decorated function (its name, returned fields and docstring) as a preset.

    Args:
        group: the body group the tissue belongs to (``blood``, ``gut``, ``skin``, ...).
        cells_in_body: cells of the real tissue in a reference adult (Sender & Milo 2021);
            None for a compartment not counted.
        cells_in_body_se: its standard error (cells).
        lifespan_se_days: the standard error of the cell lifespan (days).
        in_whole_body: counted in the whole-body sums of ``whole_body_set``.
        rodent_lifespan: the lifespan is a rodent value (kept out of human sums).

    Returns:
        The decorator.
    """

    def register(fn: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
        PRESETS[fn.__name__] = Preset(
            name=fn.__name__,
            fields=fn(),
            doc=" ".join((fn.__doc__ or "").split()),
            group=group,
            cells_in_body=cells_in_body,
            cells_in_body_se=cells_in_body_se,
            lifespan_se_days=lifespan_se_days,
            in_whole_body=in_whole_body and cells_in_body is not None,
            rodent_lifespan=rodent_lifespan,
        )
        return fn

    return register


# --- blood ------------------------------------------------------------------------------
@preset(group="blood", cells_in_body=2.55e13, cells_in_body_se=0.1e13, lifespan_se_days=3.0)
def erythrocyte() -> dict[str, Any]:
    """Erythrocytes: lifespan 119 +- 3 d, 2.55e13 cells (Sender & Milo 2021, Nat Med 27:45).
    Anucleate: simulated for turnover only (their telomeres have no meaning)."""
    return {"lifespan_days": 119.0}


@preset(group="blood", cells_in_body=4.0e11, cells_in_body_se=0.73e11, lifespan_se_days=0.5)
def neutrophil() -> dict[str, Any]:
    """Neutrophils: lifespan 6.6 +- 0.5 d (SE) from the post-mitotic marrow stage to death
    (Sender & Milo 2021, after Lahoz-Beneytez 2016). Cells: 4.0e11, the post-mitotic,
    circulating and marginal pools that lifespan applies to, i.e. Sender & Milo's turnover
    6.0 +- 1.1e10/day x 6.6 d (their total of 6.4e11 includes the dividing marrow pool)."""
    return {"lifespan_days": NEUTROPHIL_LIFESPAN_DAYS}


@preset(group="blood", cells_in_body=5.2e9, cells_in_body_se=2.0e9, lifespan_se_days=0.55)
def monocyte() -> dict[str, Any]:
    """Monocytes: lifespan 3.5 d (SD range 3.0-4.1), 5.2e9 cells (3.5-7.6e9)
    (Sender & Milo 2021, source data)."""
    return {"lifespan_days": 3.5}


@preset(group="blood", cells_in_body=3.2e11, cells_in_body_se=2.8e11, lifespan_se_days=12.0)
def b_cell() -> dict[str, Any]:
    """Mature B cells: lifespan 63 d (SD range 52-76), 3.2e11 cells (1.45-7.0e11)
    (Sender & Milo 2021, source data)."""
    return {"lifespan_days": 63.0}


@preset(group="blood", cells_in_body=7.1e11, cells_in_body_se=6.2e11, lifespan_se_days=95.0)
def t_cell() -> dict[str, Any]:
    """Mature T cells: lifespan 320 d (SD range 240-430), 7.1e11 cells (3.2-15.6e11)
    (Sender & Milo 2021; docs/MODEL.md lists the lifespan)."""
    return {"lifespan_days": 320.0}


# --- gut --------------------------------------------------------------------------------
@preset(group="gut", cells_in_body=1.7e10, cells_in_body_se=0.4e10, lifespan_se_days=9.0)
def stomach() -> dict[str, Any]:
    """Stomach epithelium: lifespan 13 +- 9 d, 1.7 +- 0.4e10 cells
    (Sender & Milo 2021, as published)."""
    return {"lifespan_days": 13.0}


@preset(group="gut", cells_in_body=1.2e11, cells_in_body_se=0.2e11, lifespan_se_days=1.7)
def small_intestine() -> dict[str, Any]:
    """Small-intestine epithelium: lifespan 5.3 +- 1.7 d, 1.2 +- 0.2e11 cells
    (Sender & Milo 2021, Nat Med 27:45, as published; the data repository's
    pre-publication 2.8 d is not the paper's value)."""
    return {"lifespan_days": 5.3}


@preset(group="gut", cells_in_body=6.0e10, cells_in_body_se=2.0e10, lifespan_se_days=0.5)
def colon() -> dict[str, Any]:
    """Colon epithelium: lifespan 3.4 +- 0.5 d, 6.0 +- 2.0e10 cells
    (Sender & Milo 2021, Nat Med 27:45, as published)."""
    return {"lifespan_days": 3.4}


# --- skin -------------------------------------------------------------------------------
@preset(group="skin", cells_in_body=1.2e11, cells_in_body_se=0.3e11, lifespan_se_days=4.0)
def epidermis() -> dict[str, Any]:
    """Epidermal cells (keratinocytes): lifespan 31 +- 4 d, 1.2 +- 0.3e11 cells
    (Sender & Milo 2021, Nat Med 27:45)."""
    return {"lifespan_days": 31.0}


@preset(
    group="skin",
    cells_in_body=3.8e10,
    cells_in_body_se=1.6e10,
    lifespan_se_days=20.0,
    rodent_lifespan=True,
)
def dermal_fibroblast() -> dict[str, Any]:
    """Dermal fibroblasts: lifespan 140 +- 20 d, a rodent value, 3.8 +- 1.6e10 cells
    (Sender & Milo 2021, Nat Med 27:45). The TissueParams defaults describe this tissue."""
    return {"lifespan_days": 140.0}


# --- lung, liver, vessels ---------------------------------------------------------------
@preset(
    group="lung",
    cells_in_body=1.09e11,
    cells_in_body_se=0.18e11,
    lifespan_se_days=3.5,
    rodent_lifespan=True,
)
def alveolar_epithelium() -> dict[str, Any]:
    """Alveolar epithelial cells: lifespan 32 d (SD range 29-36), a rodent value, 1.09e11
    cells (0.93-1.28e11) (Sender & Milo 2021, source data)."""
    return {"lifespan_days": 32.0}


@preset(
    group="lung",
    cells_in_body=1.36e11,
    cells_in_body_se=0.5e11,
    lifespan_se_days=30.0,
    rodent_lifespan=True,
)
def lung_interstitial() -> dict[str, Any]:
    """Lung interstitial cells: lifespan 44 d (SD range 23-84), a rodent value, 1.36e11
    cells (Sender & Milo 2021, as published)."""
    return {"lifespan_days": 44.0}


@preset(
    group="liver",
    cells_in_body=2.3e11,
    cells_in_body_se=0.5e11,
    lifespan_se_days=55.0,
    rodent_lifespan=True,
)
def hepatocyte() -> dict[str, Any]:
    """Hepatocytes: lifespan 360 d (SD range 310-420), a rodent value, 2.3e11 cells
    (Sender & Milo 2021, as published). In humans, 14C dating puts the mean hepatocyte
    age under 3 years at every adult age (Heinke 2022)."""
    return {"lifespan_days": 360.0}


@preset(group="vessel", cells_in_body=6.0e11, cells_in_body_se=2.0e11, lifespan_se_days=1200.0)
def endothelium() -> dict[str, Any]:
    """Endothelial cells: lifespan ~2300 +- 1200 d, 6.0 +- 2.0e11 cells
    (Sender & Milo 2021, Nat Med 27:45)."""
    return {"lifespan_days": 2300.0}


# --- the blood system with its stem compartment -----------------------------------------
_BLOOD_SAMPLE = round(HSC_SAMPLE * NEUTROPHIL_LIFESPAN_DAYS / HSC_DIVISION_INTERVAL_DAYS)
_HSC_TELOMERASE = 1.0 - HSC_LOSS_BP_PER_YEAR / (
    LOSS_PER_DIVISION_BP * DAYS_PER_YEAR / HSC_DIVISION_INTERVAL_DAYS
)


@preset(group="blood", in_whole_body=False)
def blood() -> dict[str, Any]:
    """Circulating leukocytes, neutrophil-dominated: lifespan 6.6 d (neutrophils, Sender &
    Milo 2021), every new cell supplied by the ``hsc`` compartment (supply_share 1: mature
    blood cells do not divide; the transit-amplifying divisions in between are not
    modelled, so a supplied cell carries its HSC's telomere). Sample: 2357 cells, sized with
    ``hsc`` so that each HSC divides once per 280 days: hsc.n_cells / (n_cells / 6.6) = 280.
    Its telomere attrition then follows the HSCs' (adult leukocytes lose 23-25 bp/year
    cross-sectionally, 31-38 longitudinally: Muezzinler 2013; Chen 2011; Ye 2023).
    Simulate with a short step (dt_days <= 0.25)."""
    return {
        "lifespan_days": NEUTROPHIL_LIFESPAN_DAYS,
        "n_cells": _BLOOD_SAMPLE,
        "supply_from": "hsc",
        "supply_share": 1.0,
    }


@preset(group="stem", cells_in_body=float(HSC_SAMPLE), in_whole_body=False)
def hsc() -> dict[str, Any]:
    """Haematopoietic stem cells: 100,000 cells, the real compartment size, within the
    active HSCs of adults: 50,000-200,000 (Lee-Six 2018); 20,000-200,000 (Mitchell 2022).
    They divide about once per 40 weeks (Catlin 2011) when feeding the ``blood`` preset
    (asymmetric divisions) and are not lost otherwise (lifespan 1e9 d: chosen). Telomerase
    activity 0.77 is chosen so that HSCs lose ~30 bp/year (Mitchell 2022):
    1 - 30 / (100 bp x 365.25 / 280) = 0.77."""
    return {
        "kind": "stem",
        "n_cells": HSC_SAMPLE,
        "lifespan_days": 1e9,
        "telomere": {"telomerase_stem": round(_HSC_TELOMERASE, 4)},
    }


def apply_preset(data: dict[str, Any]) -> dict[str, Any]:
    """The raw TissueParams input ``data`` with its ``preset`` expanded.

    The preset's values fill keys ``data`` does not set (dict-valued groups merge key by
    key); ``name`` defaults to the preset's name. With a ``lattice`` table, ``n_cells``
    is left to the lattice. Raises ValueError for an unknown preset.
    """
    data = dict(data)
    name = data.pop("preset")
    if name is None:
        return data
    if not isinstance(name, str) or name not in PRESETS:
        known = ", ".join(sorted(PRESETS))
        raise ValueError(f"preset {name!r} is unknown; known presets: {known}")
    fields = copy.deepcopy(PRESETS[name].fields)
    fields.setdefault("name", name)
    if PRESETS[name].cells_in_body is not None:
        fields.setdefault("cells_in_body", PRESETS[name].cells_in_body)
    if data.get("lattice") is not None:
        fields.pop("n_cells", None)
    for key, value in fields.items():
        own = data.get(key)
        if key not in data:
            data[key] = value
        elif isinstance(value, dict) and isinstance(own, dict):
            data[key] = {**value, **own}
    return data


def whole_body_set(include_rodent: bool = False) -> list[Preset]:
    """The presets counted in the human whole-body turnover (each cell type once); those
    with a rodent lifespan only with ``include_rodent``."""
    return [
        p for p in PRESETS.values() if p.in_whole_body and (include_rodent or not p.rodent_lifespan)
    ]


@dataclass
class BodyTurnover:
    """Whole-body turnover computed from presets."""

    per_preset: dict[str, float] = field(default_factory=dict)
    """Cells replaced per day in the whole body, by preset name."""
    total_per_day: float = 0.0
    """Cells replaced per day in the whole body, summed over the presets."""
    total_se_per_day: float = 0.0
    """Standard error of ``total_per_day`` (cells per day)."""
    blood_share: float = 0.0
    """The blood group's share of ``total_per_day`` (0-1)."""
    blood_share_se: float = 0.0
    """Standard error of ``blood_share`` (first order)."""


def body_turnover(
    rates_per_day: dict[str, float] | None = None, include_rodent: bool = False
) -> BodyTurnover:
    """Cells replaced per day in the whole body, and the blood cells' share.

    ``rates_per_day`` (per cell per day, by preset name) replaces 1/lifespan, e.g. with
    rates measured in simulations. Standard errors propagate the presets' published
    uncertainties (first order). Presets with a rodent lifespan count only with
    ``include_rodent`` (Sender & Milo's human headline leaves them out).
    """
    out = BodyTurnover()
    blood = other = 0.0
    var_blood = var_other = 0.0
    for p in whole_body_set(include_rodent):
        assert p.cells_in_body is not None
        rate = (rates_per_day or {}).get(p.name, 1.0 / p.lifespan_days)
        t = p.cells_in_body * rate
        se = t * p.turnover_se_per_day() / p.turnover_per_day()
        out.per_preset[p.name] = t
        if p.group == "blood":
            blood += t
            var_blood += se**2
        else:
            other += t
            var_other += se**2
    total = blood + other
    out.total_per_day = total
    out.total_se_per_day = math.sqrt(var_blood + var_other)
    out.blood_share = blood / total
    # d(share) = (other * d_blood - blood * d_other) / total^2
    out.blood_share_se = math.sqrt(other**2 * var_blood + blood**2 * var_other) / total**2
    return out
