"""The scam checker: the bar on the shared real messages and our own labelled set, every flag
in every language, disguised spellings, the registry's own numbers, marketing, real one-time
code messages, the rules as data, and `scam-check` end to end.

`python -m tests.test_scam` prints the figures by kind (scam, ordinary, marketing) on every
labelled set, with the messages behind each miss."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import astuple, replace
from pathlib import Path

import pytest

from bot.content.load import ContentError
from bot.understanding.normalise import LANGS
from bot.understanding.scam import RULES_FILE, ScamRules, ScamVerdict

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(__file__).resolve().parents[2] / "shared" / "eval"
DEV = SHARED / "scam_dev.csv"
REAL_DEV = SHARED / "scam_real_dev.csv"  # real messages from public sources (text,label,lang,source)
OWN = Path(__file__).resolve().parent / "data" / "scam_set.csv"  # ours: text,label,kind,lang
RULES = ScamRules.load()  # the rules and the model, as the bot checks
FLAGS = replace(RULES, model=None)  # the rules alone: what each flag finds, their weights deciding
URDU = re.compile(r"[\u0600-\u06ff]")
LATIN = re.compile(r"[a-zA-Z]")
MOBILE = re.compile(r"(?<!\d)(?:\+?92|0)3\d{2}[\s-]?(\d{7})(?!\d)")
REGISTRY_NUMBERS = {"3008000"}  # Jazz's WhatsApp (intents/facts.yaml), the one real number in our set
# The bar of issue 13: scams flagged and called likely_scam; legitimate kinds called likely_scam.
BAR = {"scam": (0.95, 0.85), "ordinary": 0.03, "marketing": 0.05}


def kind(row: dict) -> str:
    """Our set says its kind; the shared sets only say scam or legit, which counts as ordinary."""
    return row.get("kind") or ("scam" if row["label"] == "scam" else "ordinary")


def figures(rules: ScamRules, path: Path) -> dict[str, dict]:
    """By kind: how many messages, the share flagged at all and the share called likely_scam,
    with the scams not called likely_scam and the legitimate ones that were."""
    result: dict[str, dict] = {}
    for row in csv.DictReader(path.open(encoding="utf-8")):
        verdict = rules.check(row["text"]).verdict
        k = result.setdefault(kind(row), {"n": 0, "flagged": 0, "likely_scam": 0, "wrong": []})
        k["n"] += 1
        k["flagged"] += verdict != "no_red_flags"
        k["likely_scam"] += verdict == "likely_scam"
        if (row["label"] == "scam") != (verdict == "likely_scam"):
            k["wrong"].append(f"{verdict}: {row['text']}")
    return result


def assert_bar(path: Path) -> None:
    result = figures(RULES, path)
    scams = result["scam"]
    assert scams["flagged"] / scams["n"] >= BAR["scam"][0], scams["wrong"]
    assert scams["likely_scam"] / scams["n"] >= BAR["scam"][1], scams["wrong"]
    for name in ("ordinary", "marketing"):
        if name in result:
            assert result[name]["likely_scam"] / result[name]["n"] <= BAR[name], result[name]["wrong"]


@pytest.mark.skipif(not DEV.exists(), reason="../shared/eval/scam_dev.csv is not beside the project")
def test_shared_dev_set_bar():
    assert_bar(DEV)


@pytest.mark.skipif(not REAL_DEV.exists(), reason="../shared/eval/scam_real_dev.csv is not beside the project")
def test_real_messages_bar():
    assert_bar(REAL_DEV)


def test_own_set_bar():
    assert_bar(OWN)


def test_own_set_covers_kinds_and_languages_with_placeholder_numbers(matcher):
    rows = list(csv.DictReader(OWN.open(encoding="utf-8")))
    assert len(rows) >= 300 and sum(r["label"] == "legit" for r in rows) >= 100
    assert {r["kind"] for r in rows} == {"scam", "ordinary", "marketing"}
    assert all((r["label"] == "scam") == (r["kind"] == "scam") for r in rows)
    for name in ("scam", "ordinary", "marketing"):
        langs = [r["lang"] for r in rows if r["kind"] == name]
        for lang in LANGS:
            assert langs.count(lang) >= 10, (name, lang)
    for row in rows:
        assert row["lang"] == matcher.normaliser.detect_language(row["text"]), row["text"]
        for subscriber in MOBILE.findall(row["text"]):  # nobody's real number: 03xx-000xxxx
            assert subscriber.startswith("000") or subscriber in REGISTRY_NUMBERS, row["text"]


@pytest.mark.parametrize("text", [
    "Your OTP is 482913. Do not share it with anyone.",
    "Your WhatsApp code: 381-204. Don't share this code with others.",
    "482913 is your JazzCash verification code. Never share your OTP or MPIN with anyone.",
    "HBL will never ask for your PIN, OTP or password. If anyone calls asking for it, hang up.",
    "Aap ka Easypaisa OTP 629104 hai. Yeh code kisi ko na batayein.",
    "Apna PIN kabhi kisi ke sath share na karein, bank kabhi bhi PIN nahi mangta.",
    "آپ کا او ٹی پی ۴۸۲۹۱۳ ہے۔ یہ کوڈ کسی کو نہ بتائیں۔",
    "کوئی بینک کبھی بھی آپ کا پن یا پاس ورڈ نہیں مانگتا۔",
])
def test_real_code_messages_and_bank_warnings_are_not_scams(text):
    assert FLAGS.check(text) == ScamVerdict("no_red_flags", (), 0.0)
    assert astuple(RULES.check(text))[:2] == ("no_red_flags", ())


@pytest.mark.parametrize("text", [
    "jo code aya hai wo bata dein, kisi ko mat batana",
    "Share the code we sent you with our agent, and do not tell your family about this call.",
    "آپ کو جو کوڈ ملا ہے وہ ہمیں بتائیں اور کسی کو مت بتانا",
])
def test_a_request_for_the_code_is_a_scam_even_beside_secrecy(text):
    verdict = RULES.check(text)
    assert verdict.verdict == "likely_scam"
    assert verdict.flags[0] == "asks_for_code" and "secrecy" in verdict.flags


@pytest.mark.parametrize("flag_id", [f.id for f in RULES.flags])
def test_each_flag_finds_its_examples_and_explains_itself_in_every_language(flag_id):
    flag = RULES.flag(flag_id)
    for lang in LANGS:
        assert flag.examples.get(lang), f"{flag_id}: no example in '{lang}' in {RULES_FILE}"
        for example in flag.examples[lang]:
            assert flag.find(RULES.prepare(example)), (lang, example)
        explanation = RULES.explain(flag_id, lang)
        assert len(explanation) > 20
    urdu = RULES.explain(flag_id, "ur")
    assert len(URDU.findall(urdu)) > 4 * len(LATIN.findall(urdu)), "Urdu explanations are in Urdu script"


def test_the_flags_the_issue_asks_for_are_there():
    ids = {f.id for f in RULES.flags}
    assert {
        "asks_for_code", "threat_block_urgent", "prize_or_lottery", "scheme_money_from_mobile",
        "fee_to_receive", "link", "short_link", "lookalike_domain", "screen_sharing_app", "install_app",
        "secrecy", "relative_in_trouble", "task_job_deposit",
    } <= ids


def test_flags_come_strongest_first_and_have_explanations():
    verdict = RULES.check("Share the OTP you received, then open bit.ly/x9 to finish. Don't tell anyone.")
    # by weight (3, 2, then 1 and 1), ties in the order they appear: the reply shows the first two
    assert verdict.flags == ("asks_for_code", "secrecy", "link", "short_link")
    assert verdict.verdict == "likely_scam"
    assert len(RULES.explanations(verdict, "roman_ur")) == 4
    assert RULES.describe(verdict, "ur") == RULES.describe("likely_scam", "ur")


def test_a_prize_counts_more_from_an_ordinary_mobile_number():
    plain = RULES.check("Mubarak ho! Aap ka number lucky draw mein nikla hai.")
    mobile = RULES.check("Mubarak ho! Aap ka number lucky draw mein nikla hai. Rabta: ۰۳۰۱-۲۳۴۵۶۷۸")
    assert plain.verdict == "suspicious" and mobile.verdict == "likely_scam"
    assert mobile.score > plain.score


def test_government_scheme_money_is_a_red_flag_only_with_a_mobile_number():
    real = "BISP: aap ki qist jari ho gayi hai, qareebi campsite se wasool karein. Sirf 8171 se aane wale message par yaqeen karein."
    assert RULES.check(real).verdict == "no_red_flags"
    fake = "BISP 8171: aap ki 10,500 ki qist jari ho gayi hai, wasooli ke liye 0342-1122334 par call karein."
    assert "scheme_money_from_mobile" in RULES.check(fake).flags


@pytest.mark.parametrize(("text", "flags"), [
    ("Track your parcel at https://www.tcsexpress.com/track/7712", ()),
    ("Details: bisp.gov.pk", ()),
    ("Verify at bisp.gov.pk.verify-now.xyz", ("link", "lookalike_domain", "act_on_link")),
    ("Unlock your card: http://meezan-card-unlock.xyz", ("link", "act_on_link", "lookalike_domain")),
    ("Claim: jazzcash-verify.com", ("link", "lookalike_domain", "act_on_link")),
    ("Notes here: https://drive.example.com/abc", ("link",)),
])
def test_links_official_shortened_and_lookalike(text, flags):
    assert set(FLAGS.check(text).flags) == set(flags)


def test_everyday_messages_have_no_red_flags():
    for text in ["Ammi main ghar pohanch gaya hun", "کل ملتے ہیں، چائے پر", "See you at 5, bring the notes",
                 "Wifi ka password bhej do yaar", "bhai mera naya number hai, save kar lo"]:
        assert RULES.check(text).verdict == "no_red_flags", text



def test_long_and_odd_text_is_checked_quickly():
    """No pattern may backtrack without end on punctuation runs or very long pastes."""
    for text in ["a-" * 3000 + "!", "کوڈ -.-./@ " * 500, "jazz-" * 1000 + "x", "0300" * 1500, "code " * 2000]:
        start = time.perf_counter()
        RULES.check(text)
        assert time.perf_counter() - start < 1.0, text[:40]


@pytest.fixture
def rules_dir(tmp_path) -> Path:
    directory = tmp_path / "intents"
    directory.mkdir()
    shutil.copy(ROOT / "intents" / RULES_FILE, directory / RULES_FILE)
    return directory


def test_thresholds_and_new_flags_are_data(rules_dir):
    path = rules_dir / RULES_FILE
    text = path.read_text(encoding="utf-8")
    text = text.replace("  likely_scam:\n    min_score: 3\n", "  likely_scam:\n    min_score: 30\n", 1)
    text += """
  - id: crypto_doubling
    weight: 3
    patterns:
      en: [double your bitcoin, 're:\\bcrypto\\W+(?:\\w+\\W+)?profit\\b']
      roman_ur: [bitcoin double]
      ur: [بٹ کوائن ڈبل]
    explain: {en: Nobody doubles your money., roman_ur: Koi paise double nahi karta., ur: کوئی پیسے دگنے نہیں کرتا۔}
