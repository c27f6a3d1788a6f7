"""Money as exact decimal strings and integer base units (wei); never a float anywhere (upstream-ecco §9.1).

Amounts on the wire are whole-coin decimal strings with at most 18 decimal places ("0.0005"); inside the node
they are integers of wei. Parsing is done on the digits themselves, so "0.1" is exactly 10^17 wei.
"""

from __future__ import annotations

import re

from ecco.errors import InvalidArgument, Reason

DECIMALS = 18
WEI_PER_COIN = 10**DECIMALS
# upstream validateAmount caps amounts at 1e15 coins
MAX_AMOUNT_WEI = 10**15 * WEI_PER_COIN
_AMOUNT = re.compile(r"^(\d+)(?:\.(\d+))?$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
CONTRIBUTION_DECIMALS = 9
MAX_CONTRIBUTION_UNITS = (2**53 - 1) // 10**CONTRIBUTION_DECIMALS * 10**CONTRIBUTION_DECIMALS


def _bad_amount(field: str, problem: str) -> InvalidArgument:
    return InvalidArgument(f"{field}: {problem}", Reason.INVALID_AMOUNT, field=field)


def to_wei(text: object, field: str = "amount", *, allow_zero: bool = False) -> int:
    """A positive decimal string of whole coins as integer wei; negative, zero (unless allowed), over-precise
    (more than 18 places), huge or non-numeric input is refused naming `field`."""
    if not isinstance(text, str):
        raise _bad_amount(field, f'expected a decimal string such as "0.0005", got {text!r}')
    match = _AMOUNT.match(text.strip())
    if match is None:
        raise _bad_amount(field, f'{text!r} is not a non-negative decimal number such as "0.0005"')
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > DECIMALS:
        raise _bad_amount(field, f"{text!r} has more than {DECIMALS} decimal places")
    wei = int(whole) * WEI_PER_COIN + int(fraction.ljust(DECIMALS, "0"))
    if wei == 0 and not allow_zero:
        raise _bad_amount(field, "must be greater than 0")
    if wei > MAX_AMOUNT_WEI:
        raise _bad_amount(field, f"{text!r} exceeds the maximum of 1e15")
    return wei


def from_wei(wei: int) -> str:
    """Integer wei as the shortest exact decimal string of whole coins ("0.0005", "3", "0")."""
    whole, fraction = divmod(wei, WEI_PER_COIN)
    digits = str(fraction).rjust(DECIMALS, "0").rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def contribution_units(text: object, field: str) -> int:
    """A swarm contribution as floor(contribution x 10^9), exactly (upstream §9.8)."""
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or (match := _AMOUNT.match(text.strip())) is None:
        raise InvalidArgument(
            f"{field}: expected a non-negative decimal number, got {text!r}", Reason.INVALID_PARTICIPANTS, field=field
        )
    fraction = (match.group(2) or "")[:CONTRIBUTION_DECIMALS]
    units = int(match.group(1)) * 10**CONTRIBUTION_DECIMALS + int(fraction.ljust(CONTRIBUTION_DECIMALS, "0"))
    if units > MAX_CONTRIBUTION_UNITS:
        raise InvalidArgument(f"{field}: {text!r} is too large", Reason.INVALID_PARTICIPANTS, field=field)
    return units


def check_address(address: object, field: str) -> str:
    """A 0x-prefixed 20-byte hex address, returned lowercase (checksums are the chain adapter's business)."""
    if not isinstance(address, str) or not _ADDRESS.match(address):
        raise InvalidArgument(
            f"{field}: {address!r} is not an address like 0x followed by 40 hex digits",
            Reason.INVALID_ARGUMENT,
            field=field,
        )
    return address.lower()


def check_chain_id(chain_id: object, field: str = "chain_id") -> int:
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or not 0 < chain_id < 2**63:
        raise InvalidArgument(
            f"{field}: expected a positive chain id, got {chain_id!r}", Reason.INVALID_ARGUMENT, field=field
        )
    return chain_id
