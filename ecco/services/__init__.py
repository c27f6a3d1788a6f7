"""Domain logic. Modules here import no I/O library (grpc, sqlalchemy, trio, web3, aiohttp); they talk to the
outside through the ports in `ecco.services.ports`."""
