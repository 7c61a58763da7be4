"""The Hayflick question from Python: the template to copy for your own scenario scripts.

Builds the parameters of scenarios/hayflick_question.toml in code, runs every arm with
replicates, summarises years to pool exhaustion and to neoplasia with Kaplan-Meier
estimates, and saves a figure of the functional fraction and pool size over time.

    python scenarios/flagship_script.py                       # full size (~1 min, 2 cores)
    python scenarios/flagship_script.py --n-cells 2000 --replicates 3 --out /tmp/flagship
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.exhaustion import format_summary, summary_table
from analysis.plots import plot_functional_and_pool
from cellsim.config.plan import RunSpec
from cellsim.engine.params import (
    ClearanceParams,
    FullReprogramming,
    ModelParams,
    PartialReprogramming,
    PluripotencyParams,
    RunParams,
    Senolytic,
    TelomereParams,
    TissueParams,
)
from cellsim.run.single import collect, run_many

AGE_20_DAYS = 20 * 365.25


def build_arms(n_cells: int) -> dict[str, ModelParams]:
    """The five arms of the flagship question, as validated parameter sets."""
    liver = TissueParams(
        name="liver",
        n_cells=n_cells,
        lifespan_days=360.0,  # hepatocyte, a rodent value (Sender & Milo 2021)
        clearance=ClearanceParams(rate_per_day=0.005),  # aged immune system (chosen)
        pluripotency=PluripotencyParams(teratoma_probability=0.01),
        supply_from="stem",
    )
    stem = TissueParams(
        name="stem",
        kind="stem",
        n_cells=max(50, n_cells // 20),
        lifespan_days=3650.0,
        telomere=TelomereParams(telomerase_stem=0.95),
    )
    run = RunParams(stop_at="all_events", horizon_days=100 * 365.25)
    senolytic = Senolytic(start_age_days=AGE_20_DAYS, interval_days=30, efficacy_per_dose=0.5)

    def arm(interventions=(), supply_share: float = 0.0) -> ModelParams:
        tissue = liver.model_copy(update={"supply_share": supply_share})
        return ModelParams(tissues=[tissue, stem], interventions=list(interventions), run=run)

    return {
        "control": arm(),
        "senolytics": arm([senolytic]),
        "senolytics+partial": arm(
            [senolytic, PartialReprogramming(start_age_days=AGE_20_DAYS, on_days=2, off_days=5)]
        ),
        "senolytics+full": arm(
            [
                senolytic,
                FullReprogramming(
                    start_age_days=AGE_20_DAYS, interval_days=365.25, efficiency_per_course=0.001
                ),
            ]
        ),
        "stem_supply": arm(supply_share=0.5),
    }


def main() -> None:
    """Run the arms, print the table, save the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-cells", type=int, default=10_000)
    parser.add_argument("--replicates", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--out", type=Path, default=Path("runs/flagship_script"))
    args = parser.parse_args()

    arms = build_arms(args.n_cells)
    specs = [
        RunSpec(arm=name, replicate=r, params=params, entropy=args.seed)
        for name, params in arms.items()
        for r in range(args.replicates)
    ]
    results = []
    for spec, result, error in run_many(specs, workers=args.workers):
        if error:
            raise SystemExit(f"run {spec.run_id} failed: {error}")
        results.append(result)
    runs, trajectories = collect(results, arm_order=list(arms))

    summary = summary_table(runs, control="control")
    print("\n".join(format_summary(summary)))
    args.out.mkdir(parents=True, exist_ok=True)
    summary.to_csv(args.out / "summary.csv", index=False)
    figure = plot_functional_and_pool(trajectories, args.out / "functional_and_pool.png")
    print(f"figure: {figure}")


if __name__ == "__main__":
    main()
