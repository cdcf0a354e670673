"""A synthetic but realistically shaped country of reporting units, before and after 2025.

Until 30 June 2025: provinces → districts → communes, plus provincial departments.
From 1 July 2025 (Nghị quyết 202/2025/QH15, two-level local government): fewer provinces
(63 → 34 at national scale), no districts, communes merged about 3 into 1 (10,035 → 3,321).
Unit codes are synthetic (T.. old provinces, N.. new ones) so nobody mistakes them for
official codes; names are built from common Vietnamese place-name syllables.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from ingestion.domain import valid_on

REFORM_DAY = dt.date(2025, 7, 1)
LAST_OLD_DAY = REFORM_DAY - dt.timedelta(days=1)

_SYLLABLES = ("An", "Bình", "Phú", "Tân", "Hòa", "Thạnh", "Long", "Mỹ", "Phước", "Hưng", "Lộc", "Thành", "Đông", "Tây",
              "Nam", "Bắc", "Sơn", "Hà", "Trung", "Minh", "Quang", "Hải", "Thủy", "Lâm", "Cát", "Vĩnh", "Xuân", "Hội",
              "Đức", "Nghĩa", "Lợi", "Thuận", "Kim", "Ngọc", "Hiệp", "Định", "Khánh", "Thới", "Tiến", "Phong", "Yên",
              "Hồng", "Quảng", "Gia", "Cẩm", "Diên", "Triệu", "Hương", "Văn", "Tường")
DEPARTMENTS = ("Sở Nội vụ", "Sở Tư pháp", "Sở Tài chính", "Sở Xây dựng", "Sở Y tế", "Sở Giáo dục và Đào tạo",
               "Sở Công Thương", "Sở Nông nghiệp và Môi trường", "Sở Khoa học và Công nghệ",
               "Sở Văn hóa, Thể thao và Du lịch", "Văn phòng UBND tỉnh", "Thanh tra tỉnh", "Sở Dân tộc và Tôn giáo",
               "Sở Ngoại vụ", "Ban Quản lý các khu công nghiệp", "Sở Lao động, Thương binh và Xã hội",
               "Sở Giao thông vận tải", "Sở Tài nguyên và Môi trường", "Sở Thông tin và Truyền thông", "Sở Kế hoạch và Đầu tư")


@dataclass
class DemoUnit:
    code: str
    name: str
    level: str  # province | department | district | commune
    unit_type: str
    parent: str | None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    size: float = 1.0  # relative workload; figures scale with it

    def active_on(self, day: dt.date) -> bool:
        return valid_on(self.valid_from, self.valid_to, day)


@dataclass
class Country:
    units: list[DemoUnit] = field(default_factory=list)
    mappings: list[tuple[str, str, str, dt.date]] = field(default_factory=list)  # old, new, weight, effective

    def active(self, day: dt.date) -> list[DemoUnit]:
        return [u for u in self.units if u.active_on(day)]

    def children(self, code: str, day: dt.date) -> list[DemoUnit]:
        return [u for u in self.units if u.parent == code and u.active_on(day)]


class _Names:
    def __init__(self, rng: random.Random):
        self.rng, self.used = rng, set()

    def __call__(self) -> str:
        for _ in range(1000):
            name = f"{self.rng.choice(_SYLLABLES)} {self.rng.choice(_SYLLABLES)}"
            if name not in self.used and name.split()[0] != name.split()[1]:
                self.used.add(name)
                return name
        name = f"{self.rng.choice(_SYLLABLES)} {len(self.used)}"
        self.used.add(name)
        return name


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """total items over parts groups, each at least 1, roughly even."""
    parts = max(1, min(parts, total))
    sizes = [total // parts] * parts
    for i in range(total - sum(sizes)):
        sizes[i] += 1
    rng.shuffle(sizes)
    return sizes


def build_country(units: int, seed: int) -> Country:
    """A country with about ``units`` reporting units after the 2025 reorganisation."""
    rng = random.Random(seed)
    names = _Names(rng)
    country = Country()
    new_provinces = max(1, min(34, round(units / 118)))
    depts = max(2, min(len(DEPARTMENTS), round(units * 0.16 / new_provinces)))
    new_communes_total = max(2 * new_provinces, units - new_provinces * (1 + depts))
    old_per_new = [1] * new_provinces
    if new_provinces > 1:  # 63 old provinces became 34: about half of the new ones are mergers of 2 or 3
        extra = round(new_provinces * 63 / 34) - new_provinces
        for i in rng.sample(range(new_provinces), k=min(extra, new_provinces)):
            old_per_new[i] += 1
        for _ in range(extra - min(extra, new_provinces)):
            old_per_new[rng.randrange(new_provinces)] += 1
    communes_per_new = _split(new_communes_total, new_provinces, rng)
    old_index = 0
    for p in range(new_provinces):
        merged = old_per_new[p] > 1
        new_code = f"N{p + 1:02d}" if merged else f"T{old_index + 1:02d}"
        prov_name = names()
        province = DemoUnit(new_code, f"Tỉnh {prov_name}", "province", "tỉnh", None,
                            valid_from=REFORM_DAY if merged else None, size=rng.uniform(30, 60))
        country.units.append(province)
        for d in range(depts):
            country.units.append(DemoUnit(f"{new_code}S{d + 1:02d}", f"{DEPARTMENTS[d]} tỉnh {prov_name}", "department",
                                          "sở", new_code, valid_from=province.valid_from, size=rng.uniform(2, 8)))
        # New communes and the old ones merged into them (about three into one).
        new_communes = []
        for c in range(communes_per_new[p]):
            kind = "Phường" if rng.random() < 0.25 else "Xã"
            new_communes.append(DemoUnit(f"{new_code}X{c + 1:04d}", f"{kind} {names()}", "commune", kind.lower(), new_code,
                                         valid_from=REFORM_DAY, size=rng.uniform(2.0, 4.0)))
        country.units.extend(new_communes)
        old_communes: list[tuple[DemoUnit, DemoUnit]] = []
        for new in new_communes:
            for _ in range(rng.choice((2, 3, 3, 3, 4))):
                old_communes.append((DemoUnit("", "", "commune", "", None, size=new.size / 3), new))
        # The old provinces this new one was formed from share the old communes between them.
        old_groups = _split(len(old_communes), old_per_new[p], rng)
        start = 0
        for group_size in old_groups:
            old_code = f"T{old_index + 1:02d}"
            old_index += 1
            if merged:
                old_name = names()
                country.units.append(DemoUnit(old_code, f"Tỉnh {old_name}", "province", "tỉnh", None,
                                              valid_to=LAST_OLD_DAY, size=rng.uniform(20, 40)))
                country.mappings.append((old_code, new_code, "1", REFORM_DAY))
                for d in range(depts):
                    country.units.append(DemoUnit(f"{old_code}S{d + 1:02d}", f"{DEPARTMENTS[d]} tỉnh {old_name}",
                                                  "department", "sở", old_code, valid_to=LAST_OLD_DAY,
                                                  size=rng.uniform(2, 6)))
                    country.mappings.append((f"{old_code}S{d + 1:02d}", f"{new_code}S{d + 1:02d}", "1", REFORM_DAY))
            group = old_communes[start:start + group_size]
            start += group_size
            districts = _split(len(group), max(1, round(len(group) / 14)), rng)
            k = 0
            for di, n in enumerate(districts):
                dkind = rng.choice(("Huyện", "Huyện", "Huyện", "Thị xã", "Thành phố"))
                dcode = f"{old_code}D{di + 1:02d}"
                country.units.append(DemoUnit(dcode, f"{dkind} {names()}", "district", dkind.lower(), old_code,
                                              valid_to=LAST_OLD_DAY, size=0.0))
                country.mappings.append((dcode, new_code, "1", REFORM_DAY))  # district-level work goes to the province
                dsize = 0.0
                for ci in range(n):
                    unit, new = group[k]
                    k += 1
                    ckind = rng.choice(("Xã", "Xã", "Xã", "Phường", "Thị trấn"))
                    unit.code, unit.name = f"{dcode}X{ci + 1:03d}", f"{ckind} {names()}"
                    unit.unit_type, unit.parent, unit.valid_to = ckind.lower(), dcode, LAST_OLD_DAY
                    country.units.append(unit)
                    dsize += unit.size
                    country.mappings.append((unit.code, new.code, "1", REFORM_DAY))
                country.units[-n - 1].size = 3 + dsize
    _add_splits(country, rng)
    return country


def _add_splits(country: Country, rng: random.Random) -> None:
    """A few old communes were split between two new communes (weights 0.7 / 0.3)."""
    by_code = {u.code: u for u in country.units}
    commune_maps = [i for i, (old, new, _, _) in enumerate(country.mappings)
                    if by_code[old].level == "commune" and by_code[new].level == "commune"]
    for i in rng.sample(commune_maps, k=len(commune_maps) // 20):
        old, new, _, day = country.mappings[i]
        siblings = [u.code for u in country.units
                    if u.level == "commune" and u.parent == by_code[new].parent and u.code != new and u.valid_from == REFORM_DAY]
        if siblings:
            country.mappings[i] = (old, new, "0.7", day)
            country.mappings.append((old, rng.choice(siblings), "0.3", day))
