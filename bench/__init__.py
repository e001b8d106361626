"""walletql load benchmark (not run by CI). Entry point: `python -m bench.run`."""
