"""How an intake message is shown (pages, API, export): the sender masked, never the OpenID."""

from gridgov.core.masking import mask_phone

from .models import Channel, InboundMessage


def sender_display(msg: InboundMessage) -> str:
    if msg.channel == Channel.WECHAT:
        return "微信用户"
    return mask_phone(msg.sender)


def message_row(msg: InboundMessage) -> dict:
    return {
        "id": msg.pk, "channel": msg.channel, "channel_display": msg.get_channel_display(),
        "external_id": msg.external_id, "sender": sender_display(msg), "sender_name": msg.sender_name,
        "msg_type": msg.msg_type, "body": msg.body, "outcome": msg.outcome,
        "outcome_display": msg.get_outcome_display(),
        "reply": msg.reply, "error_code": msg.error_code, "region_code": msg.region_code,
        "case_id": msg.case_id, "case_number": msg.case.number if msg.case_id else None, "claim_id": msg.claim_id,
        "operator": (msg.operator.full_name or msg.operator.username) if msg.operator_id else "",
        "created_at": msg.created_at,
    }
