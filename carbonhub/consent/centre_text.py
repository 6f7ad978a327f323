"""Every visible string of the consent centre, in Simplified Chinese and English.

One catalogue, a dict per language with the same keys (a test checks that they match), so a
translator edits one file and no page can show a string in one language only. Strings with
``{placeholders}`` are filled with :meth:`str.format` by the page code.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import HTTPConnection

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
LANGUAGE_COOKIE = "carbonhub_lang"
LANGUAGE_NAMES = {"zh-CN": "中文", "en": "English"}

TEXT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "brand": "碳普惠 carbonhub",
        "switch_language": "语言",
        "footer": "您的碳账本是假名化的：平台只知道您的个人编号，不知道您的姓名。",
        "nav_label": "授权中心导航",
        "nav_overview": "我的授权",
        "nav_receipts": "授权凭证",
        "nav_access_log": "访问记录",
        "nav_data": "我的数据",
        "nav_verify": "验证凭证",
        "nav_account": "我的账户",
        "overview_title": "授权中心",
        "overview_intro": (
            "您在这里决定谁可以使用您的减排数据。每项授权都是单独的选择，"
            "可以随时撤回；不共享不影响您的个人碳账本和积分。"
        ),
        "signed_in_as": "当前账户：{username}",
        "pending_title": "待处理的授权请求",
        "pending_none": "没有待处理的请求。",
        "request_from": "{recipient} 请求用于 {purpose}",
        "request_choose": "勾选您愿意共享的类别（可以取消部分类别）：",
        "approve": "同意共享所选类别",
        "deny": "拒绝此请求",
        "regional_title": "地区统计",
        "regional_offer": "您目前没有授权{programme}把您的减排量计入地区统计。",
        "regional_given": "您已授权{programme}把您的减排量计入地区统计。",
        "regional_none": "您所在地区暂无碳普惠项目。",
        "regional_grant": "同意计入地区统计",
        "regional_choose": "共享的类别：",
        "active_title": "生效中的授权",
        "active_none": "您目前没有生效中的共享授权。",
        "past_title": "已结束的授权",
        "past_none": "没有已结束的授权。",
        "providers_title": "已关联的数据提供方",
        "providers_none": "您还没有授权任何数据提供方报送数据。",
        "providers_note": "在“数据提供方账户”页面关联或解除关联您在各数据提供方的账户：",
        "revoke": "撤回此授权",
        "revoke_of": "撤回对 {recipient} 的授权",
        "consent_sentence": (
            "{recipient} 可以将您在 {categories} 类别中 {data_from} 至 {data_to} 的数据用于{purpose}，"
            "有效期至 {expires}。"
        ),
        "ingest_sentence": (
            "{recipient} 可以报送您在 {categories} 类别中 {data_from} 至 {data_to} 的行为数据，"
            "有效期至 {expires}。"
        ),
        "label_recipient": "接收方",
        "label_purpose": "用途",
        "label_categories": "类别",
        "label_window": "数据范围",
        "label_expires": "有效期至",
        "label_status": "状态",
        "label_granted": "授权时间",
        "label_ended": "结束时间",
        "label_reason": "原因",
        "window": "{data_from} 至 {data_to}",
        "status_active": "生效中",
        "status_expired": "已过期",
        "status_revoked": "已撤回",
        "status_terminated": "已被终止",
        "status_superseded": "已被新授权取代",
        "reason_revoked": "您撤回了此授权",
        "reason_expired": "授权已到期",
        "reason_terminated": "接收方或平台终止了此授权",
        "reason_superseded": "您修改了授权范围，新的授权取代了它",
        "purpose_esg_reporting": "企业ESG报告",
        "purpose_regional_statistics": "地区碳普惠统计",
        "purpose_data_ingest": "数据报送",
        "purpose_own_data": "您自己的碳账本",
        "purpose_operations": "平台运维",
        "kind_enterprise": "雇主",
        "kind_programme": "碳普惠项目",
        "kind_connector": "数据提供方",
        "kind_agency": "主管部门",
        "kind_citizen": "您本人",
        "kind_operator": "平台运营方",
        "kind_app": "应用",
        "kind_developer": "开发者",
        "notice_title": "告知内容",
        "done_granted": "授权已生效，凭证已签发。",
        "done_approved": "您已同意该请求，凭证已签发。",
        "done_denied": "您已拒绝该请求。请求方不会知道是谁拒绝的。",
        "done_revoked": "授权已撤回，下一次读取即不再包含您的数据。",
        "revoke_title": "撤回授权",
        "revoke_confirm_intro": "撤回后，{recipient} 下一次读取时将不再包含您的数据。之前的处理仍然有效。",
        "revoke_confirm": "确认撤回",
        "revoke_cancel": "不撤回，返回",
        "revoke_already": "此授权已经结束（{status}），无需再次撤回。",
        "receipts_title": "授权凭证",
        "receipts_intro": (
            "每次授权、修改或撤回都会生成一份由平台签名的凭证（JWS）。"
            "您可以下载后用平台公开的密钥离线验证。"
        ),
        "receipts_none": "还没有凭证。",
        "receipts_jwks": "平台公钥（JWKS）",
        "receipt_event": "事件",
        "receipt_issued": "签发时间",
        "receipt_download": "下载凭证 {id}",
        "event_granted": "授权",
        "event_narrowed": "缩小范围",
        "event_renewed": "续期",
        "event_revoked": "撤回",
        "event_terminated": "终止",
        "event_superseded": "被取代",
        "event_expired": "过期",
        "access_title": "访问记录",
        "access_intro": "谁在何时、出于什么目的读取了包含您数据的信息，以及涉及多少人。",
        "access_none": "还没有人读取过包含您数据的信息。",
        "access_when": "时间",
        "access_who": "读取方",
        "access_what": "内容",
        "access_why": "目的",
        "access_persons": "涉及人数",
        "access_period": "数据期间",
        "what_esg_report": "ESG报告（汇总）",
        "what_region_report": "地区报告（汇总）",
        "what_person_ledger": "个人碳账本",
        "data_title": "我的数据",
        "export_title": "导出我的数据",
        "export_intro": "下载平台保存的关于您的全部数据（JSON格式）。",
        "export_download": "下载我的数据（JSON）",
        "erase_title": "删除我的数据",
        "erase_intro": (
            "删除您的账户、碳账本、积分、授权和凭证。地区统计中减去您的贡献。此操作不可撤销。"
        ),
        "erase_start": "删除我的数据…",
        "erase_confirm_intro": "请输入您的个人编号 {person_id} 以确认删除。删除后您将被登出。",
        "erase_label": "您的个人编号",
        "erase_confirm": "永久删除我的数据",
        "erase_mismatch": "输入的编号与您的个人编号不一致，数据未删除。",
        "erased_title": "数据已删除",
        "erased_text": "您的数据已删除，您已登出。",
        "verify_title": "验证授权凭证",
        "verify_intro": "粘贴一份授权凭证（JWS），检查它是否由本平台签发且未被修改。",
        "verify_label": "授权凭证（JWS）",
        "verify_submit": "验证凭证",
        "verify_valid": "✓ 凭证有效：由本平台签发，内容未被修改。",
        "verify_invalid": "✗ 凭证无效：{reason}",
        "verify_empty": "请粘贴一份凭证。",
        "error_title": "无法完成",
        "error_form": "表单无法读取，请重新提交。",
        "error_not_found": "找不到该项目。",
        "error_no_categories": "请至少勾选一个类别；不想共享请选择拒绝。",
        "back": "返回授权中心",
        "none": "无",
    },
    "en": {
        "brand": "carbonhub 碳普惠",
        "switch_language": "Language",
        "footer": (
            "Your carbon ledger is pseudonymous: the hub knows you by a person id, not by name."
        ),
        "nav_label": "Consent centre",
        "nav_overview": "My consents",
        "nav_receipts": "Receipts",
        "nav_access_log": "Access log",
        "nav_data": "My data",
        "nav_verify": "Verify a receipt",
        "nav_account": "My account",
        "overview_title": "Consent centre",
        "overview_intro": (
            "Here you decide who may use your reduction data. Each consent is a separate choice "
            "that you can take back at any time; not sharing changes nothing in your own ledger "
            "or points."
        ),
        "signed_in_as": "Signed in as {username}",
        "pending_title": "Requests waiting for your answer",
        "pending_none": "No requests are waiting.",
        "request_from": "{recipient} asks for {purpose}",
        "request_choose": "Tick the categories you are willing to share (you may untick some):",
        "approve": "Approve sharing the ticked categories",
        "deny": "Deny this request",
        "regional_title": "Regional statistics",
        "regional_offer": (
            "You have not allowed {programme} to count your reductions in its regional statistics."
        ),
        "regional_given": "You allow {programme} to count your reductions in its regional statistics.",
        "regional_none": "There is no carbon-inclusion programme where you live.",
        "regional_grant": "Allow counting me in regional statistics",
        "regional_choose": "Categories to share:",
        "active_title": "Consents in force",
        "active_none": "You share nothing at the moment.",
        "past_title": "Consents that ended",
        "past_none": "No consent has ended.",
        "providers_title": "Linked data providers",
        "providers_none": "You have not allowed any data provider to deliver your data.",
        "providers_note": "Link or unlink your accounts at data providers on the provider accounts page:",
        "revoke": "Revoke this consent",
        "revoke_of": "Revoke the consent given to {recipient}",
        "consent_sentence": (
            "{recipient} may use your data in {categories} from {data_from} to {data_to} for "
            "{purpose}, until {expires}."
        ),
        "ingest_sentence": (
            "{recipient} may deliver your behaviours in {categories} from {data_from} to "
            "{data_to}, until {expires}."
        ),
        "label_recipient": "Recipient",
        "label_purpose": "Purpose",
        "label_categories": "Categories",
        "label_window": "Data window",
        "label_expires": "Expires",
        "label_status": "Status",
        "label_granted": "Given",
        "label_ended": "Ended",
        "label_reason": "Why",
        "window": "{data_from} to {data_to}",
        "status_active": "In force",
        "status_expired": "Expired",
        "status_revoked": "Revoked",
        "status_terminated": "Terminated",
        "status_superseded": "Replaced",
        "reason_revoked": "you revoked it",
        "reason_expired": "it reached its expiry",
        "reason_terminated": "the recipient or the hub ended it",
        "reason_superseded": "you changed its scope and a new consent replaced it",
        "purpose_esg_reporting": "ESG reporting",
        "purpose_regional_statistics": "regional carbon-inclusion statistics",
        "purpose_data_ingest": "delivering data",
        "purpose_own_data": "your own ledger",
        "purpose_operations": "hub operations",
        "kind_enterprise": "employer",
        "kind_programme": "carbon-inclusion programme",
        "kind_connector": "data provider",
        "kind_agency": "government agency",
        "kind_citizen": "you",
        "kind_operator": "hub operator",
        "kind_app": "app",
        "kind_developer": "developer",
        "notice_title": "What you are told",
        "done_granted": "The consent is in force and its receipt was issued.",
        "done_approved": "You approved the request; its receipt was issued.",
        "done_denied": "You denied the request. The requester never learns who denied.",
        "done_revoked": "The consent is revoked: the next read no longer includes your data.",
        "revoke_title": "Revoke a consent",
        "revoke_confirm_intro": (
            "After revoking, the next read by {recipient} no longer includes your data. What was "
            "done before stays valid."
        ),
        "revoke_confirm": "Yes, revoke it",
        "revoke_cancel": "No, keep it",
        "revoke_already": "This consent has ended already ({status}); there is nothing to revoke.",
        "receipts_title": "Consent receipts",
        "receipts_intro": (
            "Every grant, change and revocation gets a receipt signed by the hub (a JWS). "
            "Download it and verify it offline against the hub's published keys."
        ),
        "receipts_none": "No receipts yet.",
        "receipts_jwks": "The hub's public keys (JWKS)",
        "receipt_event": "Event",
        "receipt_issued": "Issued",
        "receipt_download": "Download receipt {id}",
        "event_granted": "given",
        "event_narrowed": "narrowed",
        "event_renewed": "renewed",
        "event_revoked": "revoked",
        "event_terminated": "terminated",
        "event_superseded": "replaced",
        "event_expired": "expired",
        "access_title": "Access log",
        "access_intro": "Who read information including your data, when, why, and over how many persons.",
        "access_none": "Nobody has read information including your data yet.",
        "access_when": "When",
        "access_who": "Who",
        "access_what": "What",
        "access_why": "Why",
        "access_persons": "Persons",
        "access_period": "Data period",
        "what_esg_report": "ESG report (totals)",
        "what_region_report": "regional report (totals)",
        "what_person_ledger": "personal ledger",
        "data_title": "My data",
        "export_title": "Export my data",
        "export_intro": "Download everything the hub holds about you (JSON).",
        "export_download": "Download my data (JSON)",
        "erase_title": "Erase my data",
        "erase_intro": (
            "Deletes your account, ledger, points, consents and receipts; your contribution is "
            "subtracted from regional statistics. This cannot be undone."
        ),
        "erase_start": "Erase my data…",
        "erase_confirm_intro": (
            "Type your person id {person_id} to confirm. You will be signed out afterwards."
        ),
        "erase_label": "Your person id",
        "erase_confirm": "Erase my data for good",
        "erase_mismatch": "That is not your person id; nothing was erased.",
        "erased_title": "Your data is erased",
        "erased_text": "Your data has been erased and you are signed out.",
        "verify_title": "Verify a consent receipt",
        "verify_intro": (
            "Paste a consent receipt (a JWS) to check that this hub issued it and nobody altered it."
        ),
        "verify_label": "Consent receipt (JWS)",
        "verify_submit": "Verify the receipt",
        "verify_valid": "✓ Valid: issued by this hub and not altered.",
        "verify_invalid": "✗ Not valid: {reason}",
        "verify_empty": "Paste a receipt first.",
        "error_title": "Could not do that",
        "error_form": "The form could not be read; send it again.",
        "error_not_found": "There is no such item.",
        "error_no_categories": "Tick at least one category, or deny the request to share nothing.",
        "back": "Back to the consent centre",
        "none": "none",
    },
}


def text_of(language: str) -> Mapping[str, str]:
    """The strings of ``language`` (Simplified Chinese for a language not offered)."""
    return TEXT.get(language, TEXT[DEFAULT_LANGUAGE])


def _from_accept_language(header: str) -> str | None:
    """The first offered language in an ``Accept-Language`` header, by quality then order."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower()))
    for negative_quality, _, tag in sorted(ranked):
        if negative_quality >= 0:
            continue
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return None


def choose_language(request: HTTPConnection) -> tuple[str, bool]:
    """The page language and whether to remember it in the cookie.

    A ``lang`` query parameter (the language switch) wins and is remembered; then the cookie;
    then ``Accept-Language``; then Simplified Chinese.
    """
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked, request.cookies.get(LANGUAGE_COOKIE) != asked
    remembered = request.cookies.get(LANGUAGE_COOKIE)
    if remembered in LANGUAGES:
        return remembered, False
    negotiated = _from_accept_language(request.headers.get("accept-language", ""))
    return negotiated or DEFAULT_LANGUAGE, False
