"""Word reports in layouts the seeds do not show, written the way other units type them.

- ``commune_2025``: a commune after the 2025 reorganisation (Lâm Đồng). Letterhead table, "BÁO CÁO /
  Kết quả công tác cải cách hành chính Quý I năm 2025"; the dossier results as a list in the narrative
  (one figure in it disagrees with the appendix); the appendix is "PHỤ LỤC II", one table with a
  single header row "TT | Nội dung | ĐVT | Kết quả | Ghi chú", Roman-numeral sections and the dossier
  detail rows of form 3; STT cells merged down over their sub-rows.
- ``department``: a provincial department (Sở Tư pháp), Q3/2023. Its appendix is seven tables, each
  under "Biểu số 0N" and a title, header "STT | Chỉ tiêu | Đơn vị tính | Kết quả | Ghi chú"; figures
  typed with their unit ("05 văn bản"); the narrative gives the on-time rate and an approximate total.
- ``district_two_periods``: a district, Q2/2024, whose appendix compares with the previous quarter:
  "STT | Nội dung chỉ tiêu | Đơn vị tính | Số liệu quý trước | Số liệu quý này | Ghi chú"; the
  narrative has a cross-tab of dossiers by level (Cấp | Tiếp nhận | Đã giải quyết | ...).
"""
from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_BREAK


def _letterhead(doc, left: str, right: str) -> None:
    table = doc.add_table(rows=1, cols=2)
    for c, text in enumerate((left, right)):
        p = table.cell(0, c).paragraphs[0]
        for i, line in enumerate(text.split("\n")):
            if i:
                p.add_run().add_break()
            p.add_run(line).bold = True


def _paragraphs(doc, text: str) -> None:
    for line in text.strip().splitlines():
        if line.strip():
            run = doc.add_paragraph().add_run(line.strip())
            run.bold = line.strip().isupper() or None


def _table(doc, header: list[str], rows: list[list[str]], merge_stt: bool = False):
    table = doc.add_table(rows=1 + len(rows), cols=len(header))
    table.style = "Table Grid"
    for c, text in enumerate(header):
        table.cell(0, c).paragraphs[0].add_run(text).bold = True
    for r, cells in enumerate(rows, start=1):
        for c, text in enumerate(cells):
            if text:
                table.cell(r, c).text = text
    if merge_stt:  # an STT cell merged down over the sub-rows below it, as Word users often do
        r = 1
        while r <= len(rows):
            end = r
            while end < len(rows) and not rows[end][0] and rows[end][1]:
                end += 1
            if end > r and rows[r - 1][0]:
                merged = table.cell(r, 0).merge(table.cell(end, 0))
                for extra in merged.paragraphs[1:]:  # python-docx keeps the emptied cells' paragraphs
                    if not extra.text:
                        extra._element.getparent().remove(extra._element)
            r = end + 1
    return table


def _opening(left: str, right: str, narrative: str):
    """A report's first page: the letterhead table, then the narrative's paragraphs."""
    doc = Document()
    _letterhead(doc, left, right)
    _paragraphs(doc, narrative)
    return doc


