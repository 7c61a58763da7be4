"""The engine: parameters, presets, cell arrays, tissues (Mesa agents), interventions (Mesa
events), the model (a Mesa model), in vitro culture and the result schema."""
