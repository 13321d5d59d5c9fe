"""Prepare the UCI SMS Spam Collection for the scam model: relabel, mask numbers, write CSV.

    python data/scam/prepare_uci.py SMSSpamCollection > data/scam/uci.csv

The collection (Almeida & Gómez Hidalgo, 2011; CC BY 4.0) marks each message `ham` or `spam`.
Our labels are scam / marketing / legit:
- ham -> legit (ordinary messages between people);
- spam that announces a prize, win, award, cash, voucher or "urgent" claim, or asks you to
  call or text back to collect something -> scam (the premium-rate "you have won" trap);
- spam that charges by the message or minute (a 09 premium number, "150p", "£", "per min",
  "T&C"): the premium-rate subscription trap -> scam (the rules' `premium_rate` flag, on its own
  a scam);
- other spam (phone and network offers, shop offers, free-phone numbers) -> marketing.
Phone numbers of seven digits or more keep their first four digits, the rest become 0
(short codes of four or five digits are kept: they are services, not people). Exact
duplicates are dropped, and so is any message that is also in ../shared/eval (checked by
`scam_train.py` against the shared sets, without copying them anywhere)."""

from __future__ import annotations

import csv
import re
import sys

SCAM = re.compile(
    r"\b(?:won|win|winner|wining|prize|award(?:ed)?|claim|cash|£ ?\d{3,}|voucher|bonus|guaranteed|urgent|"
    r"selected|lottery|draw|jackpot|reward|holiday|camcorder|free (?:entry|tickets?)|collect|valued customer|"
    r"account|statement|delivery|txt back|call (?:now|back)|expires?)\b", re.IGNORECASE)
PREMIUM = re.compile(r"\b09\d{6,}|\b\d+ ?p\b|\d+p ?(?:/|per)|£|\bper (?:min|msg|txt|week|wk)\b|\bt ?& ?c|"
                     r"\bstd (?:txt )?rate|\b1[68]\+|\bpobox|\bstop\b", re.IGNORECASE)
LONG_NUMBER = re.compile(r"\d(?:[\d ]?\d){6,}")


def mask(text: str) -> str:
    def masked(found: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", found.group())
        return digits[:4] + "0" * (len(digits) - 4)

    return LONG_NUMBER.sub(masked, text)


def main() -> None:
    rows, seen = [], set()
    with open(sys.argv[1], encoding="utf-8") as handle:
        for line in handle:
            label, _, text = line.rstrip("\n").partition("\t")
            if label not in ("ham", "spam") or not text.strip():
                continue
            text = mask(" ".join(text.split()))
            if text.casefold() in seen:
                continue
            seen.add(text.casefold())
            ours = "legit" if label == "ham" else ("scam" if SCAM.search(text) or PREMIUM.search(text) else "marketing")
            rows.append({"text": text, "label": ours, "lang": "en", "source": f"uci-sms-spam:{label}"})
    writer = csv.DictWriter(sys.stdout, fieldnames=["text", "label", "lang", "source"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


if __name__ == "__main__":
    main()
