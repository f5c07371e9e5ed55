"""Plausible Chinese names for generated villages, communities and people, from a seeded RNG.

Villages in Jianghan-plain and hill country are mostly named after a clan or a landmark plus a
feature of the land (王岗, 石桥, 柳湾 …); the generator combines the two. The villages of the
article are real and are placed by the seeding code, so they are reserved here.
"""

import random

# Villages named in the article (reference/zhongxiang-grid-governance-article.txt), by town code.
ARTICLE_VILLAGES: dict[str, list[str]] = {
    "420881103": ["湖山村", "袁台村"],  # 胡集镇
    "420881107": ["百井村"],  # 冷水镇
    "420881108": ["钟堰村"],  # 石牌镇
}
RESERVED = {name for names in ARTICLE_VILLAGES.values() for name in names}

_VILLAGE_HEADS = (
    "王 李 张 刘 陈 杨 黄 赵 周 吴 徐 孙 胡 朱 高 何 郭 马 罗 梁 宋 郑 谢 韩 唐 冯 董 程 曹 袁 邓 许 彭 "
    "吕 苏 卢 蒋 蔡 丁 魏 薛 叶 余 潘 杜 戴 夏 钟 汪 田 任 姜 范 方 石 姚 谭 廖 邹 熊 金 陆 孔 白 崔 毛 "
    "邱 秦 江 史 侯 邵 孟 龙 万 段 雷 钱 汤 易 贺 龚 文 严 聂 向 "
    "东 西 南 北 大 小 新 老 上 下 双 三 五 七 九 青 红 银 凤 牛 鹿 鹤 桃 柳 松 竹 "
    "梅 莲 荷 兰 桂 枫 花 官 庙 仙 太 平 安 长 永 丰 富 兴 和 乐 清 泉 月 星 云 洪 汉 莫 郢 楚 曾 樊"
).split()
_VILLAGE_TAILS = (
    "岗 湾 河 桥 庙 台 山 林 坪 冲 垱 堰 湖 洲 港 集 店 铺 庄 营 寨 岭 坡 畈 塘 堤 口 渡 嘴 墩 场 岔 沟 "
    "井 门 园 垸 坝 岩 峰 滩 坊 埠 阁 寺 观 池 泉"
).split()

_COMMUNITY_NAMES = (
    "阳春 莫愁 王府 兰台 石城 郢中 承天 元佑 明珠 南湖 北湖 东门 西门 南门 北门 龙山 凤山 文峰 皇城 嘉靖 "
    "光明 团结 建设 幸福 和平 新华 东方 向阳 胜利 红星 金桥 滨江 汉江 皇庄 利民 安陆 双桥 花园 新堤 迎宾 "
    "鸣凤 龙泉 莲花 关山 荆襄 楚天 春晖 丽景 瓦瓷 柴湖"
).split()

_SURNAMES = (
    "王 李 张 刘 陈 杨 黄 赵 周 吴 徐 孙 胡 朱 高 林 何 郭 马 罗 梁 宋 郑 谢 韩 唐 冯 于 董 萧 程 曹 袁 邓 "
    "许 傅 沈 曾 彭 吕 苏 卢 蒋 蔡 贾 丁 魏 薛 叶 阎 余 潘 杜 戴 夏 钟 汪 田 任 姜 范 方 石 姚 谭 廖 邹 熊 "
    "金 陆 郝 孔 白 崔 康 毛 邱 秦 江 史 顾 侯 邵 孟 龙 万 段 雷 钱 汤 尹 黎 易 常 武 乔 贺 赖 龚 文 聂 向"
).split()
# The commonest surnames, repeated so they come up about as often as they do in Hubei.
_SURNAME_WEIGHTS = [8 if i < 10 else 3 if i < 30 else 1 for i in range(len(_SURNAMES))]
_GIVEN = (
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀 霞 平 刚 桂 英 华 玉 萍 红 兰 建 国 志 "
    "海 春 燕 林 波 斌 辉 鹏 宇 飞 翔 凯 浩 亮 文 俊 峰 琴 云 梅 莉 婷 雪 倩 慧 瑶 晨 阳 欣 怡 佳 "
    "立 新 正 宪 必 宣 炳 坤 清 德 福 生 成 荣 贵 富 兵 喜 金 银 全 胜 学 庆 先 中 安 家 友 永 "
).split()


def village_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """`count` village names (…村) not in `taken`; adds them to `taken`."""
    names: list[str] = []
    while len(names) < count:
        head, tail = rng.choice(_VILLAGE_HEADS), rng.choice(_VILLAGE_TAILS)
        if head == tail:
            continue
        name = f"{head}{tail}村"
        if name in taken or name in RESERVED:
            continue
        taken.add(name)
        names.append(name)
    return names


