from blastpay.live.redaction import REDACTED, redact, redact_text


def test_keys_webhook_secrets_and_emails_are_removed_from_text():
    text = "key sk_live_abc123XYZ and rk_test_Zz9 secret whsec_q1w2e3 mail jo.parent+x@club-mail.org ok"
    out = redact_text(text)
    for gone in ("sk_live_abc123XYZ", "rk_test_Zz9", "whsec_q1w2e3", "jo.parent+x@club-mail.org"):
        assert gone not in out
    assert out.startswith("key [redacted] and") and out.endswith(" ok")


def test_the_run_key_is_removed_wherever_it_appears():
    assert redact({"a": ["prefix-opaqueKEY-suffix"]}, secrets=("opaqueKEY",)) == {"a": [f"prefix-{REDACTED}-suffix"]}


def test_personal_fields_are_blanked_but_shape_ids_and_metadata_stay():
    session = {
        "id": "cs_test_123",
        "client_secret": "cs_test_123_secret_abc",
        "customer_email": "parent@example.org",
        "customer_details": {"name": "Jo Parent", "email": "parent@example.org", "address": None, "tax_exempt": "none"},
        "metadata": {"order_id": "order_123"},
        "url": None,
        "status": "open",
        "livemode": False,
    }
    out = redact(session)
    assert out["id"] == "cs_test_123"
    assert out["client_secret"] == REDACTED
    assert out["customer_email"] == REDACTED
    assert out["customer_details"] == {"name": REDACTED, "email": REDACTED, "address": None, "tax_exempt": REDACTED}
    assert out["metadata"] == {"order_id": "order_123"}
    assert out["url"] is None and out["status"] == "open" and out["livemode"] is False


def test_flat_form_parameters_are_redacted_by_their_field_name():
    params = {"customer_email": "a@b.co", "customer_details[name]": "Jo", "metadata[order_id]": "order_1"}
    assert redact(params) == {"customer_email": REDACTED, "customer_details[name]": REDACTED,
                              "metadata[order_id]": "order_1"}


def test_hosted_checkout_url_keeps_its_path_but_loses_the_fragment():
    url = "https://checkout.stripe.com/c/pay/cs_test_a1#fidkdWxOYHwnPyd1blpxYHZxWjA0"
    assert redact_text(url) == f"https://checkout.stripe.com/c/pay/cs_test_a1#{REDACTED}"
