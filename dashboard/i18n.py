"""UI strings by key in Simplified Chinese and English, and the choice of language per request."""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
LANG_COOKIE = "lang"

STRINGS: Mapping[str, Mapping[str, str]] = {
    "zh-CN": {
        "app.name": "安心",
        "app.tagline": "居家养老安全守护",
        "lang.switch": "English",
        "login.title": "登录",
        "login.username": "用户名",
        "login.password": "密码",
        "login.submit": "登录",
        "login.failed": "用户名或密码不正确。",
        "login.locked": "登录失败次数过多，请 {minutes} 分钟后再试。",
        "login.csrf": "表单已过期，请重试。",
        "logout": "退出",
        "console.title": "值班台",
        "console.empty": "目前没有未处理的警报。",
        "console.live": "实时",
        "console.offline": "连接中断，正在重连…",
        "col.priority": "级别",
        "col.resident": "老人",
        "col.kind": "类型",
        "col.raised": "发生时间",
        "col.state": "状态",
        "col.actions": "操作",
        "col.summary": "说明",
        "action.ack": "确认",
        "action.resolve": "处理完毕",
        "action.note": "备注",
        "action.failed": "操作失败：{status}",
        "kind.fall": "跌倒",
        "kind.call_button": "紧急呼叫",
        "kind.inactivity": "长时间无活动",
        "kind.not_up": "未按时起床",
        "kind.night_exit": "夜间外出",
        "kind.gateway_offline": "网关离线",
        "kind.sensor_silent": "传感器无数据",
        "kind.battery_low": "电量低",
        "kind.wearable_not_worn": "未佩戴手环",
        "kind.vitals": "生命体征异常",
        "kind.test": "测试警报",
        "kind.test_alarm": "测试警报",
        "kind.pre_alert": "疑似跌倒",
        "priority.high": "高",
        "priority.medium": "中",
        "priority.low": "低",
        "priority.technical": "技术",
        "state.open": "待处理",
        "state.acknowledged": "已确认",
        "state.resolved": "已处理",
        "outcome.handled_at_home": "居家处理",
        "outcome.visited": "已上门",
        "outcome.hospital": "送医",
        "outcome.false_alarm": "误报",
        "outcome.test": "测试",
        "acked.by": "{user} 于 {time} 确认",
        "family.title": "我的家人",
        "family.history": "警报记录",
        "family.none": "暂无警报记录。",
        "family.no_links": "您的账号尚未关联任何老人。",
        "home.title": "欢迎",
        "home.no_page": "您的角色（{role}）暂无可用页面。",
        "forbidden.title": "无权访问",
        "forbidden.text": "您的角色无权查看此页面。",
        "role.admin": "管理员",
        "role.manager": "站长",
        "role.staff": "值班人员",
        "role.family": "家属",
        "role.installer": "安装人员",
    },
    "en": {
        "app.name": "Anxin",
        "app.tagline": "Safe at home",
        "lang.switch": "中文",
        "login.title": "Sign in",
        "login.username": "Username",
        "login.password": "Password",
        "login.submit": "Sign in",
        "login.failed": "Wrong username or password.",
        "login.locked": "Too many failed attempts. Try again in {minutes} minutes.",
        "login.csrf": "The form expired. Please try again.",
        "logout": "Sign out",
        "console.title": "Care console",
        "console.empty": "No open alerts.",
        "console.live": "Live",
        "console.offline": "Connection lost, reconnecting…",
        "col.priority": "Priority",
        "col.resident": "Resident",
        "col.kind": "Alert",
        "col.raised": "Raised",
        "col.state": "State",
        "col.actions": "Actions",
        "col.summary": "Details",
        "action.ack": "Acknowledge",
        "action.resolve": "Resolve",
        "action.note": "Note",
        "action.failed": "Action failed: {status}",
        "kind.fall": "Fall",
        "kind.call_button": "Call button",
        "kind.inactivity": "Inactivity",
        "kind.not_up": "Not up",
        "kind.night_exit": "Night-time exit",
        "kind.gateway_offline": "Gateway offline",
        "kind.sensor_silent": "Sensor silent",
        "kind.battery_low": "Battery low",
        "kind.wearable_not_worn": "Wearable not worn",
        "kind.vitals": "Vital signs",
        "kind.test": "Test alarm",
        "kind.test_alarm": "Test alarm",
        "kind.pre_alert": "Suspected fall",
        "priority.high": "High",
        "priority.medium": "Medium",
        "priority.low": "Low",
        "priority.technical": "Technical",
        "state.open": "Open",
        "state.acknowledged": "Acknowledged",
        "state.resolved": "Resolved",
        "outcome.handled_at_home": "Handled at home",
        "outcome.visited": "Visited",
        "outcome.hospital": "Hospital",
        "outcome.false_alarm": "False alarm",
        "outcome.test": "Test",
        "acked.by": "by {user} at {time}",
        "family.title": "My family",
        "family.history": "Alert history",
        "family.none": "No alerts so far.",
        "family.no_links": "Your account is not linked to any resident yet.",
        "home.title": "Welcome",
        "home.no_page": "There is no page for your role ({role}) yet.",
        "forbidden.title": "Not allowed",
        "forbidden.text": "Your role may not see this page.",
        "role.admin": "Administrator",
        "role.manager": "Station manager",
        "role.staff": "Care staff",
        "role.family": "Family",
        "role.installer": "Installer",
    },
}


def translate(lang: str, key: str, **params: object) -> str:
    """The string ``key`` in ``lang`` with ``params`` filled in; the key itself when unknown."""
    table = STRINGS.get(lang, STRINGS[DEFAULT_LANGUAGE])
    text = table.get(key) or STRINGS["en"].get(key) or key
    return text.format(**params) if params else text


def label(lang: str, prefix: str, value: str) -> str:
    """A translated enum-like value (``kind.fall``), falling back to the raw value."""
    key = f"{prefix}.{value}"
    text = translate(lang, key)
    return value if text == key else text


def normalise(code: str) -> str | None:
    """The supported language that ``code`` (``zh``, ``zh-Hans-CN``, ``en-GB`` ...) means, if any."""
    primary = code.strip().lower().split("-")[0].split("_")[0]
    if primary == "zh":
        return "zh-CN"
    if primary == "en":
        return "en"
    return None


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The language of a request: the ``lang`` cookie, else Accept-Language by weight, else zh-CN."""
    if cookie and (chosen := normalise(cookie)):
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        code, _, params = part.partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if (chosen := normalise(code)) and weight > 0:
            ranked.append((-weight, position, chosen))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE
