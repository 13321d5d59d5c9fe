"""Fill the slots of `written_templates.txt` and write `written.csv` (our own messages).

    python data/scam/written.py > data/scam/written.csv

Each line becomes three messages with different names, amounts, banks and links, seeded, so
the file is the same on every run. `group` names the line: the training script keeps every
copy of one line in the same split."""

from __future__ import annotations

import csv
import random
import re
import sys
from pathlib import Path

SLOTS = {
    "small": ["500", "1,500", "2,000", "3,500", "850", "1,200", "4,000", "750"],
    "amount": ["12,000", "25,000", "35,000", "50,000", "75,600", "1,50,000", "8,500", "18,760"],
    "amount2": ["3,210", "14,877", "52,004", "6,390", "120,450"],
    "n4": ["1234", "5521", "0789", "4410", "9032", "2468"],
    "name": ["Ali", "Sana", "Bilal", "Ayesha", "Usman", "Hira", "Kashif", "Fatima", "Zain"],
    "shop": ["Daraz", "Khaadi", "Sapphire", "Bata", "Gul Ahmed", "Hum Mart", "Outfitters"],
    "mobile": ["0300-0001234", "0345-0009876", "0312-0004455", "0333-0007788", "0301-0002121",
               "+92 321 0006543", "03470001122"],
    "link": ["https://jazzcash-bonus.top/claim", "http://ep-reward.xyz", "www.pk-verify.online/login",
             "https://secure-pk.cc/form", "http://gift-pk.site/win", "https://pay-pk.vip/now",
             "http://kyc-update.icu", "https://tinyurl.com/pk-claim8"],
    "short": ["bit.ly/3xRw9q", "tinyurl.com/ep-cash", "cutt.ly/jc-bonus", "is.gd/pk5gift", "rb.gy/w4lt3t"],
    "wallet": ["JazzCash", "Easypaisa", "SadaPay", "NayaPay", "UPaisa"],
    "wallet_ur": ["جاز کیش", "ایزی پیسہ"],
    "bank": ["HBL", "Meezan Bank", "UBL", "MCB", "Bank Alfalah", "Allied Bank", "NBP"],
    "courier": ["TCS", "Leopards", "M&P", "Trax", "Pakistan Post"],
    "plate": ["LEA-1234", "KHI-5521", "ICT-0789", "RIQ-4410"],
    "track": ["PK2026031455", "TCS778812345", "LP0098123", "MP44556677"],
    "operator": ["Jazz", "Zong", "Telenor", "Ufone", "Onic"],
    "operator_ur": ["جاز", "زونگ", "ٹیلی نار", "یوفون"],
    "wagroup": ["https://chat.whatsapp.com/Fk3l9PqRtYu", "chat.whatsapp.com/Hq72LmNo0p", "wa.me/923000001234"],
    "official": ["jazzcash.com.pk", "hbl.com", "meezanbank.com", "easypaisa.com.pk", "nadra.gov.pk"],
    "fakehost": ["secure-login.top", "verify-pk.xyz", "acc-help.cc", "login-pk.site"],
    "code": ["117", "786", "3*21", "5002", "404", "100*2"],
    "offlink": ["https://jazz.com.pk/offers", "https://www.telenor.com.pk/dl/mytelenor", "bit.ly/JazzWorldApp",
                "https://www.zong.com.pk/offers", "bit.ly/UfoneApp", "https://tamashaweb.com"],
    "shoplink": ["https://www.daraz.pk/sale", "khaadi.com", "https://pk.sapphireonline.pk/lawn", "bit.ly/BataEid",
                 "https://www.foodpanda.pk"],
    "banksite": ["hbl.com/cards", "https://www.meezanbank.com/offers", "ubldigital.com"],
    "school": ["https://admissions.pu.edu.pk", "www.nust.edu.pk/admissions", "https://learn.example-academy.pk"],
    "otp": ["482913", "551204", "903117", "7731", "66018"],
    "date": ["12-03-2026", "05/11", "28 Feb", "15-06-2026", "21 Sep"],
    "tid": ["8823401176", "31200456", "77120098", "5540021"],
    "month": ["March", "October", "June", "January"],
    "couriersite": ["https://www.tcsexpress.com/track", "leopardscourier.com", "https://www.mulphilog.com/tracking"],
    "hospital": ["Shifa International", "Aga Khan Hospital", "Indus Hospital"],
    # for genuine notices: a wallet account is a mobile number; cards and accounts are masked
    "NAME": ["MUHAMMAD ASIF", "SANA KHAN", "IMRAN ALI", "AYESHA BIBI", "ZAIN UL ABIDIN", "HIRA NOOR"],
    "wmobile": ["03450001234", "923000001122", "0300-0005566", "03120007788", "923330009911"],
    "mask": ["**1234", "xxx5521", "*0789", "0002****4410", "XXXX9032"],
    "merchant": ["FOOD PANDA KARACHI", "DARAZ PK", "CARREFOUR LAHORE", "NETFLIX.COM", "IMTIAZ SUPER MARKET", "Amazon.com",
                 "SHELL PAKISTAN"],
    "biller": ["K-Electric", "LESCO", "SNGPL", "PTCL", "IESCO", "1Bill", "Nayatel"],
    "city": ["KARACHI", "LAHORE", "ISLAMABAD", "MULTAN"],
    "app": ["WhatsApp", "Telegram", "Careem", "Daraz", "foodpanda", "Google", "Facebook", "Bykea", "inDrive",
            "Microsoft", "Instagram"],
    "otp3": ["482-913", "551-204", "903-117"],
    "hash": ["kQ3x9pL2mZw", "Ab7rT1yU0cs", "zP4nWq8vRt2"],
    "brand": ["Apex", "Falcon", "Royal", "Golden"],
    "uan": ["111-000-123", "021-111-000-456", "111000789", "042-111-000-321"],
    # notices in other countries' styles (placeholder numbers), and a bank's own pages and app
    "fbank": ["SBI", "HDFC Bank", "ICICI Bank", "Axis Bank", "Kotak", "Emirates NBD", "Standard Chartered",
              "Dutch-Bangla Bank", "Barclays", "Bank Alfalah"],
    "fcur": ["Rs.", "INR", "AED", "BDT", "Tk", "USD", "PKR", "GBP"],
    "famount": ["1,250.00", "500.00", "12,480.50", "75.00", "3,000.00", "249.99", "18,000"],
    "facct": ["A/c XX1234", "a/c no. XXXXXX5521", "A/C **0789", "Acct XXXX4410", "account ending 9032",
              "A/c No. XXXXXXXX2468"],
    "vpa": ["alikhan@okaxis", "98000001234@ybl", "sana.shop@upi", "kiranastore@paytm", "merchant.pay@icici"],
    "ref": ["412300005678", "UTR000912345", "FT26071XK9Q2", "50012344"],
    "tollfree": ["1800-000-1234", "1800 000 5678", "600 54 0000", "16234", "0800 000 111"],
    "fsite": ["www.hdfcbank.com", "sbi.co.in", "https://www.icicibank.com/help", "axisbank.com/support",
              "www.emiratesnbd.com", "https://www.sc.com/pk", "www.bankalfalah.com"],
    "fdomain": ["hdfcbank.com", "onlinesbi.sbi", "kotak.com", "barclays.co.uk"],
    "fapp": ["https://play.google.com/store/apps/details?id=com.bank.mobile", "apps.apple.com/app/id000123",
             "onelink.to/bankapp"],
    "bankapp": ["https://play.google.com/store/apps/details?id=com.hbl.android", "bit.ly/MeezanApp",
                "onelink.to/ublapp", "apps.apple.com/pk/app/alfa/id000456"],
    "walletapp": ["https://www.jazzcash.com.pk/app", "bit.ly/EasypaisaApp", "onelink.to/sadapay",
                  "https://nayapay.com/download"],
}
SLOT = re.compile(r"\{(\w+)\}")
COPIES = 3


def main() -> None:
    rng = random.Random(24)
    here = Path(__file__).resolve().parent
    writer = csv.DictWriter(sys.stdout, fieldnames=["text", "label", "lang", "source", "group"], lineterminator="\n")
    writer.writeheader()
    for number, line in enumerate((here / "written_templates.txt").read_text(encoding="utf-8").splitlines()):
        if not line.strip() or line.startswith("#"):
            continue
        label, lang, family, template = line.split("|", 3)
        seen = set()
        for _ in range(COPIES):
            text = SLOT.sub(lambda m: rng.choice(SLOTS[m.group(1)]), template)
            if text not in seen:
                seen.add(text)
                writer.writerow({"text": text, "label": label, "lang": lang, "source": f"written:{family}",
                                 "group": f"w{number}"})


if __name__ == "__main__":
    main()
