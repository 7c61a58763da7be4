"""``python -m cellsim``: the same command as ``cellsim``."""

from cellsim.cli import main

if __name__ == "__main__":
    main()