def community_names(rng: random.Random, count: int, taken: set[str]) -> list[str]:
    """`count` community names (…社区) not in `taken`, from a list of typical city names first."""
    pool = [n for n in _COMMUNITY_NAMES if f"{n}社区" not in taken]
    rng.shuffle(pool)
    names = [f"{n}社区" for n in pool[:count]]
    while len(names) < count:
        name = f"{rng.choice(_VILLAGE_HEADS)}{rng.choice(_VILLAGE_TAILS)}社区"
        if name not in taken and name not in names:
            names.append(name)
    taken.update(names)
    return names


def person_name(rng: random.Random) -> str:
    """A Han Chinese full name: a surname and one or two given characters."""
    surname = rng.choices(_SURNAMES, weights=_SURNAME_WEIGHTS)[0]
    given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.7 else "")
    return surname + given


def short_town_name(name: str) -> str:
    """胡集镇 → 胡集, 郢中街道 → 郢中, 九里回族乡 → 九里: the form a 派出所 is named with."""
    for suffix in ("回族乡", "街道", "镇", "乡"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


# --- people and places of the population (demo/people.py) ------------------------------------

# The article's residents are placed by the seeding code; nobody else gets their names, so an
# exact-name search finds them alone.
ARTICLE_RESIDENTS = frozenset({"李春艳", "王必俊", "吴正宪", "姚宣立", "胡某"})

# Given names that date a person, by birth year: the Faker zh_CN lists are mostly names of the
# 1980s and 1990s, so the old and the young get names of their own generation half of the time.
GIVEN_BY_ERA: list[tuple[int, dict[str, list[str]]]] = [
    (1959, {"male": "建国 国庆 德明 德华 金生 福生 长生 志华 明德 保国 春生 炳坤 清明 正宪 德胜 开明 家富 世昌".split(),
            "female": "秀英 桂英 秀兰 玉兰 桂兰 凤英 桂芳 玉珍 淑珍 翠兰 春兰 素珍 菊英 金凤 桂香 冬梅".split()}),
    (1979, {"male": "建军 红兵 卫东 志强 国平 建平 小平 永红 爱国 卫华 建新 文革 向东 立新 新民 国华".split(),
            "female": "海燕 红霞 丽华 春艳 晓红 红梅 艳红 小红 秀梅 丽萍 春华 玉梅 晓燕 爱华 红英 彩霞".split()}),
    (1999, {"male": [], "female": []}),  # Faker's own lists
    (9999, {"male": "子涵 梓轩 浩宇 宇轩 浩然 俊熙 子墨 沐阳 一鸣 皓轩 宇航 博文 嘉豪 梓豪 奕辰 思远".split(),
            "female": "欣怡 雨桐 梓涵 一诺 思彤 诗涵 梓萱 可馨 语嫣 雨萱 佳怡 子琪 若曦 紫涵 欣然 心怡".split()}),
]

# Chinese numerals for 村民小组 (一组 … 二十组).
_NUMERALS = "零一二三四五六七八九十"


def numeral(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十 (up to 99)."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _NUMERALS[tens] + "十")
    return head + (_NUMERALS[ones] if ones else "")


# Streets of the city proper (郢中 and 皇庄): plausible names, not a survey.
URBAN_ROADS = (
    "莫愁大道 承天大道 王府大道 郢中大道 石城大道 兰台路 阳春大街 元佑大道 迎宾大道 鸣凤路 北湖路 南湖路 "
    "文峰路 健康路 中山路 皇城路 东桥路 大东门路 利民路 人民路 龙山路 凤山路 民主街 新华街 团结路 "
    "建设路 光明路 滨江路 汉江大道 皇庄路 金桥路 花园路 丽景路 嘉靖大道 春晖路 楚天路"
).split()

# Where people who work away from home (外出务工) work.
WORKPLACES = (
    "广东东莞", "广东深圳", "广东广州", "广东佛山", "浙江温州", "浙江宁波", "浙江杭州", "江苏苏州",
    "江苏昆山", "上海", "北京", "福建厦门", "湖北武汉", "湖北宜昌", "湖北襄阳", "天津",
)
WORKPLACE_WEIGHTS = (12, 10, 8, 5, 6, 5, 4, 6, 3, 6, 3, 3, 14, 3, 4, 2)

# Where the floating population comes from: (ID region code, registered address prefix).
ORIGINS = (
    ("420882", "湖北省荆门市京山市"), ("420822", "湖北省荆门市沙洋县"), ("420802", "湖北省荆门市东宝区"),
    ("429006", "湖北省天门市"), ("429005", "湖北省潜江市"), ("420684", "湖北省襄阳市宜城市"),
    ("421381", "湖北省随州市广水市"), ("420624", "湖北省襄阳市南漳县"),
)
YUNNAN_ZHENXIONG = ("530627", "云南省昭通市镇雄县")

RURAL_JOBS = ("务农", "务农", "务农", "务农", "养殖", "个体经营", "村内零工", "建筑工", "货运司机", "乡村教师")
URBAN_JOBS = ("企业职工", "个体工商户", "企业职工", "服务员", "快递员", "教师", "医务人员", "机关事业单位",
              "网约车司机", "超市营业员", "待业", "灵活就业")
