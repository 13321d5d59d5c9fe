"""The scam check in the dialogue: asked for, pasted unasked, counted by fingerprint only."""

from __future__ import annotations

from bot.dialogue.messages import Incoming

SCAM = ("Dear customer your JazzCash account will be blocked today. Share the 6 digit code sent to you "
        "with our agent at 03001234567 to keep it active")


def say(bot, text, user="u1"):
    (reply,) = bot.respond(Incoming("test", user, text))
    return reply


def test_asked_then_pasted(bot):
    ask = say(bot, "is this a scam?")
    assert ask.intent == "scam_check" and "Paste or forward" in ask.text
    report = say(bot, SCAM)
    assert report.intent == "scam_check" and report.text.startswith("This message has clear signs of a scam")
    assert "What I found:" in report.text and "one-time code" in report.text


def test_a_pasted_scam_is_checked_unasked_with_a_report_ready_to_copy(bot):
    report = say(bot, SCAM)
    assert report.intent == "scam_check"
    # the scammer's number is what PTA needs: the message is quoted as received
    assert f"send the text below to 9000, with the sender's number in place of SENDER:\nSENDER {SCAM}" in report.text
    assert "NCCIA on 1799" in report.text and "complaint.pta.gov.pk" in report.text


def test_the_report_masks_only_the_persons_own_data(bot):
    scam = ("From: 0345-0001234: BISP 8171: aap ka number 0300-0009876 register hai. Apna CNIC 35202-1234567-1 "
            "aur code 482913 WhatsApp 0311-0005555 par bhejein")
    (reply,) = bot.respond(Incoming("test", "u9", scam, verified_phone="+923000009876"))
    report = ("03450001234 BISP 8171: aap ka number <your number> register hai. Apna CNIC <cnic> "
              "aur code <code> WhatsApp 0311-0005555 par bhejein")
    assert reply.intent == "scam_check" and f"\n{report}\n" in reply.text


def test_the_report_keeps_a_disguised_scam_as_received(bot):
    text = "Welc0me B.I.S.P 0ffce: Rs.450O0 aap ke naam, lene k liye WhatsApp 0319-0001111 pr rbta kren"
    report = say(bot, text, user="u8")
    assert report.text.startswith("Is message mein fraud ki wazeh nishaniyan hain")
    assert f"SENDER {text}" in report.text


def test_answers_in_urdu_and_roman_urdu(bot):
    urdu = say(bot, "مبارک ہو! آپ کا 50 ہزار روپے کا انعام نکلا ہے۔ رجسٹریشن فیس 1500 روپے اس نمبر 03451234567 پر بھیجیں")
    assert urdu.lang == "ur" and urdu.intent == "scam_check" and "فراڈ" in urdu.text
    roman = say(bot, "Mubarak ho! Aap ka 50,000 ka inaam nikla hai. Registration fee 1500 rupay is number 03451234567 par bhejein", user="u2")
    assert roman.lang == "roman_ur" and roman.text.startswith("Is message mein fraud")


def test_a_real_otp_notice_is_not_called_a_scam(bot):
    reply = say(bot, "Your HBL OTP is 482913. Do not share it with anyone.")
    assert reply.intent == "sensitive" and "scam" not in reply.text.lower()


def test_a_forwarded_scam_with_a_cnic_is_checked_and_flagged_for_deletion(bot):
    (reply,) = bot.respond(Incoming("test", "u1", "BISP 8171: aap ki raqam 25000 jari. CNIC 35202-1234567-1 aur code 0300-7654321 par bhejein"))
    assert reply.intent == "scam_check" and reply.meta["sensitive"] == "cnic"


def test_others_who_checked_the_same_message_are_counted(bot):
    say(bot, SCAM, user="a")
    say(bot, SCAM.replace("03001234567", "03219876543"), user="b")  # same scam, other number
    say(bot, SCAM, user="b")  # the same person twice counts once
    third = say(bot, SCAM.replace("6 digit", "4 digit"), user="c")
    assert "2 other people checked this same message this week" in third.text


def test_nothing_of_the_message_is_stored(bot, store, tmp_path):
    say(bot, SCAM)  # delivered: the held reply, which quotes the message, is gone
    store.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    for part in ("03001234567", "JazzCash account", "agent"):
        assert part.encode() not in raw
