"""The browser view (a Solara page over Mesa models): a scenario arm live, in the lattice
view (one tissue) or the body view (an organism), or a finished result folder in the
results view.

Start it with ``cellsim viz [SCENARIO | DIR] [--arm ARM]``, or directly with
``solara run cellsim/viz/app.py`` (what to show then comes from the environment
variables ``CELLSIM_VIZ_SCENARIO``, ``CELLSIM_VIZ_ARM`` and ``CELLSIM_VIZ_RESULTS``;
default: the ``lattice_bystander`` scenario's control arm).

The models (``model``, ``body``, ``live``), the result reader (``results``) and the
drawing (``draw``) import no Solara; ``app`` and the ``*_page`` and ``widgets`` modules
are the page. The engine never imports this package.
"""
