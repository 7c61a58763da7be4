"""Analysis of cellsim result tables: pure functions, no simulator imports.

- ``analysis.exhaustion``: event times, Kaplan-Meier per arm, log-rank, summary table;
- ``analysis.plots``: the standard figures (seaborn on matplotlib's Agg canvas);
- ``analysis.report``: the Markdown report;
- ``analysis.meanfield``: the deterministic mean-field prediction, for cross-checks.
- ``analysis.karin_ode``: the senescent fraction of a well-mixed tissue in continuous
  time (Karin et al. 2019), and the half-life of an insult's excess.
- ``analysis.validation_figures``: the figures of ``cellsim validate-biology`` (with
  ``analysis.culture_growth``, measures of a culture's growth curve).

The only contract with the simulator is the result schema (``runs`` and ``trajectories``
tables; docs/ARCHITECTURE.md, "Result schema"). Submodules are not imported here, so
importing one of them does not pull in matplotlib.
"""

DAYS_PER_YEAR: float = 365.25
"""Days in a (Julian) year, as in the simulator's schema (a test checks they agree)."""
EVENTS: tuple[str, ...] = ("exhaustion", "failure", "neoplasia")
"""The failures a run records, in the schema's order (a test checks they agree)."""
STOP_REASONS: tuple[str, ...] = ("exhaustion", "failure", "neoplasia", "no_change", "horizon")
"""The values of a run's ``stop_reason``, in the schema's order (a test checks they agree)."""
