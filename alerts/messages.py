"""Notification texts as keyed templates per locale (zh-CN, en): who, what, when, sensors, link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_LOCALE = "zh-CN"
# alerts about the platform itself, for a whole station: no resident, no home (own templates)
STATION_KINDS = frozenset({"detector_down"})

TEMPLATES: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "【安心】{priority_label}：{who} {what}",
        "title.reminder": "【安心】第{attempt}次提醒：{who} {what} 仍未确认",
        "body": (
            "{who}（{home}）{what}。\n时间：{when}\n传感器：{sensors}\n"
            "请尽快确认并处理：{link}\n编号：{key}"
        ),
        "who.unknown": "住户",
        "priority.high": "紧急",
        "priority.medium": "注意",
        "priority.low": "提示",
        "priority.technical": "设备故障",
        "kind.fall": "疑似跌倒",
        "kind.call_button": "按下了呼叫按钮",
        "kind.pre_alert": "疑似跌倒，等待确认",
        "kind.inactivity": "长时间没有活动",
        "kind.gateway_offline": "网关离线",
        "kind.test_alarm_failed": "每周报警测试未通过",
        "kind.test_alarm": "报警测试",
        "kind.test": "报警测试",
        "kind.data_gap": "数据缺失",
        "kind.not_up": "到平时起床的时间还没有起床",
        "kind.bathroom_stay": "在卫生间停留的时间远超平时",
        "kind.night_exit": "夜间离开了家（有走失风险）",
        "kind.missed_meal": "平时用餐的时间没有厨房活动",
        "kind.vitals": "生命体征超出个人正常范围",
        "kind.wearable_not_worn": "没有佩戴穿戴设备",
        "kind.battery_low": "家中设备电量低",
        "kind.sensor_silent": "家中传感器长时间没有数据",
        "kind.link_unstable": "网关连接不稳定",
        "kind.clock_wrong": "网关时钟不准",
        "kind.detector_down": "自动监测已停止，住户暂时无人看护",
        "sensors": "{count} 条记录；{summary}",
        "priority.platform": "系统故障",
        "title.station": "【安心】{priority_label}：{what}",
        "title.station.reminder": "【安心】第{attempt}次提醒：{what}",
        "body.station": (
            "{what}。\n开始时间：{when}\n详情：{summary}\n"
            "修复之前，请电话联系或上门看望住户。\n{link}\n编号：{key}"
        ),
    },
    "en": {
        "title": "[Anxin] {priority_label}: {who} {what}",
        "title.reminder": "[Anxin] reminder {attempt}: {who} {what}, not acknowledged yet",
        "body": (
            "{who} ({home}) {what}.\nWhen: {when}\nSensors: {sensors}\n"
            "Please acknowledge and act: {link}\nRef: {key}"
        ),
        "who.unknown": "A resident",
        "priority.high": "URGENT",
        "priority.medium": "Attention",
        "priority.low": "Notice",
        "priority.technical": "Device fault",
        "kind.fall": "may have fallen",
        "kind.call_button": "pressed the call button",
        "kind.pre_alert": "may have fallen (waiting for confirmation)",
        "kind.inactivity": "has shown no activity for a long time",
        "kind.gateway_offline": "home gateway is offline",
        "kind.test_alarm_failed": "weekly alarm test failed",
        "kind.test_alarm": "alarm test",
        "kind.test": "alarm test",
        "kind.data_gap": "data is missing",
        "kind.not_up": "has not got up by the usual time",
        "kind.bathroom_stay": "has been in the bathroom far longer than usual",
        "kind.night_exit": "left home at night (wandering risk)",
        "kind.missed_meal": "shows no kitchen activity at the usual meal time",
        "kind.vitals": "has vital signs outside their usual range",
        "kind.wearable_not_worn": "is not wearing the wearable",
        "kind.battery_low": "home device battery is low",
        "kind.sensor_silent": "a home sensor has gone silent",
        "kind.link_unstable": "home gateway link is unstable",
        "kind.clock_wrong": "home gateway clock is wrong",
        "kind.detector_down": "automatic monitoring has stopped: residents are not being watched",
        "sensors": "{count} record(s); {summary}",
        "priority.platform": "System fault",
        "title.station": "[Anxin] {priority_label}: {what}",
        "title.station.reminder": "[Anxin] reminder {attempt}: {what}",
        "body.station": (
            "{what}.\nSince: {when}\nDetails: {summary}\n"
            "Until it is fixed, phone or visit the residents.\n{link}\nRef: {key}"
        ),
    },
}


@dataclass(frozen=True, slots=True)
class MessageFacts:
    """What a notification tells: filled from the alert, its home and its station."""

    alert_id: int
    kind: str
    priority: str
    resident_name: str
    home_label: str
    raised_at: datetime
    evidence_count: int
    summary: str
    station_timezone: str
    link: str
    key: str  # idempotency key, shown so receivers can tell a reminder from a duplicate


def _text(locale: str, key: str) -> str:
    table = TEMPLATES.get(locale, TEMPLATES[DEFAULT_LOCALE])
    return table.get(key, TEMPLATES["en"].get(key, key))


def _local(moment: datetime, timezone: str) -> datetime:
    try:
        return moment.astimezone(ZoneInfo(timezone))
    except ZoneInfoNotFoundError:
        return moment


def render(locale: str, facts: MessageFacts, attempt: int = 0) -> tuple[str, str]:
    """(title, body) of a notification in ``locale`` (unknown locales fall back to zh-CN)."""
    what_key = f"kind.{facts.kind}"
    what = _text(locale, what_key)
    if what == what_key:
        what = facts.kind
    station = facts.kind in STATION_KINDS
    values = {
        "who": facts.resident_name or _text(locale, "who.unknown"),
        "what": what,
        "home": facts.home_label,
        "when": _local(facts.raised_at, facts.station_timezone).strftime("%Y-%m-%d %H:%M:%S %Z"),
        "priority_label": _text(
            locale, "priority.platform" if station else f"priority.{facts.priority}"
        ),
        "summary": facts.summary,
        "link": facts.link,
        "key": facts.key,
        "attempt": str(attempt),
    }
    values["sensors"] = _text(locale, "sensors").format(
        count=facts.evidence_count, summary=facts.summary
    )
    title_key = "title.station" if station else "title"
    if attempt > 0:
        title_key += ".reminder"
    body_key = "body.station" if station else "body"
    return _text(locale, title_key).format(**values), _text(locale, body_key).format(**values)