def commune_2025(path: Path) -> Path:
    doc = _opening("ỦY BAN NHÂN DÂN\nXÃ ĐAM RÔNG\nSố: 42/BC-UBND",
                   "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\nĐam Rông, ngày 10 tháng 3 năm 2025", """
BÁO CÁO
Kết quả công tác cải cách hành chính Quý I năm 2025
Thực hiện Kế hoạch số 11/KH-UBND ngày 21/01/2025 của Ủy ban nhân dân xã về thực hiện công tác cải cách hành chính năm 2025, Ủy ban nhân dân xã báo cáo kết quả thực hiện công tác cải cách hành chính Quý I năm 2025, cụ thể như sau:
I. CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH CCHC
Ủy ban nhân dân xã đã ban hành Kế hoạch CCHC năm 2025 với 18 nhiệm vụ; đến nay đã hoàn thành 4/18 nhiệm vụ, đạt 22,2%.
II. KẾT QUẢ THỰC HIỆN CÔNG TÁC CẢI CÁCH HÀNH CHÍNH
2. Cải cách thủ tục hành chính
Trong Quý I năm 2025, Trung tâm Phục vụ hành chính công xã đã tiếp nhận 1.234 hồ sơ, trong đó:
- Hồ sơ trực tuyến: 1.100 hồ sơ; hồ sơ trực tiếp và qua dịch vụ bưu chính công ích: 134 hồ sơ.
- Đã giải quyết 1.150 hồ sơ, trong đó: trước hạn 900 hồ sơ, đúng hạn 245 hồ sơ, quá hạn 5 hồ sơ.
- Đang giải quyết 84 hồ sơ.
Tỷ lệ hồ sơ giải quyết trước hạn và đúng hạn đạt 99,57%.
3. Cải cách tổ chức bộ máy
Hiện nay tổng số cán bộ, công chức xã là 38 người.
Trên đây là báo cáo kết quả công tác cải cách hành chính Quý I năm 2025 của Ủy ban nhân dân xã Đam Rông./.
""")
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    _paragraphs(doc, """
PHỤ LỤC II
BIỂU SỐ LIỆU BÁO CÁO CẢI CÁCH HÀNH CHÍNH QUÝ I/2025
(Kèm theo Báo cáo số 42/BC-UBND ngày 10/3/2025 của UBND xã Đam Rông)
""")
    rows = [
        ["I", "CÔNG TÁC CHỈ ĐẠO, ĐIỀU HÀNH CCHC", "", "", ""],
        ["1", "Tỷ lệ hoàn thành Kế hoạch CCHC năm", "%", "22,2", ""],
        ["", "Số nhiệm vụ đề ra trong kế hoạch", "Nhiệm vụ", "18", ""],
        ["", "Số nhiệm vụ đã hoàn thành", "Nhiệm vụ", "4", ""],
        ["II", "CẢI CÁCH THỦ TỤC HÀNH CHÍNH", "", "", ""],
        ["1", "Tổng số hồ sơ đã tiếp nhận", "Hồ sơ", "1.234", ""],
        ["", "Trong đó: Tiếp nhận trực tuyến", "Hồ sơ", "1.100", ""],
        ["", "Tiếp nhận trực tiếp và qua dịch vụ bưu chính công ích", "Hồ sơ", "134", ""],
        ["2", "Số hồ sơ đã giải quyết", "Hồ sơ", "1.151", ""],
        ["", "Giải quyết trước hạn", "Hồ sơ", "900", ""],
        ["", "Giải quyết đúng hạn", "Hồ sơ", "245", ""],
        ["", "Giải quyết quá hạn", "Hồ sơ", "6", "Do chờ xác minh"],
        ["3", "Số hồ sơ đang giải quyết", "Hồ sơ", "83", ""],
        ["III", "CẢI CÁCH TỔ CHỨC BỘ MÁY", "", "", ""],
        ["1", "Tổng số biên chế được giao trong năm", "Người", "40", ""],
        ["2", "Tổng số biên chế có mặt tại thời điểm báo cáo", "Người", "38", ""],
    ]
    _table(doc, ["TT", "Nội dung", "ĐVT", "Kết quả", "Ghi chú"], rows, merge_stt=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    return path


_DEPARTMENT_FORMS = [
    ("Biểu số 01", "Công tác chỉ đạo điều hành CCHC", [
        ["1", "Số văn bản chỉ đạo CCHC đã ban hành", "Văn bản", "05 văn bản", ""],
        ["2", "Tỷ lệ hoàn thành Kế hoạch CCHC năm", "%", "75%", ""],
        ["2.1", "Số nhiệm vụ đề ra trong kế hoạch", "Nhiệm vụ", "20", ""],
        ["2.2", "Số nhiệm vụ đã hoàn thành", "Nhiệm vụ", "15", ""],
    ]),
    ("Biểu số 03", "Cải cách thủ tục hành chính", [
        ["1", "Tổng số TTHC thuộc thẩm quyền giải quyết của cơ quan", "Thủ tục", "132", ""],
        ["2", "Tỷ lệ hồ sơ TTHC do các cơ quan, địa phương tiếp nhận được giải quyết đúng hạn", "%", "99,5", ""],
        ["2.1", "Tổng số hồ sơ TTHC đã giải quyết xong", "Hồ sơ", "3.412", ""],
        ["2.2", "Số hồ sơ TTHC giải quyết đúng hạn", "Hồ sơ", "3.395", ""],
    ]),
    ("Biểu số 04", "Cải cách tổ chức bộ máy", [
        ["1", "Tổng số biên chế được giao trong năm", "Người", "46", ""],
        ["2", "Tổng số biên chế có mặt tại thời điểm báo cáo", "Người", "44", ""],
    ]),
    ("Biểu số 06", "Cải cách tài chính công", [
        ["1", "Tỷ lệ thực hiện Kế hoạch giải ngân vốn đầu tư công", "%", "41,3", ""],
        ["1.1", "Kế hoạch được giao", "Triệu đồng", "12.500", ""],
        ["1.2", "Đã thực hiện", "Triệu đồng", "5.160", ""],
    ]),
]


def department(path: Path) -> Path:
    doc = _opening("UBND TỈNH PHÚ THỌ\nSỞ TƯ PHÁP\nSố: 215/BC-STP",
                   "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\nPhú Thọ, ngày 12 tháng 9 năm 2023", """
BÁO CÁO
Kết quả thực hiện công tác cải cách hành chính quý III năm 2023
Sở Tư pháp báo cáo kết quả thực hiện công tác cải cách hành chính quý III năm 2023 như sau:
Trong kỳ, Sở đã ban hành 05 văn bản chỉ đạo, điều hành về cải cách hành chính. Tỷ lệ hoàn thành kế hoạch CCHC năm đạt 75%.
Bộ phận Một cửa của Sở đã tiếp nhận khoảng 3.500 hồ sơ; tổng số hồ sơ đã giải quyết là 3.412 hồ sơ, tỷ lệ hồ sơ giải quyết đúng hạn đạt 99,5%.
Tổng số biên chế công chức được giao năm 2023 là 46 biên chế, hiện có mặt 44 người.
Tỷ lệ giải ngân vốn đầu tư công đạt 41,3% kế hoạch.
""")
    for i, (code, title, rows) in enumerate(_DEPARTMENT_FORMS):
        if i == 0:
            doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            _paragraphs(doc, "PHỤ LỤC\nSỐ LIỆU THỐNG KÊ CẢI CÁCH HÀNH CHÍNH QUÝ III NĂM 2023\n"
                             "(Kèm theo Báo cáo số 215/BC-STP ngày 12/9/2023 của Sở Tư pháp)")
        _paragraphs(doc, f"{code}\n{title}")
        _table(doc, ["STT", "Chỉ tiêu", "Đơn vị tính", "Kết quả", "Ghi chú"], rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    return path


def district_two_periods(path: Path) -> Path:
    doc = _opening("ỦY BAN NHÂN DÂN\nHUYỆN PHÙ NINH\nSố: 118/BC-UBND",
                   "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\nPhù Ninh, ngày 14 tháng 6 năm 2024", """
BÁO CÁO
Kết quả thực hiện công tác cải cách hành chính quý II năm 2024
UBND huyện Phù Ninh báo cáo kết quả thực hiện công tác cải cách hành chính quý II năm 2024 như sau:
Kết quả tiếp nhận, giải quyết hồ sơ TTHC trên địa bàn huyện trong quý như sau:
""")
    cross = doc.add_table(rows=3, cols=6)
    cross.style = "Table Grid"
    for r, cells in enumerate([["Cấp", "Tiếp nhận", "Đã giải quyết", "Trước hạn", "Đúng hạn", "Quá hạn"],
                               ["Cấp huyện", "2.104", "1.987", "1.650", "337", "0"],
                               ["Cấp xã", "5.320", "5.301", "4.880", "421", "0"]]):
        for c, text in enumerate(cells):
            cross.cell(r, c).text = text
    _paragraphs(doc, """
Tổng số hồ sơ đã giải quyết 7.288 hồ sơ (thuộc thẩm quyền giải quyết của cấp huyện là 1.987 hồ sơ, thuộc thẩm quyền giải quyết của cấp xã là 5.301 hồ sơ).
Tỷ lệ hồ sơ trực tuyến đạt 68,2%.
Biên chế hành chính được giao là 72 người, hiện có mặt 70 người.
""")
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    _paragraphs(doc, "Biểu mẫu 3\nCải cách thủ tục hành chính")
    rows = [
        ["1", "Tỷ lệ hồ sơ TTHC do UBND cấp huyện tiếp nhận được giải quyết đúng hạn", "%", "100", "100", ""],
        ["1.1", "Tổng số hồ sơ TTHC đã giải quyết xong", "Hồ sơ", "1.802", "1.987", ""],
        ["1.2", "Số hồ sơ TTHC giải quyết đúng hạn", "Hồ sơ", "1.802", "1.987", ""],
        ["2", "Tỷ lệ hồ sơ TTHC do UBND cấp xã tiếp nhận được giải quyết đúng hạn", "%", "100", "100", ""],
        ["2.1", "Tổng số hồ sơ TTHC đã giải quyết xong", "Hồ sơ", "4.950", "5.301", ""],
        ["2.2", "Số hồ sơ TTHC giải quyết đúng hạn", "Hồ sơ", "4.950", "5.301", ""],
    ]
    _table(doc, ["STT", "Nội dung chỉ tiêu", "Đơn vị tính", "Số liệu quý trước", "Số liệu quý này", "Ghi chú"], rows)
    _paragraphs(doc, "Biểu mẫu 4\nCải cách tổ chức bộ máy")
    _table(doc, ["STT", "Nội dung chỉ tiêu", "Đơn vị tính", "Số liệu quý trước", "Số liệu quý này", "Ghi chú"], [
        ["1", "Tổng số biên chế được giao trong năm", "Người", "72", "72", ""],
        ["2", "Tổng số biên chế có mặt tại thời điểm báo cáo", "Người", "71", "70", ""],
    ])
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path)
    return path
