import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EscrowStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ESCROW_STATUS_UNSPECIFIED: _ClassVar[EscrowStatus]
    ESCROW_STATUS_PENDING: _ClassVar[EscrowStatus]
    ESCROW_STATUS_LOCKED: _ClassVar[EscrowStatus]
    ESCROW_STATUS_PARTIALLY_RELEASED: _ClassVar[EscrowStatus]
    ESCROW_STATUS_FULLY_RELEASED: _ClassVar[EscrowStatus]
    ESCROW_STATUS_CANCELLED: _ClassVar[EscrowStatus]

class StreamingChannelStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STREAMING_CHANNEL_STATUS_UNSPECIFIED: _ClassVar[StreamingChannelStatus]
    STREAMING_CHANNEL_STATUS_ACTIVE: _ClassVar[StreamingChannelStatus]
    STREAMING_CHANNEL_STATUS_CLOSED: _ClassVar[StreamingChannelStatus]

class LedgerEntryType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LEDGER_ENTRY_TYPE_UNSPECIFIED: _ClassVar[LedgerEntryType]
    LEDGER_ENTRY_TYPE_STANDARD: _ClassVar[LedgerEntryType]
    LEDGER_ENTRY_TYPE_STREAMING: _ClassVar[LedgerEntryType]
    LEDGER_ENTRY_TYPE_ESCROW: _ClassVar[LedgerEntryType]
    LEDGER_ENTRY_TYPE_SWARM: _ClassVar[LedgerEntryType]

class LedgerEntryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LEDGER_ENTRY_STATUS_UNSPECIFIED: _ClassVar[LedgerEntryStatus]
    LEDGER_ENTRY_STATUS_PENDING: _ClassVar[LedgerEntryStatus]
    LEDGER_ENTRY_STATUS_STREAMING: _ClassVar[LedgerEntryStatus]
    LEDGER_ENTRY_STATUS_SETTLED: _ClassVar[LedgerEntryStatus]
    LEDGER_ENTRY_STATUS_FAILED: _ClassVar[LedgerEntryStatus]
    LEDGER_ENTRY_STATUS_CANCELLED: _ClassVar[LedgerEntryStatus]
ESCROW_STATUS_UNSPECIFIED: EscrowStatus
ESCROW_STATUS_PENDING: EscrowStatus
ESCROW_STATUS_LOCKED: EscrowStatus
ESCROW_STATUS_PARTIALLY_RELEASED: EscrowStatus
ESCROW_STATUS_FULLY_RELEASED: EscrowStatus
ESCROW_STATUS_CANCELLED: EscrowStatus
STREAMING_CHANNEL_STATUS_UNSPECIFIED: StreamingChannelStatus
STREAMING_CHANNEL_STATUS_ACTIVE: StreamingChannelStatus
STREAMING_CHANNEL_STATUS_CLOSED: StreamingChannelStatus
LEDGER_ENTRY_TYPE_UNSPECIFIED: LedgerEntryType
LEDGER_ENTRY_TYPE_STANDARD: LedgerEntryType
LEDGER_ENTRY_TYPE_STREAMING: LedgerEntryType
LEDGER_ENTRY_TYPE_ESCROW: LedgerEntryType
LEDGER_ENTRY_TYPE_SWARM: LedgerEntryType
LEDGER_ENTRY_STATUS_UNSPECIFIED: LedgerEntryStatus
LEDGER_ENTRY_STATUS_PENDING: LedgerEntryStatus
LEDGER_ENTRY_STATUS_STREAMING: LedgerEntryStatus
LEDGER_ENTRY_STATUS_SETTLED: LedgerEntryStatus
LEDGER_ENTRY_STATUS_FAILED: LedgerEntryStatus
LEDGER_ENTRY_STATUS_CANCELLED: LedgerEntryStatus

class Invoice(_message.Message):
    __slots__ = ("id", "job_id", "chain_id", "amount", "token", "token_address", "recipient", "valid_until_ms", "signature", "public_key", "amount_wei")
    ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOKEN_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_WEI_FIELD_NUMBER: _ClassVar[int]
    id: str
    job_id: str
    chain_id: int
    amount: str
    token: str
    token_address: str
    recipient: str
    valid_until_ms: int
    signature: str
    public_key: str
    amount_wei: str
    def __init__(self, id: _Optional[str] = ..., job_id: _Optional[str] = ..., chain_id: _Optional[int] = ..., amount: _Optional[str] = ..., token: _Optional[str] = ..., token_address: _Optional[str] = ..., recipient: _Optional[str] = ..., valid_until_ms: _Optional[int] = ..., signature: _Optional[str] = ..., public_key: _Optional[str] = ..., amount_wei: _Optional[str] = ...) -> None: ...

