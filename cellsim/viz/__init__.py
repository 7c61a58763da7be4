"""The browser view: a scenario's tissue on a lattice, in Mesa's SolaraViz.

Start it with ``cellsim viz [SCENARIO] [--arm ARM]``, or directly with
``solara run cellsim/viz/app.py`` (scenario and arm then come from the environment
variables ``CELLSIM_VIZ_SCENARIO`` and ``CELLSIM_VIZ_ARM``; default: the
``lattice_bystander`` scenario's control arm).

``model.VizModel`` (the AgingModel the page drives, no Solara import) and ``app`` (the
page) live here; the engine never imports this package.
"""
