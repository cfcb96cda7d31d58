"""Live sessions: the shared core (core.py: the contract and the table of kinds; live.py: the frame loop;
registry.py; messages.py) and one package per kind of session (race/, cnn/), each declaring itself as KIND."""