"""
    path.write_text(text, encoding="utf-8")
    rules = ScamRules.load(rules_dir)
    assert rules.check("Share the OTP you received").verdict == "suspicious"
    verdict = rules.check("Double your Bitcoin in a week!")
    assert verdict.flags[0] == "crypto_doubling" and rules.model is None  # no model beside these rules
    assert rules.check("aap ka bitcoin double ho jayega").flags == ("crypto_doubling",)
    assert rules.explain("crypto_doubling", "ur") == "کوئی پیسے دگنے نہیں کرتا۔"


def test_a_broken_rules_file_reports_each_problem(rules_dir):
    path = rules_dir / RULES_FILE
    text = path.read_text(encoding="utf-8")
    text += """
  - id: half_done
    weight: 2
    patterns:
      en: ['re:(unclosed']
    unles: [typo]
    explain: {en: Only English.}
"""
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as error:
        ScamRules.load(rules_dir)
    problems = "\n".join(error.value.problems)
    assert "flag 'half_done': bad regular expression" in problems
    assert "flag 'half_done': unknown key(s) unles" in problems
    assert "flag 'half_done': no explanation in 'ur'" in problems


def test_the_intent_loader_does_not_take_the_rules_for_an_intent(content):
    assert "scam_rules" not in content.intents


def run(args, stdin=""):
    environment = {**os.environ}
    environment.pop("BOT_INTENTS", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], input=stdin, capture_output=True, text=True,
        cwd=ROOT, env=environment, timeout=120,
    )


def test_cli_scam_check_json_one_line_per_stdin_message():
    stdin = (
        "Your OTP is 482913. Do not share it with anyone.\n"
        "Aap ka JazzCash account aaj band ho jayega, jo code aya hai wo bata dein\n"
        "\n"
        "کل ملتے ہیں\n"
    )
    result = run(["scam-check", "--json"], stdin)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(0 <= row.pop("probability") <= 1 for row in rows)  # the model's, beside the rules' score
    assert rows == [
        {"verdict": "no_red_flags", "score": 0.0, "flags": []},
        {"verdict": "likely_scam", "score": 6.0, "flags": ["threat_block_urgent", "asks_for_code"]},
        {"verdict": "no_red_flags", "score": 0.0, "flags": []},
    ]


def test_cli_scam_check_text_argument():
    text = "Meezan Bank: your card is locked. Unlock now: http://meezan-card-unlock.xyz"
    result = run(["scam-check", text])
    assert result.returncode == 0, result.stderr
    # strongest first: 3 (2 and the boost for "now"), 3, 2, 1
    assert result.stdout == "likely_scam\tthreat_block_urgent,lookalike_domain,act_on_link,link\n"
    assert json.loads(run(["scam-check", "--json", "hello"]).stdout) == {
        "verdict": "no_red_flags", "score": 0.0, "flags": []}  # a word: too little for the model


def test_cli_scam_check_explain_shows_how_each_flag_fired():
    result = run(["scam-check", "--explain", "Apka Jazz 0ffer: Rs 5000 inaam, WhatsApp 0300-0001234 pe rbta kren"])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("likely_scam  score ")
    assert "read as: apka jazz offer: rs 5000 inaam, whatsapp 0300-0001234 pe rabta kren" in lines[1]
    assert any(line.strip().startswith("+2 personal_contact: matched") for line in lines)
    assert any(line.strip().startswith("requires") for line in lines)


if __name__ == "__main__":
    for path in (REAL_DEV, DEV, OWN):
        if path.exists():
            print(path.name)
            for name, k in sorted(figures(RULES, path).items()):
                print(f"  {name}: {k['n']} messages, flagged {k['flagged'] / k['n']:.1%}, "
                      f"likely_scam {k['likely_scam'] / k['n']:.1%}")
                for line in k["wrong"]:
                    print(f"    {line}")


@pytest.mark.parametrize(("disguised", "plain"), [
    ("Welc0me B.I.S.P 0ffce", "welcome bisp office"),
    ("(B/I/S/P) Rs.450O0 aur 75,6OO", "(bisp) rs.45000 aur 75,600"),
    ("Ehsaas.program.ki.taraf se Gfts mubarik ho", "ehsaas program ki taraf se gift mubarak ho"),
    ("Whatsap 0300-0001234 pr rbta kre, Contct", "whatsapp 0300-0001234 pr rabta kre, contact"),
    ("рrizе", "prize mixedscript"),  # Cyrillic р and е, and the mark of a word in two alphabets
    ("بی.آئی.ایس.پی", "بی ایی ایس پی"),  # the normaliser drops hamza marks (آئی is ایی)
    ("visit jazz-0ffer.xyz/b.i.s.p", "visit jazz-0ffer.xyz/b.i.s.p"),  # web addresses kept as written
    ("madad chahiye", "madad chahiye"),  # not "imdad": a listed word with the same consonants
])
def test_disguised_spellings_are_folded_before_the_rules_read_them(disguised, plain):
    assert RULES.prepare(disguised) == plain


@pytest.mark.parametrize("text", [
    "Jazz WhatsApp self-service: message us on 0300-3008000 for bills and packages",
    "Jazz ki WhatsApp service +92 300 3008000 par rabta karein",
    "Send REG to 3627 to stop promotional SMS",
    "REG likh kar 3627 par bhejein",
    "PTA: apne CNIC par SIMs janne ke liye CNIC number 668 par SMS karein",
    "پی ٹی اے: اپنے شناختی کارڈ پر جاری سمز جاننے کے لیے شناختی کارڈ نمبر 668 پر ایس ایم ایس کریں",
    "BISP helpline 0800-26477 par call karein",
])
def test_the_registrys_own_numbers_and_codes_get_no_red_flag(text):
    assert FLAGS.check(text) == ScamVerdict("no_red_flags", (), 0.0)
    assert astuple(RULES.check(text))[:2] == ("no_red_flags", ())


def test_a_private_number_beside_the_registrys_is_still_one():
    assert "personal_contact" in RULES.check("Jazz helpline: call 0300-0001234 now").flags


@pytest.mark.parametrize("text", [
    "Jazz Lucky Draw: recharge Rs 500 and win a Honda CD 70. Dial *786# for details",
    "Ufone: Congratulations! You are eligible for a special offer: 10GB for Rs 150. Dial *3*21# to avail",
    "Mubarak ho! Aap Jazz Daily Offer ke liye eligible hain. Sirf Rs 20 mein 1GB, *117*1# dial karein",
])
def test_marketing_is_at_most_suspicious(text):
    assert RULES.check(text).verdict != "likely_scam"


def test_marketing_with_a_real_red_flag_is_still_a_scam():
    verdict = RULES.check("Jazz offer: aap ka 50GB mubarak ho, *123# dial karein aur jo code aaye wo humein bata dein")
    assert verdict.verdict == "likely_scam" and "asks_for_code" in verdict.flags


def test_a_bank_alert_with_a_short_link_to_its_app_is_not_likely_a_scam():
    text = "Meezan Bank: Rs 25,000 transferred to your account from ALI RAZA via Raast. Download the Meezan app: bit.ly/meezanapp"
    assert RULES.check(text).verdict != "likely_scam"


@pytest.mark.parametrize(("text", "trick", "not_trick"), [
    ("Part time job: earn Rs 3,000 daily by liking videos. Pay Rs 1,000 joining fee to start",
     "task_job_deposit", "prize_or_lottery"),
    ("Hello, sorry, I sent you a 6-digit code by mistake, can you pass it to me please? It's urgent",
     "asks_for_code", "money_sent_by_mistake"),
    ("The package cannot be delivered due to incorrect address. Update your address or it will be returned.",
     "fake_delivery", "prize_or_lottery"),
    ("FIA cyber crime ki taraf se aap ke khilaf case darj ho gaya hai, jurmana 20000 foran jama karwayein",
     "legal_threat", "prize_or_lottery"),
])
def test_the_explanation_names_the_trick_found(text, trick, not_trick):
    verdict = RULES.check(text)
    assert verdict.verdict == "likely_scam"
    assert trick in verdict.flags and not_trick not in verdict.flags
