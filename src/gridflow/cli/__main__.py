"""`python -m gridflow.cli ...`: the `gridflow` command."""

from gridflow.cli import run

if __name__ == "__main__":
    run()
