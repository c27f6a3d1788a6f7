"""The configured chains and the wallet. web3 (about 25 MB resident) is imported only when a chain is first used, so a
node that never pays or registers does not carry it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ecco.errors import FailedPrecondition, Reason

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from ecco.chain.evm import EvmChain


def load_account(key: str) -> LocalAccount:
    """The wallet from a hex private key; the key's text never appears in an error."""
    from eth_account import Account

    try:
        return Account.from_key(key.strip())
    except (ValueError, TypeError):
        raise FailedPrecondition(
            "the wallet key is not a 32-byte hex private key", Reason.WALLET_NOT_CONFIGURED
        ) from None


class EvmChains:
    """The configured chains (chain id -> RPC URL), each opened on first use with the node's wallet."""

    def __init__(self, rpc_urls: Mapping[int, str], account: LocalAccount | None) -> None:
        self._urls = dict(rpc_urls)
        self._account = account
        self._open: dict[int, EvmChain] = {}

    @property
    def wallet_address(self) -> str:
        return self._account.address.lower() if self._account is not None else ""

    def get(self, chain_id: int) -> EvmChain:
        if chain_id not in self._open:
            url = self._urls.get(chain_id)
            if url is None:
                known = ", ".join(str(c) for c in sorted(self._urls))
                raise FailedPrecondition(
                    f"chain {chain_id} is not configured (configured: {known}); add it under [chains]",
                    Reason.CHAIN_NOT_CONFIGURED,
                    field="chain_id",
                )
            from ecco.chain.evm import open_chain

            self._open[chain_id] = open_chain(chain_id, url, self._account)
        return self._open[chain_id]
