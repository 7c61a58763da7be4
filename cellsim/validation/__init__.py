"""Checks of the simulator against published biology (`cellsim validate-biology`)."""