class QueuedInvoice(_message.Message):
    __slots__ = ("invoice", "issuer_peer_id", "queue_time")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    ISSUER_PEER_ID_FIELD_NUMBER: _ClassVar[int]
    QUEUE_TIME_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    issuer_peer_id: str
    queue_time: _timestamp_pb2.Timestamp
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ..., issuer_peer_id: _Optional[str] = ..., queue_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListInvoicesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListInvoicesResponse(_message.Message):
    __slots__ = ("invoices", "next_page_token", "total_size")
    INVOICES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    invoices: _containers.RepeatedCompositeFieldContainer[QueuedInvoice]
    next_page_token: str
    total_size: int
    def __init__(self, invoices: _Optional[_Iterable[_Union[QueuedInvoice, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class QueueInvoiceRequest(_message.Message):
    __slots__ = ("request_id", "invoice_json", "invoice")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INVOICE_JSON_FIELD_NUMBER: _ClassVar[int]
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    invoice_json: str
    invoice: Invoice
    def __init__(self, request_id: _Optional[str] = ..., invoice_json: _Optional[str] = ..., invoice: _Optional[_Union[Invoice, _Mapping]] = ...) -> None: ...

class QueueInvoiceResponse(_message.Message):
    __slots__ = ("invoice", "queue_size")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    QUEUE_SIZE_FIELD_NUMBER: _ClassVar[int]
    invoice: QueuedInvoice
    queue_size: int
    def __init__(self, invoice: _Optional[_Union[QueuedInvoice, _Mapping]] = ..., queue_size: _Optional[int] = ...) -> None: ...

class SettleRequest(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class SettleResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SettlementResult]
    def __init__(self, results: _Optional[_Iterable[_Union[SettlementResult, _Mapping]]] = ...) -> None: ...

class SettlementResult(_message.Message):
    __slots__ = ("recipient", "chain_id", "token", "total_amount", "total_amount_wei", "invoice_ids", "job_ids", "tx_hash", "success", "error", "proofs_sent")
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_WEI_FIELD_NUMBER: _ClassVar[int]
    INVOICE_IDS_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PROOFS_SENT_FIELD_NUMBER: _ClassVar[int]
    recipient: str
    chain_id: int
    token: str
    total_amount: str
    total_amount_wei: str
    invoice_ids: _containers.RepeatedScalarFieldContainer[str]
    job_ids: _containers.RepeatedScalarFieldContainer[str]
    tx_hash: str
    success: bool
    error: str
    proofs_sent: int
    def __init__(self, recipient: _Optional[str] = ..., chain_id: _Optional[int] = ..., token: _Optional[str] = ..., total_amount: _Optional[str] = ..., total_amount_wei: _Optional[str] = ..., invoice_ids: _Optional[_Iterable[str]] = ..., job_ids: _Optional[_Iterable[str]] = ..., tx_hash: _Optional[str] = ..., success: _Optional[bool] = ..., error: _Optional[str] = ..., proofs_sent: _Optional[int] = ...) -> None: ...

class SwarmDistributeRequest(_message.Message):
    __slots__ = ("request_id", "job_id", "total_amount", "chain_id", "token", "participants")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    job_id: str
    total_amount: str
    chain_id: int
    token: str
    participants: _containers.RepeatedCompositeFieldContainer[SwarmParticipant]
    def __init__(self, request_id: _Optional[str] = ..., job_id: _Optional[str] = ..., total_amount: _Optional[str] = ..., chain_id: _Optional[int] = ..., token: _Optional[str] = ..., participants: _Optional[_Iterable[_Union[SwarmParticipant, _Mapping]]] = ...) -> None: ...

class SwarmParticipant(_message.Message):
    __slots__ = ("peer_id", "wallet_address", "contribution")
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    peer_id: str
    wallet_address: str
    contribution: str
    def __init__(self, peer_id: _Optional[str] = ..., wallet_address: _Optional[str] = ..., contribution: _Optional[str] = ...) -> None: ...

class SwarmDistributeResponse(_message.Message):
    __slots__ = ("split_id", "shares", "total_amount", "total_amount_wei", "dust", "dust_wei", "invoices_queued")
    SPLIT_ID_FIELD_NUMBER: _ClassVar[int]
    SHARES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_WEI_FIELD_NUMBER: _ClassVar[int]
    DUST_FIELD_NUMBER: _ClassVar[int]
    DUST_WEI_FIELD_NUMBER: _ClassVar[int]
    INVOICES_QUEUED_FIELD_NUMBER: _ClassVar[int]
    split_id: str
    shares: _containers.RepeatedCompositeFieldContainer[SwarmShare]
    total_amount: str
    total_amount_wei: str
    dust: str
    dust_wei: str
    invoices_queued: int
    def __init__(self, split_id: _Optional[str] = ..., shares: _Optional[_Iterable[_Union[SwarmShare, _Mapping]]] = ..., total_amount: _Optional[str] = ..., total_amount_wei: _Optional[str] = ..., dust: _Optional[str] = ..., dust_wei: _Optional[str] = ..., invoices_queued: _Optional[int] = ...) -> None: ...

class SwarmShare(_message.Message):
    __slots__ = ("peer_id", "wallet_address", "contribution", "amount", "amount_wei", "invoice_id")
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    WALLET_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_WEI_FIELD_NUMBER: _ClassVar[int]
    INVOICE_ID_FIELD_NUMBER: _ClassVar[int]
    peer_id: str
    wallet_address: str
    contribution: str
    amount: str
    amount_wei: str
    invoice_id: str
    def __init__(self, peer_id: _Optional[str] = ..., wallet_address: _Optional[str] = ..., contribution: _Optional[str] = ..., amount: _Optional[str] = ..., amount_wei: _Optional[str] = ..., invoice_id: _Optional[str] = ...) -> None: ...

class EscrowReleaseRequest(_message.Message):
    __slots__ = ("request_id", "job_id", "milestone_id", "peer_id", "send_invoice")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MILESTONE_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    SEND_INVOICE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    job_id: str
    milestone_id: str
    peer_id: str
    send_invoice: bool
    def __init__(self, request_id: _Optional[str] = ..., job_id: _Optional[str] = ..., milestone_id: _Optional[str] = ..., peer_id: _Optional[str] = ..., send_invoice: _Optional[bool] = ...) -> None: ...

class EscrowReleaseResponse(_message.Message):
    __slots__ = ("job_id", "milestone_id", "amount", "amount_wei", "status", "released_amount", "released_amount_wei", "invoice")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    MILESTONE_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_WEI_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RELEASED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    RELEASED_AMOUNT_WEI_FIELD_NUMBER: _ClassVar[int]
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    milestone_id: str
    amount: str
    amount_wei: str
    status: EscrowStatus
    released_amount: str
    released_amount_wei: str
    invoice: Invoice
    def __init__(self, job_id: _Optional[str] = ..., milestone_id: _Optional[str] = ..., amount: _Optional[str] = ..., amount_wei: _Optional[str] = ..., status: _Optional[_Union[EscrowStatus, str]] = ..., released_amount: _Optional[str] = ..., released_amount_wei: _Optional[str] = ..., invoice: _Optional[_Union[Invoice, _Mapping]] = ...) -> None: ...

class EscrowInvoiceRequest(_message.Message):
    __slots__ = ("request_id", "job_id", "peer_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    job_id: str
    peer_id: str
    def __init__(self, request_id: _Optional[str] = ..., job_id: _Optional[str] = ..., peer_id: _Optional[str] = ...) -> None: ...

class EscrowInvoiceResponse(_message.Message):
    __slots__ = ("invoice", "milestone_ids")
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    MILESTONE_IDS_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    milestone_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ..., milestone_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class StreamingTickRequest(_message.Message):
    __slots__ = ("request_id", "peer_id", "channel_id", "tokens", "auto_invoice", "pricing_json")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    AUTO_INVOICE_FIELD_NUMBER: _ClassVar[int]
    PRICING_JSON_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    peer_id: str
    channel_id: str
    tokens: int
    auto_invoice: bool
    pricing_json: str
    def __init__(self, request_id: _Optional[str] = ..., peer_id: _Optional[str] = ..., channel_id: _Optional[str] = ..., tokens: _Optional[int] = ..., auto_invoice: _Optional[bool] = ..., pricing_json: _Optional[str] = ...) -> None: ...

class StreamingTickResponse(_message.Message):
    __slots__ = ("channel_id", "tokens", "total_tokens", "amount_owed", "amount_owed_wei", "total_amount", "total_amount_wei", "invoice")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_OWED_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_OWED_WEI_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_WEI_FIELD_NUMBER: _ClassVar[int]
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    tokens: int
    total_tokens: int
    amount_owed: str
    amount_owed_wei: str
    total_amount: str
    total_amount_wei: str
    invoice: Invoice
    def __init__(self, channel_id: _Optional[str] = ..., tokens: _Optional[int] = ..., total_tokens: _Optional[int] = ..., amount_owed: _Optional[str] = ..., amount_owed_wei: _Optional[str] = ..., total_amount: _Optional[str] = ..., total_amount_wei: _Optional[str] = ..., invoice: _Optional[_Union[Invoice, _Mapping]] = ...) -> None: ...

class StreamingInvoiceRequest(_message.Message):
    __slots__ = ("request_id", "peer_id", "channel_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    peer_id: str
    channel_id: str
    def __init__(self, request_id: _Optional[str] = ..., peer_id: _Optional[str] = ..., channel_id: _Optional[str] = ...) -> None: ...

class StreamingInvoiceResponse(_message.Message):
    __slots__ = ("invoice",)
    INVOICE_FIELD_NUMBER: _ClassVar[int]
    invoice: Invoice
    def __init__(self, invoice: _Optional[_Union[Invoice, _Mapping]] = ...) -> None: ...

class StreamingCloseRequest(_message.Message):
    __slots__ = ("request_id", "channel_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    channel_id: str
    def __init__(self, request_id: _Optional[str] = ..., channel_id: _Optional[str] = ...) -> None: ...

class StreamingCloseResponse(_message.Message):
    __slots__ = ("channel_id", "status", "total_tokens", "total_amount", "total_amount_wei", "close_time")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AMOUNT_WEI_FIELD_NUMBER: _ClassVar[int]
    CLOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    status: StreamingChannelStatus
    total_tokens: int
    total_amount: str
    total_amount_wei: str
    close_time: _timestamp_pb2.Timestamp
    def __init__(self, channel_id: _Optional[str] = ..., status: _Optional[_Union[StreamingChannelStatus, str]] = ..., total_tokens: _Optional[int] = ..., total_amount: _Optional[str] = ..., total_amount_wei: _Optional[str] = ..., close_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LedgerEntry(_message.Message):
    __slots__ = ("id", "type", "status", "amount", "amount_wei", "token", "chain_id", "recipient", "payer", "job_id", "tx_hash", "create_time", "settle_time", "metadata_json")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_WEI_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    CHAIN_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    PAYER_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    TX_HASH_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    SETTLE_TIME_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    id: str
    type: LedgerEntryType
    status: LedgerEntryStatus
    amount: str
    amount_wei: str
    token: str
    chain_id: int
    recipient: str
    payer: str
    job_id: str
    tx_hash: str
    create_time: _timestamp_pb2.Timestamp
    settle_time: _timestamp_pb2.Timestamp
    metadata_json: str
    def __init__(self, id: _Optional[str] = ..., type: _Optional[_Union[LedgerEntryType, str]] = ..., status: _Optional[_Union[LedgerEntryStatus, str]] = ..., amount: _Optional[str] = ..., amount_wei: _Optional[str] = ..., token: _Optional[str] = ..., chain_id: _Optional[int] = ..., recipient: _Optional[str] = ..., payer: _Optional[str] = ..., job_id: _Optional[str] = ..., tx_hash: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., settle_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metadata_json: _Optional[str] = ...) -> None: ...

class ListLedgerRequest(_message.Message):
    __slots__ = ("type", "status", "job_id", "page_size", "page_token")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    type: LedgerEntryType
    status: LedgerEntryStatus
    job_id: str
    page_size: int
    page_token: str
    def __init__(self, type: _Optional[_Union[LedgerEntryType, str]] = ..., status: _Optional[_Union[LedgerEntryStatus, str]] = ..., job_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListLedgerResponse(_message.Message):
    __slots__ = ("entries", "next_page_token", "total_size")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LedgerEntry]
    next_page_token: str
    total_size: int
    def __init__(self, entries: _Optional[_Iterable[_Union[LedgerEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...
