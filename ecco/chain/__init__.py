"""EVM chain adapters (web3.py) behind ecco.services.payments.ports."""
