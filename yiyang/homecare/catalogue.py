"""The service menu (菜单式服务): eight categories and a realistic set of items for Lishui.

Guide prices are in fen and follow the range seen in Zhejiang county price lists for
government-purchased home-care services (助餐 about ¥10-15 a meal, 助洁 about ¥40 an hour,
助浴 ¥80-120 a visit); each provider sets its own price per item in its offerings.
"""

from django.db import transaction

from yiyang.homecare.models import Qualification as Q
from yiyang.homecare.models import ServiceCategory, ServiceItem

CATEGORIES = [
    ("meal", "助餐"),
    ("bath", "助浴"),
    ("clean", "助洁"),
    ("medical", "助医"),
    ("emergency", "助急"),
    ("mobility", "助行"),
    ("rehab", "康复护理"),
    ("comfort", "精神慰藉"),
]


def _t(code: str, label: str, required: bool = True) -> dict:
    return {"code": code, "label": label, "required": required}


# category, code, name, unit, guide price (fen), standard minutes, qualification, tasks
ITEMS = [
    (
        "meal",
        "meal-delivery",
        "送餐上门",
        "份",
        1500,
        15,
        Q.HEALTH_CERT,
        [_t("deliver", "餐食送达"), _t("check", "查看长辈状况"), _t("containers", "回收餐盒", False)],
    ),
    (
        "meal",
        "meal-cooking",
        "上门做饭",
        "次",
        4000,
        60,
        Q.HEALTH_CERT,
        [_t("shopping", "代购食材", False), _t("cook", "烹饪饭菜"), _t("kitchen", "清洁厨房")],
    ),
    (
        "bath",
        "bath-home",
        "上门助浴",
        "次",
        10000,
        60,
        Q.CARE_WORKER,
        [_t("precheck", "助浴前测量血压、查看皮肤"), _t("bath", "协助洗浴"), _t("dress", "擦干、更衣"), _t("bathroom", "整理浴室", False)],
    ),
    ("bath", "bath-hair", "洗头理发", "次", 3000, 30, Q.NONE, [_t("wash", "洗头"), _t("cut", "理发", False)]),
    (
        "clean",
        "clean-home",
        "居家保洁",
        "次(2小时)",
        8000,
        120,
        Q.NONE,
        [_t("floors", "扫地拖地"), _t("kitchen", "厨房卫生间清洁"), _t("rubbish", "清运垃圾")],
    ),
    ("clean", "clean-laundry", "衣物被褥清洗", "次", 3000, 60, Q.NONE, [_t("wash", "清洗衣物被褥"), _t("fold", "晾晒整理", False)]),
    (
        "medical",
        "med-escort",
        "陪同就医",
        "次",
        8000,
        180,
        Q.CARE_WORKER,
        [_t("escort", "陪同前往医院"), _t("register", "挂号缴费取药"), _t("home", "护送回家")],
    ),
    ("medical", "med-medicine", "代配药", "次", 3000, 60, Q.NONE, [_t("fetch", "代配药品送达"), _t("explain", "讲解用法用量")]),
    (
        "medical",
        "med-vitals",
        "健康监测",
        "次",
        2000,
        30,
        Q.NURSE,
        [_t("bp", "测量血压"), _t("glucose", "测量血糖", False), _t("record", "记录并告知家属")],
    ),
    (
        "emergency",
        "emergency-visit",
        "紧急上门救助",
        "次",
        5000,
        60,
        Q.CARE_WORKER,
        [_t("assess", "现场评估"), _t("contact", "联系家属或120"), _t("record", "记录处置情况")],
    ),
    ("mobility", "mobility-walk", "陪同散步外出", "小时", 3000, 60, Q.NONE, [_t("walk", "陪同外出"), _t("safety", "安全送回")]),
    (
        "mobility",
        "mobility-wheelchair",
        "轮椅接送",
        "趟",
        5000,
        90,
        Q.CARE_WORKER,
        [_t("transfer", "协助上下轮椅"), _t("trip", "接送到达")],
    ),
    (
        "rehab",
        "rehab-training",
        "康复训练",
        "次",
        8000,
        60,
        Q.REHAB,
        [_t("assess", "功能评估"), _t("train", "康复训练"), _t("advice", "居家训练指导", False)],
    ),
    (
        "rehab",
        "nursing-basic",
        "基础护理(翻身、压疮护理)",
        "次",
        6000,
        60,
        Q.CARE_WORKER,
        [_t("turn", "协助翻身"), _t("skin", "皮肤及压疮护理"), _t("hygiene", "口腔及会阴清洁", False)],
    ),
    ("comfort", "comfort-chat", "陪伴聊天", "小时", 3000, 60, Q.NONE, [_t("chat", "陪伴聊天"), _t("mood", "观察情绪并记录")]),
    ("comfort", "comfort-counsel", "心理疏导", "次", 6000, 60, Q.SOCIAL_WORKER, [_t("talk", "心理疏导"), _t("record", "记录并提出建议")]),
]


@transaction.atomic
def catalogue_seed() -> int:
    """Create the categories and items that are missing; existing rows (perhaps edited by officers) are kept."""
    categories = {}
    for sort, (code, name) in enumerate(CATEGORIES):
        categories[code], _ = ServiceCategory.objects.get_or_create(code=code, defaults={"name": name, "sort": sort})
    created = 0
    for category, code, name, unit, price, minutes, qualification, tasks in ITEMS:
        _item, made = ServiceItem.objects.get_or_create(
            code=code,
            defaults={
                "category": categories[category],
                "name": name,
                "unit": unit,
                "guide_price_fen": price,
                "standard_minutes": minutes,
                "qualification": qualification,
                "tasks": tasks,
            },
        )
        created += made
    return created
