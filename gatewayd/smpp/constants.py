"""SMPP v3.4 numbers: command ids, command statuses, their names, and :class:`PduError`.

Everything here is re-exported by :mod:`gatewayd.smpp.pdu`, which is where callers import it.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from gatewayd.errors import GatewayError

HEADER = struct.Struct(">IIII")
HEADER_LENGTH = HEADER.size
RESPONSE_BIT = 0x80000000

# --- command_id (SMPP 3.4 §5.1.2.1) ---------------------------------------------------------
GENERIC_NACK = 0x80000000
BIND_RECEIVER = 0x00000001
BIND_RECEIVER_RESP = 0x80000001
BIND_TRANSMITTER = 0x00000002
BIND_TRANSMITTER_RESP = 0x80000002
QUERY_SM = 0x00000003
QUERY_SM_RESP = 0x80000003
SUBMIT_SM = 0x00000004
SUBMIT_SM_RESP = 0x80000004
DELIVER_SM = 0x00000005
DELIVER_SM_RESP = 0x80000005
UNBIND = 0x00000006
UNBIND_RESP = 0x80000006
REPLACE_SM = 0x00000007
REPLACE_SM_RESP = 0x80000007
CANCEL_SM = 0x00000008
CANCEL_SM_RESP = 0x80000008
BIND_TRANSCEIVER = 0x00000009
BIND_TRANSCEIVER_RESP = 0x80000009
OUTBIND = 0x0000000B
ENQUIRE_LINK = 0x00000015
ENQUIRE_LINK_RESP = 0x80000015
SUBMIT_MULTI = 0x00000021
SUBMIT_MULTI_RESP = 0x80000021
ALERT_NOTIFICATION = 0x00000102
DATA_SM = 0x00000103
DATA_SM_RESP = 0x80000103

COMMAND_NAMES: Mapping[int, str] = {
    value: name.lower()
    for name, value in list(globals().items())
    if name.isupper() and isinstance(value, int) and name not in {"HEADER_LENGTH", "RESPONSE_BIT"}
}

# --- command_status (SMPP 3.4 §5.1.3) -------------------------------------------------------
ESME_ROK = 0x00000000
ESME_RINVMSGLEN = 0x00000001
ESME_RINVCMDLEN = 0x00000002
ESME_RINVCMDID = 0x00000003
ESME_RINVBNDSTS = 0x00000004
ESME_RALYBND = 0x00000005
ESME_RINVPRTFLG = 0x00000006
ESME_RINVREGDLVFLG = 0x00000007
ESME_RSYSERR = 0x00000008
ESME_RINVSRCADR = 0x0000000A
ESME_RINVDSTADR = 0x0000000B
ESME_RINVMSGID = 0x0000000C
ESME_RBINDFAIL = 0x0000000D
ESME_RINVPASWD = 0x0000000E
ESME_RINVSYSID = 0x0000000F
ESME_RCANCELFAIL = 0x00000011
ESME_RREPLACEFAIL = 0x00000013
ESME_RMSGQFUL = 0x00000014
ESME_RINVSERTYP = 0x00000015
ESME_RINVNUMDESTS = 0x00000033
ESME_RINVDLNAME = 0x00000034
ESME_RINVDESTFLAG = 0x00000040
ESME_RINVSUBREP = 0x00000042
ESME_RINVESMCLASS = 0x00000043
ESME_RCNTSUBDL = 0x00000044
ESME_RSUBMITFAIL = 0x00000045
ESME_RINVSRCTON = 0x00000048
ESME_RINVSRCNPI = 0x00000049
ESME_RINVDSTTON = 0x00000050
ESME_RINVDSTNPI = 0x00000051
ESME_RINVSYSTYP = 0x00000053
ESME_RINVREPFLAG = 0x00000054
ESME_RINVNUMMSGS = 0x00000055
ESME_RTHROTTLED = 0x00000058
ESME_RINVSCHED = 0x00000061
ESME_RINVEXPIRY = 0x00000062
ESME_RINVDFTMSGID = 0x00000063
ESME_RX_T_APPN = 0x00000064
ESME_RX_P_APPN = 0x00000065
ESME_RX_R_APPN = 0x00000066
ESME_RQUERYFAIL = 0x00000067
ESME_RINVOPTPARSTREAM = 0x000000C0
ESME_ROPTPARNOTALLWD = 0x000000C1
ESME_RINVPARLEN = 0x000000C2
ESME_RMISSINGOPTPARAM = 0x000000C3
ESME_RINVOPTPARAMVAL = 0x000000C4
ESME_RDELIVERYFAILURE = 0x000000FE
ESME_RUNKNOWNERR = 0x000000FF

STATUS_NAMES: Mapping[int, str] = {
    value: name for name, value in list(globals().items()) if name.startswith("ESME_R")
}
# SMPP v5.0 names of the same TLV statuses, defined after STATUS_NAMES so names stay v3.4's.
ESME_RINVTLVSTREAM = ESME_RINVOPTPARSTREAM
ESME_RINVTLVLEN = ESME_RINVPARLEN

#: short_message is at most 254 octets (§5.2.22); longer texts go in message_payload.
MAX_SHORT_MESSAGE = 254
#: number_of_dests and no_unsuccess are one octet; §4.5.1 allows at most 254 destinations.
MAX_DESTINATIONS = 254


class PduError(GatewayError):
    """A PDU that cannot be framed, decoded or encoded; ``smpp_status`` is the answer to send."""

    def __init__(self, status: int, message: str, sequence: int | None = None) -> None:
        super().__init__(message)
        self.smpp_status = status
        self.status = status
        self.sequence = sequence


def command_name(command_id: int) -> str:
    return COMMAND_NAMES.get(command_id, f"command_0x{command_id:08x}")


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, f"0x{status:08x}")
