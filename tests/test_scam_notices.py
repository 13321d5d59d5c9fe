"""Genuine notices are not scams (issue 24): wallet receipts that name the account as a mobile
number, codes sent with the sender's own link, paid e-challans, a card's own helpline, a rider's
number; and the scams dressed as those notices are still caught. Our own examples, with
placeholder numbers (03xx-000xxxx)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.understanding.scam import ACCOUNT_NUMBER, OFFICIAL_LINK, UAN, ScamRules

RULES = ScamRules.load()  # the rules and the model, as the bot checks
FLAGS = replace(RULES, model=None)  # the rules alone

RECEIPTS = [
    "You have received Rs 2,000.00 from SANA KHAN in your Easypaisa Account No. 03450001234. Trx ID 55120034.",
    "Rs. 750.00 sent to IMRAN ALI with easypaisa account 923000001122. Fee: Rs. 0.00. Trx ID 4410239.",
    "You have sent Rs 1,200 to HIRA NOOR in JC-03120007788. Fee deducted Rs 0.00.",
    "Mobile load of Rs 300 for 0300-0005566 is successful. Trx ID 88123.",
    "Your Easypaisa OTP for 03450001234 is 551204",
    "Aap ko ALI se Rs 500 aap ke JazzCash account 03450001234 mein mil gaye hain. Trx ID 1234",
    "آپ کے اکاؤنٹ نمبر 03450001234 میں 500 روپے موصول ہوئے ہیں",
]


@pytest.mark.parametrize("text", RECEIPTS)
def test_a_wallet_account_number_in_a_receipt_is_not_a_number_to_call(text):
    assert ACCOUNT_NUMBER in RULES.prepare(text)
    assert "personal_contact" not in FLAGS.check(text).flags
    assert RULES.check(text).verdict != "likely_scam"


@pytest.mark.parametrize("text", [
    "Send Rs 5,000 to my Easypaisa account 0300-0001234 now, I am in hospital",
    "Ammi mere easypaisa account 0300-0001234 mein 5000 bhej dein, mera accident ho gaya",
    "You have received Rs 25,000 in your JazzCash account. To withdraw it call our agent 0345-0009876",
    "HBL will never ask for your PIN. For help contact our helpline 0312-0004455",
])
def test_a_number_to_send_money_to_or_to_call_stays_a_contact(text):
    assert "personal_contact" in FLAGS.check(text).flags
    assert RULES.check(text).verdict == "likely_scam"


@pytest.mark.parametrize("text", [
    "MCB will never ask for your PIN, OTP or password by call, SMS or WhatsApp. Beware of fraudsters",
    "For card queries Call/WhatsApp our helpline 021-111-000-111",
    "TCS: your shipment will be delivered today, please keep Rs 1,500 ready. Rider: 0300-0001234",
    "Your Jazz number 0300-0005566 has been recharged with Rs 500. Thank you",
    "UBL: naye device par login ke liye aap ka OTP 7731 hai. Agar ye aap nahi hain to card ke peeche diye number par call karein",
    "آپ کے کارڈ سے 1,500 روپے کی خریداری ہوئی۔ اگر یہ آپ نے نہیں کی تو کارڈ کے پیچھے دیے گئے نمبر پر کال کریں",
])
def test_a_banks_own_helpline_a_warning_or_a_riders_number_is_no_contact_red_flag(text):
    found = FLAGS.check(text).flags
    assert "personal_contact" not in found and "asks_for_code" not in found


def test_the_back_of_the_card_is_not_read_as_block():
    prepared = RULES.prepare("If not you, call the number on the back of your card. Your card is b1ocked")
    assert "back of your card" in prepared and prepared.endswith("blocked")


def test_the_senders_own_link_is_an_official_one_but_not_a_look_alike():
    own = "You asked to reset your Careem password: follow www.careem.com/reset/x81 to set a new one"
    assert OFFICIAL_LINK in RULES.prepare(own) and "link" not in FLAGS.check(own).flags
    for fake in ["Easypaisa: verify your account at easypaisa.com/kyc today",
                 "Careem: your account is blocked, verify at careem-help.com now"]:
        assert OFFICIAL_LINK not in RULES.prepare(fake) and "link" in FLAGS.check(fake).flags


def test_a_code_with_the_senders_own_verify_link_is_no_request_to_act_on_a_link():
    genuine = "Your WhatsApp code: 551-204. You can also tap this link to verify your phone: v.whatsapp.com/551204"
    assert OFFICIAL_LINK in RULES.prepare(genuine)
    assert not {"act_on_link", "link"} & set(FLAGS.check(genuine).flags)
    fake = "Your account is blocked, tap this link to verify: v.whatsapp.com/1 or https://wa-verify.top/x"
    assert "act_on_link" in FLAGS.check(fake).flags and RULES.check(fake).verdict == "likely_scam"


def test_a_code_to_confirm_your_own_number_is_not_a_request_for_it():
    assert "asks_for_code" not in FLAGS.check("Telegram: 482913 is your code to confirm your phone number").flags
    assert "asks_for_code" in FLAGS.check("Code jo aya hai wo confirm karne ke liye bata dein").flags


@pytest.mark.parametrize(("text", "fine"), [
    ("Your e-challan of Rs 1,500 for vehicle LEA-1234 has been paid successfully. Receipt: https://echallan.example.org/r/1", False),
    ("Aap ki gari LEA-1234 ka e-challan Rs 1500 ada ho gaya hai, receipt ke liye link dekhein", False),
    ("Your e-challan for vehicle LEA-1234 is unpaid. Pay Rs 1,500 now at https://echallan-pk.top", True),
    ("Safe City: your e-challan was paid only partly. Pay the rest today at https://psca-pay.top", True),
])
def test_a_paid_e_challan_is_a_receipt_not_a_fine_to_pay_by_link(text, fine):
    assert ("traffic_fine" in FLAGS.check(text).flags) is fine


def test_a_red_flag_that_is_a_scam_on_its_own_outweighs_a_model_that_sees_nothing():
    # the model made blind (a bias that no text outweighs): the code request still decides
    blind = replace(RULES, model=replace(RULES.model, bias=-60.0))
    text = "Dear customer, please tell us the OTP you received to stop the transaction on your account"
    assert "asks_for_code" in blind.check(text).flags
    assert blind.check(text).verdict == "likely_scam"
    assert blind.check("Dear customer, your statement for June is ready in the app").verdict == "no_red_flags"


@pytest.mark.parametrize("text", [
    "Trx ID 88123. You have received Rs 25,000 from BISP in your JazzCash Account No. 03450001234. To withdraw it, tell the code to our agent on 0300-0001234",
    "MCB: Rs 40,000 debited from your A/C **1234. If not done by you, click http://mcb-cancel.top to cancel it",
    "Dear Customer, PKR 35,000 charged on your card ending 4410. Not you? Call our helpline 0312-0004455 immediately",
    "Aap ke card se Rs 20,000 nikale gaye hain. Agar aap ne nahi nikale to foran 0333-0007788 par call karein",
])
def test_scams_dressed_as_notices_are_still_called_scams(text):
    assert RULES.check(text).verdict == "likely_scam"


def test_a_shop_named_by_its_web_address_in_a_card_alert_is_not_a_link():
    alert = "Dear Customer, PKR 2,000 charged at NETFLIX.COM on your card ending 0789 on 28 Feb"
    assert "netflix com" in RULES.prepare(alert) and "link" not in FLAGS.check(alert).flags
    for fake in ["Your transaction at amazon-refund.top was flagged, click here to cancel it",
                 "Purchase of PKR 50,000 at daraz.pk.verify-now.xyz. Not you? Cancel at the link"]:
        assert "link" in FLAGS.check(fake).flags


def test_a_companys_uan_is_read_as_its_helpline_and_is_no_contact_red_flag():
    text = "Dear Customer, your login to HBL mobile banking failed. For details Call/WhatsApp 021-111-000-456"
    assert UAN in RULES.prepare(text) and "personal_contact" not in FLAGS.check(text).flags
    assert UAN not in RULES.prepare("Call me at 0300-1112223")
    fake = "HBL: your login failed. For details call 021-111-000-456 or WhatsApp our officer 0300-0001234"
    assert "personal_contact" in FLAGS.check(fake).flags


def test_a_plan_named_black_is_not_read_as_block():
    text = "Switch to Falcon Black postpaid: 100GB and free streaming for Rs 999/month. Details falcon.example/black"
    assert " black " in RULES.prepare(text) and "block" not in RULES.prepare(text)
    assert "threat_block_urgent" not in FLAGS.check(text).flags
    assert "threat_block_urgent" in FLAGS.check("Your account will be b1ocked today, call 0300-0001234").flags


@pytest.mark.parametrize("text", [
    "PKR 4,500 spent on card **1234 at DARAZ PK on 02-05. If not done by you, SMS BLOCK 1234 to 8000 to block your card",
    "Rs.700 debited from A/c XX0789 thru card XX0789. If not done, fwd this SMS to 9200000000 to block card. -Bank",
    "Your monthly payment of INR 199 to a streaming service will be charged to Debit Card XX4410. To cancel, visit the bank's mandate page",
])
def test_a_banks_own_way_to_stop_a_payment_is_no_threat(text):
    assert "threat_block_urgent" not in FLAGS.check(text).flags
    assert RULES.check(text).verdict != "likely_scam"


@pytest.mark.parametrize("text", [
    "Your card has been blocked due to a suspicious payment. To unblock it call 0300-0001234 now",
    "Dear customer, your account will be blocked in 2 hours. Update your KYC at http://kyc-update.icu",
])
def test_a_threat_to_block_is_still_a_threat(text):
    assert "threat_block_urgent" in FLAGS.check(text).flags
    assert RULES.check(text).verdict == "likely_scam"


def test_a_fee_waived_is_not_a_fee_asked_for():
    offer = "Send money home with ZERO fee from our app this Eid. Receive in minutes in any bank account. remit.example/eid"
    assert "fee_to_receive" not in FLAGS.check(offer).flags
    trick = "No fee to apply! Just pay Rs 500 registration fee to receive your prize"
    assert "fee_to_receive" in FLAGS.check(trick).flags


@pytest.mark.parametrize("text", [
    "Instant loan up to Rs 80,000 with ZERO processing fee. Receive it in your wallet in minutes",
    "Personal loan with no processing charges, amount disbursed the same day",
    "Send money home from Dubai: 0% markup and no hidden charges, transfer received in minutes",
    "Get a credit card with no annual fee and withdraw cash at any ATM, transfer to any bank",
    "Remit to Pakistan: all charges are shown before you confirm the transfer. Receive in minutes",
])
def test_a_fee_waived_a_word_or_two_away_is_not_a_fee_asked_for(text):
    assert "fee_to_receive" not in FLAGS.check(text).flags


@pytest.mark.parametrize("text", [
    "Loan approved! No fee to apply, just pay Rs 500 registration fee to receive Rs 50,000",
    "Your loan is ready. Pay a small processing fee of Rs 300 to release your loan today",
    "No hidden charges! Only deposit Rs 1,000 security fee to unlock your prize of Rs 2 lakh",
])
def test_a_fee_asked_for_beside_a_waiver_is_still_one(text):
    assert "fee_to_receive" in FLAGS.check(text).flags


@pytest.mark.parametrize("text", [
    "Your account will be closed today. Type the code sent to you on this page: http://pay-confirm.top/x",
    "Verify by entering your PIN at www.acc-check.online before midnight",
    "Refund of Rs 4,200 is ready: open refund-desk.site and key in the OTP on your phone",
    "Naya OTP is page par type krein: https://sim-renew.top/k",
    "https://sim-renew.top par apna PIN darj karein warna sim band ho jayegi",
])
def test_a_code_to_type_on_a_page_that_is_not_official_is_a_request_for_it(text):
    assert "asks_for_code" in FLAGS.check(text).flags


@pytest.mark.parametrize("text", [
    "Enter OTP 551204 to complete your payment of Rs 2,000 in the HBL app",
    "Enter OTP 551204 to complete your payment of Rs 2,000 on hbl.com",
    "Your Daraz code is 4411. Enter it on daraz.pk to confirm your order",
    "Enter your Careem code 5521 in the app or at careem.com to log in",
    "Enter promo code EID50 at checkout on shop-example.com",
])
def test_a_code_to_type_in_the_senders_own_app_or_site_is_no_request_for_it(text):
    assert "asks_for_code" not in FLAGS.check(text).flags
    assert RULES.check(text).verdict != "likely_scam"


@pytest.mark.parametrize("text", [
    "Congratulations! You won a car in the lucky draw. WhatsApp +971 50 123 4567 to claim it",
    "Your loan of Rs 3 lakh is approved, contact our agent on +966 55xxxxxxx today",
    "Your Ehsaas money is ready, call our officer on 00968 9123 4567",
    "Jazz inaam Rs 50,000: +974 5512 3456 par WhatsApp karein",
    "Your bank account is blocked, contact our manager at +965 9988 7766",
])
def test_a_gulf_mobile_to_call_or_whatsapp_is_a_personal_contact(text):
    assert "personal_contact" in FLAGS.check(text).flags


@pytest.mark.parametrize("text", [
    "For card queries call our toll free number +971 800 4444",
    "Dear customer, for help with your account call +971 600 54 0000",
    "Bank helpline: for your account call +971 4 123 4567",
    "Ammi main Dubai pohanch gaya, mera naya number +971 50 123 4567 hai",
])
def test_a_gulf_toll_free_or_landline_or_a_relatives_number_is_no_contact_red_flag(text):
    assert "personal_contact" not in FLAGS.check(text).flags
