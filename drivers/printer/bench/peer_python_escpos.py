"""The certificate receipt produced by python-escpos, for the side-by-side benchmark.

Writes two streams into the folder given as argument:
  python-escpos-text.bin     what python-escpos does with Chinese text by itself
  python-escpos-gb18030.bin  the same, with Chinese sent as raw GB18030 in FS & .. FS .
"""
import json
import os
import sys

from escpos.printer import Dummy

here = os.path.dirname(os.path.abspath(__file__))
doc = json.load(open(os.path.join(here, "..", "examples", "certificate.json"), encoding="utf-8"))
out_dir = sys.argv[1]


def build(chinese_raw):
    p = Dummy()
    p.hw("INIT")

    def text(s):
        if chinese_raw and any(ord(c) > 0x7F for c in s):
            p._raw(b"\x1c\x26" + s.encode("gb18030") + b"\x1c\x2e")
        else:
            p.text(s)

    for item in doc["items"]:
        if "text" in item:
            size = item.get("size", [1, 1])
            p.set(align=item.get("align", "left"), bold=item.get("bold", False),
                  double_width=size[0] > 1, double_height=size[1] > 1)
            text(item["text"])
            p.text("\n")
            p.set(align="left", bold=False, double_width=False, double_height=False)
        elif "row" in item:
            k, v = item["row"]
            # python-escpos has no column layout: pad by characters, as users do.
            text(k + " " * max(1, 48 - len(k) - len(v)) + v)
            p.text("\n")
        elif "separator" in item:
            p.text(item["separator"] * 48 + "\n")
        elif "qr" in item:
            p.set(align="center")
            p.qr(item["qr"], size=item.get("module", 6), native=True)
            p.set(align="left")
        elif "barcode" in item:
            p.barcode("{B" + item["barcode"], "CODE128", height=item.get("height", 80), width=2,
                      pos="BELOW", function_type="B", check=False)
        elif "feed" in item:
            p.ln(item["feed"])
        elif "cut" in item:
            p.cut(mode="PART")
    return p.output


for name, raw in [("text", False), ("gb18030", True)]:
    data = build(raw)
    path = os.path.join(out_dir, f"python-escpos-{name}.bin")
    with open(path, "wb") as f:
        f.write(data)
    print(f"python-escpos ({name}): {len(data)} bytes -> {path}", file=sys.stderr)
